import { test, expect, type Page } from "@playwright/test";
import { accounts, createTagSegment, hydrated, login, row, uniqueName } from "./helpers";

test.use({ viewport: { width: 390, height: 844 } });

/** What makes the page scroll sideways as a whole: the outermost elements past its right edge (a wide table may scroll inside its own box). */
async function sidewaysOverflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    if (document.documentElement.scrollWidth <= window.innerWidth + 1) return [];
    const past = (element: Element) => element.getBoundingClientRect().right > window.innerWidth + 1;
    return [...document.querySelectorAll("body *")]
      .filter((element) => past(element) && !(element.parentElement && past(element.parentElement)))
      .map((element) => `${element.tagName.toLowerCase()}.${[...element.classList].join(".")}`);
  });
}

test("at 390 px the navigation folds behind Menu and no page scrolls sideways", async ({ page }) => {
  await login(page, accounts.admin);
  const name = uniqueName("Phone");
  const id = await createTagSegment(page, name, "city_cross_border_ride", ["Shenzhen"]);
  // An export, so the export list has a row with its progress and download link.
  await page.reload();
  await hydrated(page);
  await expect(row(page, name).locator("[data-status=active]")).toHaveCount(1);
  await row(page, name).getByRole("button", { name: "Export" }).click();
  await expect(page).toHaveURL(/\/exports$/);

  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav).toBeHidden();
  await page.getByRole("button", { name: "Menu" }).click();
  await expect(nav).toBeVisible();
  await nav.getByRole("link", { name: "Deleted Records" }).click();
  await expect(page).toHaveURL(/\/deleted$/);
  await expect(nav).toBeHidden();

  const other = await createTagSegment(page, uniqueName("Phone"), "member_level", ["gold"]);
  for (const path of [
    "/segments", "/segments/new/tag-filter", `/segments/${id}`, "/segments/groups", "/exports", "/verify", "/admin/users",
    "/admin/tokens", `/segments/overlap?ids=${id},${other}`,
  ]) {
    await page.goto(path);
    await hydrated(page);
    await expect(page.locator("h1").first()).toBeVisible();
    expect(await sidewaysOverflow(page), path).toEqual([]);
  }

  // The rule editor keeps a usable width: it is not squeezed beside the estimate.
  await page.goto("/segments/new/tag-filter");
  await hydrated(page);
  const editor = (await page.getByTestId("rule-group").first().boundingBox())!;
  expect(editor.width).toBeGreaterThan(300);
  // Basic Information is one column: every field as wide as the form.
  for (const field of ["input[name=name]", "input[name=time_zone]", "input[name=notification_email]"]) {
    const box = (await page.locator(field).boundingBox())!;
    expect(box.width, field).toBeGreaterThan(300);
  }
});
