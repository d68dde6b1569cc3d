import { test, expect, type Page } from "@playwright/test";
import { api } from "./api";
import { accounts, createTagSegment, hydrated, login, uniqueName } from "./helpers";

type Condition = { type: "profile"; tag: string; date: { mode: "latest" }; op: "in"; values: string[] };
const isIn = (tag: string, values: string[]): Condition => ({ type: "profile", tag, date: { mode: "latest" }, op: "in", values });

/** How many users a rule (groups of AND-ed conditions, OR-ed together) matches, by the live estimate. */
async function estimate(page: Page, groups: Condition[][]): Promise<number> {
  const { data, response } = await api(page).POST("/api/v1/segments/estimate", {
    body: { target_object: "user", rule: { groups: groups.map((conditions) => ({ conditions })) } },
  });
  expect(response.status).toBe(200);
  return data!.size;
}

async function activeSegment(page: Page, name: string, tag: string, values: string[]): Promise<number> {
  const id = await createTagSegment(page, name, tag, values);
  await expect
    .poll(async () => (await api(page).GET("/api/v1/segments/{id}", { params: { path: { id } } })).data?.status)
    .toBe("active");
  return id;
}

const count = (n: number) => n.toLocaleString("en-US");

test("two segments' overlap shows exact counts and makes their intersection a segment in one click", async ({ page }) => {
  await login(page, accounts.operator);
  const gold = isIn("member_level", ["gold", "platinum"]);
  const shenzhen = isIn("home_city", ["Shenzhen"]);
  const nameA = uniqueName("Gold members");
  const nameB = uniqueName("Shenzhen homes");
  const a = await activeSegment(page, nameA, "member_level", ["gold", "platinum"]);
  const b = await activeSegment(page, nameB, "home_city", ["Shenzhen"]);
  // Expected sizes from the rule engine, independently of the snapshots.
  const both = await estimate(page, [[gold, shenzhen]]);
  const either = await estimate(page, [[gold], [shenzhen]]);
  const sizeA = await estimate(page, [[gold]]);
  const sizeB = await estimate(page, [[shenzhen]]);

  await page.goto(`/segments/${a}`);
  await hydrated(page);
  await page.getByTestId("compare-overlap").click();
  await expect(page).toHaveURL(new RegExp(`/segments/overlap\\?ids=${a}$`));
  await expect(page.getByTestId("overlap-empty")).toBeVisible();
  const pickB = page.getByTestId("overlap-pick-1");
  await expect(pickB.locator("option", { hasText: nameB })).toHaveCount(1);
  await pickB.selectOption(String(b));
  await page.getByTestId("overlap-compare").click();
  await expect(page).toHaveURL(new RegExp(`/segments/overlap\\?ids=${a},${b}$`));

  // The picture and the table agree with the engine, region by region.
  const venn = page.getByTestId("venn");
  await expect(venn.locator('[data-mask="3"]')).toHaveText(count(both));
  await expect(venn.locator('[data-mask="1"]')).toHaveText(count(sizeA - both));
  await expect(venn.locator('[data-mask="2"]')).toHaveText(count(sizeB - both));
  const regions = page.getByTestId("overlap-regions");
  await expect(regions.locator('tr[data-mask="3"]')).toContainText(`A and B${count(both)}`);
  await expect(page.getByTestId("overlap")).toContainText(`${count(either)} users in at least one segment`);

  // One click on A ∩ B: a dialog says what it creates; Create makes it a segment set of that size.
  await page.getByTestId("create-set").filter({ hasText: `A ∩ B (${count(both)})` }).click();
  const dialog = page.getByTestId("create-set-dialog");
  await expect(dialog).toContainText(`Members of both “${nameA}” and “${nameB}”: ${count(both)} members now.`);
  await expect(dialog.getByLabel("Segment name")).toHaveValue(`${nameA} ∩ ${nameB}`);
  await expect(dialog).toContainText("with the earlier of the two");
  await dialog.getByTestId("create-set-confirm").click();
  await expect(page).toHaveURL(/\/segments\/\d+$/);
  await expect(page.getByTestId("set-definition")).toContainText(`Segment ${a} Intersection (A & B) Segment ${b}`);
  await expect(page.getByTestId("detail-size")).toHaveText(count(both), { timeout: 20_000 });

  // Back returns to the same comparison: it lives in the address.
  await page.goBack();
  await expect(page).toHaveURL(new RegExp(`/segments/overlap\\?ids=${a},${b}$`));
  await expect(page.getByTestId("venn").locator('[data-mask="3"]')).toHaveText(count(both));
});

