import { test, expect, type Page } from "@playwright/test";
import { api } from "./api";
import { accounts, createTagSegment, hydrated, login, uniqueName } from "./helpers";

const axeSource = require.resolve("axe-core/axe.min.js");

// axe-core is injected as a script of its own; the console's CSP rightly
// refuses scripts it did not send.
test.use({ bypassCSP: true });

/** The serious and critical axe-core violations of the page as it is now, one line each. */
async function violations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: axeSource });
  const found = await page.evaluate(async () => {
    // @ts-expect-error axe is the global the script above defines.
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v: { id: string; impact: string; nodes: { target: string[] }[] }) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }));
  });
  return found
    .filter((v: { impact: string }) => v.impact === "serious" || v.impact === "critical")
    .map((v: { id: string; impact: string; targets: string[] }) => `${v.impact} ${v.id}: ${v.targets.join(", ")}`);
}

async function check(page: Page, paths: string[]) {
  const problems: string[] = [];
  for (const path of paths) {
    await page.goto(path);
    await hydrated(page);
    await expect(page.locator("h1").first()).toBeVisible();
    problems.push(...(await violations(page)).map((v) => `${path}: ${v}`));
  }
  expect(problems, problems.join("\n")).toEqual([]);
}

const everyone = [
  "/segments", "/segments/groups", "/segments/new", "/segments/new/tag-filter", "/segments/new/custom-list",
  "/segments/new/lookalike", "/segments/new/segment-set", "/segments/overlap", "/exports", "/deleted", "/verify",
  "/account",
];

test("the sign-in page has no serious accessibility violation", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  expect(await violations(page)).toEqual([]);
});

test("every page an administrator sees has no serious accessibility violation", async ({ page }) => {
  await login(page, accounts.admin);
  const id = await createTagSegment(page, uniqueName("A11y"), "city_cross_border_ride", ["Shenzhen"]);
  const other = await createTagSegment(page, uniqueName("A11y"), "member_level", ["gold"]);
  // Active, so the details page shows its insights and the overlap its picture.
  for (const segment of [id, other]) {
    await expect
      .poll(async () => (await api(page).GET("/api/v1/segments/{id}", { params: { path: { id: segment } } })).data?.status)
      .toBe("active");
  }
  await check(page, [
    ...everyone, "/segments/new/warehouse-table", "/admin/users", "/admin/tokens", `/segments/${id}`,
    `/segments/overlap?ids=${id},${other}`,
  ]);
});

for (const role of ["merchant", "store"] as const) {
  test(`every page a ${role} sees has no serious accessibility violation`, async ({ page }) => {
    await login(page, accounts[role]);
    await check(page, everyone);
  });
}

test("at phone width (390 px) the pages have no serious accessibility violation either", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await login(page, accounts.admin);
  const id = await createTagSegment(page, uniqueName("Phone a11y"), "member_level", ["gold"]);
  await expect
    .poll(async () => (await api(page).GET("/api/v1/segments/{id}", { params: { path: { id } } })).data?.status)
    .toBe("active");
  await check(page, [
    "/segments", "/segments/new", "/segments/new/tag-filter", "/segments/new/custom-list", `/segments/${id}`,
    "/segments/overlap", "/exports", "/verify", "/admin/users", "/account",
  ]);
});

test("the segment list sorts from the keyboard and says how it is sorted", async ({ page }) => {
  await login(page, accounts.operator);
  const name = page.getByRole("columnheader", { name: /^Name/ });
  await expect(name).toHaveAttribute("aria-sort", "none");
  await name.getByRole("button").focus();
  await page.keyboard.press("Enter");
  await expect(name).toHaveAttribute("aria-sort", "ascending");
  await page.keyboard.press("Enter");
  await expect(name).toHaveAttribute("aria-sort", "descending");
  await expect(page.getByRole("columnheader", { name: /^Updated/ })).toHaveAttribute("aria-sort", "none");
});

test("a merchant is offered only what it may use: no Warehouse Table card, no user form", async ({ page }) => {
  await login(page, accounts.merchant);
  await page.goto("/segments/new");
  await hydrated(page);
  await expect(page.getByTestId("method-custom-list")).toBeVisible();
  await expect(page.getByTestId("method-warehouse-table")).toHaveCount(0);
  await page.goto("/admin/users");
  await hydrated(page);
  await expect(page.getByTestId("admin-only")).toHaveText("Only administrators manage users and API tokens.");
  await expect(page.getByRole("button", { name: "Create user" })).toHaveCount(0);
});

test("a segment that does not exist (or is another scope's) says so under the page's heading", async ({ page }) => {
  await login(page, accounts.merchant);
  await page.goto("/segments/999999");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Segment details");
  await expect(page.getByRole("alert")).toHaveText("The segment was not found.");
});
