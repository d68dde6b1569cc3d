import { test, expect } from "@playwright/test";
import { accounts, createTagSegment, hydrated, login, row, uniqueName } from "./helpers";

test("a dialog keeps its text inside, takes focus, keeps Tab inside and closes on Escape", async ({ page }) => {
  const name = uniqueName("Dialog check with a rather long segment name");
  await login(page, accounts.operator);
  await createTagSegment(page, name, "city_cross_border_ride", ["Shenzhen"]);
  await page.reload();
  await hydrated(page);

  await row(page, name).getByRole("button", { name: "Delete" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete segment" });
  await expect(dialog).toBeVisible();

  // The text wraps inside the box instead of running out of it.
  const box = (await dialog.boundingBox())!;
  const text = (await dialog.locator("p").first().boundingBox())!;
  expect(text.x + text.width).toBeLessThanOrEqual(box.x + box.width);

  // Focus is in the dialog, and Tab and Shift+Tab do not leave it.
  const focusInside = () => dialog.evaluate((element) => element.contains(document.activeElement));
  expect(await focusInside()).toBe(true);
  for (const key of ["Tab", "Tab", "Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab"]) {
    await page.keyboard.press(key);
    expect(await focusInside(), `after ${key}`).toBe(true);
  }

  await page.keyboard.press("Escape");
  await expect(dialog).toHaveCount(0);
  // Nothing was deleted.
  await expect(row(page, name)).toHaveCount(1);
});