test("overlapping segments of different target objects is refused with the reason", async ({ page }) => {
  await login(page, accounts.operator);
  const user = await activeSegment(page, uniqueName("Users"), "member_level", ["gold"]);
  const { data, response } = await api(page).POST("/api/v1/segments", {
    body: {
      name: uniqueName("Stores"), target_object: "store", update_frequency: "one_time", usage_scenarios: ["message_ad_delivery"],
      time_zone: "Asia/Shanghai", expires_at: "2030-06-30 23:59",
      definition: { method: "tag_filter", rule: { groups: [{ conditions: [{ type: "profile", tag: "store_city", date: { mode: "latest" }, op: "in", values: ["Shenzhen"] }] }] } },
    },
  });
  expect(response.status).toBe(202);
  const store = data!.id;
  await expect.poll(async () => (await api(page).GET("/api/v1/segments/{id}", { params: { path: { id: store } } })).data?.status).toBe("active");
  await page.goto(`/segments/overlap?ids=${user},${store}`);
  await hydrated(page);
  await expect(page.getByRole("alert")).toContainText(`Segment ${user} targets users and segment ${store} targets stores`);
});

test("insights show the segment beside everyone as bars, for the most distinctive tags and any tag added", async ({ page }) => {
  await login(page, accounts.operator);
  const id = await activeSegment(page, uniqueName("Gold"), "member_level", ["gold", "platinum"]);
  const size = await estimate(page, [[isIn("member_level", ["gold", "platinum"])]]);
  const gold = await estimate(page, [[isIn("member_level", ["gold"])]]);
  await page.goto(`/segments/${id}`);
  await hydrated(page);

  const insights = page.getByTestId("insights");
  await expect(insights.getByTestId("insights-summary")).toContainText(`${count(size)} members compared with all users`);
  // Membership level defines the segment: it is the most distinctive tag, shown first.
  const level = insights.getByTestId("insight").first();
  await expect(level).toHaveAttribute("data-tag", "member_level");
  const goldRow = level.locator("tbody tr", { hasText: "gold" });
  await expect(goldRow).toContainText(`${((gold / size) * 100).toFixed(1)}%`);
  await expect(goldRow.locator(".bar-first")).toBeVisible();
  await expect(level.locator("tbody tr", { hasText: "bronze" })).toContainText("0.0%");

  // Any tag can be added, and removed again.
  await insights.getByTestId("insight-tag").selectOption("home_city");
  await insights.getByTestId("insight-add").click();
  const city = insights.locator('[data-testid=insight][data-tag="home_city"]');
  await expect(city).toBeVisible();
  await expect(insights.getByTestId("insights-summary")).toContainText("the tags you added");
  await city.getByRole("button", { name: /Remove/ }).click();
  await expect(insights.getByTestId("insights-summary")).toContainText("differs most from its base");
});

test("a merchant's insights compare with its audience, not with everyone", async ({ page }) => {
  await login(page, accounts.merchant);
  const id = await activeSegment(page, uniqueName("Merchant gold"), "member_level", ["gold"]);
  await page.goto(`/segments/${id}`);
  await hydrated(page);
  await expect(page.getByTestId("insights-summary")).toContainText("compared with your audience");
});

test("insights refused because the user's own evaluations are queued are asked again, not shown as an error", async ({ page }) => {
  await login(page, accounts.operator);
  const id = await activeSegment(page, uniqueName("Queued"), "member_level", ["gold", "platinum"]);
  await page.goto(`/segments/${id}`);
  await hydrated(page);
  const insights = page.getByTestId("insights");
  await expect(insights.getByTestId("insights-summary")).toBeVisible();

  // The next insights call is refused as the engine refuses a principal whose queue is full; later ones go through.
  let calls = 0;
  await page.route(/\/api\/segment_insights/, async (route) => {
    calls += 1;
    if (calls === 1) {
      await route.fulfill({
        status: 500,
        contentType: "application/json",
        body: JSON.stringify({ RateLimited: "4 evaluations of yours are already waiting; try again when they have finished." }),
      });
    } else {
      await route.continue();
    }
  });
  await insights.getByTestId("insight-tag").selectOption("home_city");
  await insights.getByTestId("insight-add").click();
  await expect(insights.locator('[data-testid=insight][data-tag="home_city"]')).toBeVisible();
  await expect(insights.getByTestId("insights-summary")).toContainText("the tags you added");
  expect(calls).toBe(2);
  await expect(insights.getByRole("alert")).toHaveCount(0);
});
