import { test, expect, Browser, Page } from "@playwright/test";
import { accounts, createTagSegment, hydrated, login, uniqueName } from "./helpers";

/** Creates an operator account on the Users page as the admin; answers its name. */
async function createUser(page: Page, password: string): Promise<string> {
  const username = uniqueName("user").replace(/\s/g, "-");
  await page.goto("/admin/users");
  await hydrated(page);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create user" }).click();
  await expect(page.locator(`tr[data-user="${username}"]`)).toBeVisible();
  return username;
}

async function signIn(browser: Browser, username: string, password: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await login(page, { username, password });
  return page;
}

test("a merchant verifying another merchant's customer sees not found, as for an ID that does not exist", async ({ page }) => {
  await login(page, accounts.merchant);
  const id = await createTagSegment(page, uniqueName("Mine"), "city_cross_border_ride", ["Shenzhen", "Guangzhou"]);
  const origin = new URL(page.url()).origin;
  // Every one of these demo users exists; those the merchant may not target come back unknown.
  const candidates = Array.from({ length: 300 }, (_, i) => `U${String(i + 1).padStart(7, "0")}`);
  let outsider: string | undefined;
  for (let attempt = 0; attempt < 60 && !outsider; attempt++) {
    const response = await page.request.post(`/api/v1/segments/${id}/members/check`, {
      headers: { Origin: origin },
      data: { ids: candidates },
    });
    if (response.status() === 200) {
      outsider = (await response.json()).unknown[0];
    } else {
      await page.waitForTimeout(500);
    }
  }
  expect(outsider, "a demo user outside the merchant's audience").toBeTruthy();

  await page.goto(`/verify?segment=${id}`);
  await hydrated(page);
  await page.getByLabel("IDs").fill(`${outsider}\nnobody-here`);
  await page.getByRole("button", { name: "Verify" }).click();
  const results = page.getByTestId("verify-results");
  for (const entity of [outsider!, "nobody-here"]) {
    const line = results.locator(`tr[data-entity="${entity}"]`);
    await expect(line.locator("[data-verdict]")).toHaveText("Not found");
    await expect(line).toContainText("No such ID among the entities you can target");
    await expect(line).not.toContainText("actual");
  }
});

test("change your password, sign out, and sign in with the new one", async ({ page, browser }) => {
  await login(page, accounts.admin);
  const username = await createUser(page, "first-password-1");

  const user = await signIn(browser, username, "first-password-1");
  await user.getByTestId("current-user").click();
  await expect(user).toHaveURL(/\/account$/);
  await hydrated(user);
  await user.getByLabel("Current password").fill("wrong-password");
  await user.getByLabel("New password (at least 8 characters)").fill("second-password-2");
  await user.getByRole("button", { name: "Change password" }).click();
  await expect(user.locator('[data-field="current_password"]')).toHaveText("The current password is wrong.");
  await user.getByLabel("Current password").fill("first-password-1");
  await user.getByRole("button", { name: "Change password" }).click();
  await expect(user.getByTestId("password-changed")).toBeVisible();
  await user.getByRole("button", { name: "Log out" }).click();
  await expect(user).toHaveURL(/\/login$/);

  await hydrated(user);
  await user.getByLabel("Username").fill(username);
  await user.getByLabel("Password").fill("first-password-1");
  await user.getByRole("button", { name: "Sign in" }).click();
  await expect(user.getByRole("alert")).toHaveText("Wrong username or password.");
  await login(user, { username, password: "second-password-2" });
});

test("an administrator disables a user whose open session then stops working", async ({ page, browser }) => {
  await login(page, accounts.admin);
  const username = await createUser(page, "soon-disabled-1");
  const user = await signIn(browser, username, "soon-disabled-1");
  await expect(user.getByRole("heading", { name: "Segment Targeting" })).toBeVisible();

  const line = page.locator(`tr[data-user="${username}"]`);
  await line.getByRole("button", { name: "Disable" }).click();
  const dialog = page.getByRole("dialog", { name: "Disable user" });
  await expect(dialog).toContainText(username);
  await dialog.getByRole("button", { name: "Disable" }).click();
  await expect(page.getByRole("status")).toContainText(`${username} is disabled`);
  await expect(line).toContainText("Disabled");

  // The open session is over: the next page load asks to sign in, and signing in is refused.
  await user.goto("/segments");
  await expect(user).toHaveURL(/\/login\?next=/);
  await hydrated(user);
  await user.getByLabel("Username").fill(username);
  await user.getByLabel("Password").fill("soon-disabled-1");
  await user.getByRole("button", { name: "Sign in" }).click();
  await expect(user.getByRole("alert")).toContainText("This account is disabled");

  // Enabled again, the user signs in.
  await line.getByRole("button", { name: "Enable" }).click();
  await expect(line).toContainText("Active");
  await login(user, { username, password: "soon-disabled-1" });
});
