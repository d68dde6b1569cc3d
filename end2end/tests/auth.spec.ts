import { test, expect } from "@playwright/test";
import { accounts, hydrated, login } from "./helpers";

test("a wrong password shows an error and stays on the login page", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Username").fill(accounts.operator.username);
  await page.getByLabel("Password").fill("not-the-password");
  const answer = page.waitForResponse((response) => response.url().includes("/api/") && response.request().method() === "POST");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Wrong username or password.");
  await expect(page).toHaveURL(/\/login/);
  // An expected failure is a client error, not a server error.
  const status = (await answer).status();
  expect(status).toBeGreaterThanOrEqual(400);
  expect(status).toBeLessThan(500);
});

test("an anonymous visitor is sent to the login page and back after signing in", async ({ page }) => {
  await page.goto("/segments/groups");
  await expect(page).toHaveURL(/\/login\?next=\/segments\/groups/);
  await hydrated(page);
  await page.getByLabel("Username").fill(accounts.operator.username);
  await page.getByLabel("Password").fill(accounts.operator.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/segments\/groups$/);
  await expect(page.getByRole("heading", { name: "Manage Groups" })).toBeVisible();
});

test("logout ends the session and the back button does not reveal data", async ({ page }) => {
  await login(page, accounts.admin);
  await page.getByRole("link", { name: "Manage Groups" }).click();
  await expect(page.getByRole("heading", { name: "Manage Groups" })).toBeVisible();
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);

  await page.goBack();
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByRole("heading", { name: "Manage Groups" })).toHaveCount(0);

  await page.goto("/segments/groups");
  await expect(page).toHaveURL(/\/login\?next=/);
});
