import { test, expect } from "@playwright/test";
import { accounts, hydrated, login, uniqueName } from "./helpers";

test("an admin creates, renames and deletes a group", async ({ page }) => {
  const name = uniqueName("Growth");
  const renamed = uniqueName("Retention");
  await login(page, accounts.admin);
  await page.getByRole("link", { name: "Manage Groups" }).click();
  await expect(page).toHaveURL(/\/segments\/groups$/);

  await page.getByRole("button", { name: "+ Create Group" }).click();
  await page.getByLabel("Group name").fill(`  ${name}  `);
  await page.getByRole("button", { name: "Create", exact: true }).click();
  // The row keeps its data-group while its name cell turns into an input.
  const row = page.locator(`tbody tr[data-group="${name}"]`);
  await expect(row).toHaveCount(1);
  await expect(row.locator(".group-name")).toHaveText(name);

  // A duplicate is refused with a message, keeping what was typed.
  await page.getByRole("button", { name: "+ Create Group" }).click();
  await page.getByLabel("Group name").fill(name.toUpperCase());
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await expect(page.getByRole("alert")).toContainText(`A group named "${name.toUpperCase()}" already exists.`);
  await expect(page.getByLabel("Group name")).toHaveValue(name.toUpperCase());
  await page.getByRole("button", { name: "Cancel" }).click();

  await row.getByRole("button", { name: "Edit" }).click();
  await row.getByRole("textbox", { name: "Group name" }).fill(renamed);
  await row.getByRole("button", { name: "Save" }).click();
  const renamedRow = page.locator("tbody tr", { hasText: renamed });
  await expect(renamedRow).toHaveCount(1);
  await expect(page.locator("tbody tr", { hasText: name })).toHaveCount(0);

  await renamedRow.getByRole("button", { name: "Delete" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete group" });
  await expect(dialog).toContainText(renamed);
  await dialog.getByRole("button", { name: "Delete" }).click();
  await expect(dialog).toHaveCount(0);
  await expect(page.locator("tbody tr", { hasText: renamed })).toHaveCount(0);

  // The deletion is persisted, not just hidden.
  await page.reload();
  await expect(page.getByRole("heading", { name: "Manage Groups" })).toBeVisible();
  await expect(page.getByText(renamed)).toHaveCount(0);
});

test("a merchant does not see the admin's group", async ({ page, browser }) => {
  const name = uniqueName("Platform only");
  await login(page, accounts.admin);
  await page.goto("/segments/groups");
  await hydrated(page);
  await page.getByRole("button", { name: "+ Create Group" }).click();
  await page.getByLabel("Group name").fill(name);
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await expect(page.locator("tbody tr", { hasText: name })).toHaveCount(1);

  const merchantContext = await browser.newContext();
  const merchant = await merchantContext.newPage();
  await login(merchant, accounts.merchant);
  await expect(merchant.getByTestId("current-role")).toHaveText("Merchant");
  await merchant.goto("/segments/groups");
  await hydrated(merchant);
  await expect(merchant.getByRole("heading", { name: "Manage Groups" })).toBeVisible();
  await expect(merchant.getByText(name)).toHaveCount(0);

  const own = uniqueName("Merchant promos");
  await merchant.getByRole("button", { name: "+ Create Group" }).click();
  await merchant.getByLabel("Group name").fill(own);
  await merchant.getByRole("button", { name: "Create", exact: true }).click();
  await expect(merchant.locator("tbody tr", { hasText: own })).toHaveCount(1);
  await merchantContext.close();

  // The platform sees the merchant's group, with its owner.
  await page.reload();
  await expect(page.locator("tbody tr", { hasText: own })).toContainText("merchant:M0001");
});
