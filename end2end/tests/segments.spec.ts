import { test, expect, Page, Locator } from "@playwright/test";
import { accounts, createTagSegment, hydrated, login, row, uniqueName } from "./helpers";
import { api } from "./api";

/** Opens + Create Segment › Tag Filtering from the list. */
async function openTagFiltering(page: Page) {
  await page.getByTestId("create-segment").click();
  await page.getByTestId("method-tag-filter").click();
  await expect(page).toHaveURL(/\/segments\/new\/tag-filter$/);
  await hydrated(page);
}

/** Adds `tag` to rule group `group` (0-based) with the group's drop-down (Method 1). */
async function addTag(page: Page, group: number, tag: string): Promise<Locator> {
  const rule = page.getByTestId("rule-group").nth(group);
  await rule.getByTestId("add-tag").selectOption(tag);
  const condition = rule.locator(`[data-testid=condition][data-tag="${tag}"]`);
  await expect(condition).toHaveCount(1);
  return condition;
}

/** Waits for the live estimate to settle on a number different from `previous`. */
async function estimateAfter(page: Page, previous: string | null): Promise<string> {
  const size = page.getByTestId("estimate-size");
  await expect(page.getByTestId("estimate")).not.toContainText("updating");
  if (previous !== null) {
    await expect(size).not.toHaveText(previous);
  }
  await expect(size).toHaveText(/^[\d,]+$/);
  await expect(page.getByTestId("estimate")).not.toContainText("updating");
  return (await size.textContent())!;
}

test("a tag-filter segment with two rule groups: live estimate and SQL, confirm, Generating → Active with the estimated size", async ({ page }) => {
  const name = uniqueName("Shenzhen or F&B");
  await login(page, accounts.operator);
  await openTagFiltering(page);
  await page.locator("input[name=name]").fill(name);

  const ride = await addTag(page, 0, "city_cross_border_ride");
  await ride.getByTestId("values").getByLabel("Shenzhen").check();
  const first = await estimateAfter(page, null);
  const sql = page.getByTestId("estimate-sql");
  await expect(sql).toContainText("city_cross_border_ride");
  await expect(sql).not.toContainText("behavior_trade");
  // The plan the engine and the SQL share, one line per node.
  await page.getByTestId("estimate-plan").locator("summary").click();
  await expect(page.getByTestId("estimate-plan")).toContainText("Profile city_cross_border_ride");

  // A second group (OR) with a behavior condition and an attribute filter.
  await page.getByTestId("add-group").click();
  await expect(page.locator(".rule-or")).toHaveCount(1);
  const trade = await addTag(page, 1, "trade");
  await expect(trade.getByTestId("resolved-window")).toHaveText(/= \d{4}-\d{2}-\d{2} → \d{4}-\d{2}-\d{2} \(Asia\/Shanghai\)/);
  await trade.getByTestId("window from").fill("-30");
  await trade.getByTestId("add-attribute").selectOption("industry_l1");
  await trade.getByTestId("attribute values").getByLabel("Food & Beverages").check();
  await trade.getByTestId("count").fill("2");
  const both = await estimateAfter(page, first);
  expect(Number(both.replace(/,/g, ""))).toBeGreaterThan(Number(first.replace(/,/g, "")));
  await expect(sql).toContainText("behavior_trade");
  await expect(sql).toContainText("Food & Beverages");

  // A problem is shown at its condition, and the estimate recovers once fixed.
  await trade.getByTestId("count").fill("-1");
  await expect(trade.getByTestId("condition-error")).toBeVisible();
  await trade.getByTestId("count").fill("2");
  await expect(trade.getByTestId("condition-error")).toHaveCount(0);
  await expect(page.getByTestId("estimate-size")).toHaveText(both);

  await page.getByTestId("create").click();
  const confirm = page.getByTestId("confirm");
  await expect(confirm.getByTestId("confirm-size")).toHaveText(both);
  await expect(confirm.getByTestId("confirm-sql")).toContainText("behavior_trade");
  await confirm.getByTestId("confirm-create").click();

  await expect(page).toHaveURL(/\/segments\?created=\d+$/);
  const created = row(page, name);
  await expect(created).toHaveCount(1);
  await expect(created.locator(".status")).toHaveText(/Generating|Active/);
  await expect(created.locator(".status")).toHaveText("Active");
  await expect(created.locator("td.size")).toHaveText(both);
  await expect(created).toContainText("Tag Filtering");
});

test("Segment Combination with Copy from Above Fields creates both segments, each Active with the right size", async ({ page }) => {
  const base = uniqueName("Guangzhou riders");
  const name = uniqueName("Shenzhen riders");
  const combinedName = uniqueName("Either city");
  await login(page, accounts.admin);

  // Segment B, through the API with the browser's session (a same-origin request).
  const origin = new URL(page.url()).origin;
  const guangzhou = {
    groups: [{ conditions: [{ type: "profile", tag: "city_cross_border_ride", date: { mode: "latest" }, op: "in", values: ["Guangzhou"] }] }],
  };
  const created = await page.request.post("/api/v1/segments", {
    headers: { Origin: origin },
    data: {
      name: base, target_object: "user", update_frequency: "one_time", usage_scenarios: ["insight_analysis"],
      time_zone: "Asia/Shanghai", expires_at: "2030-12-31 23:59", definition: { method: "tag_filter", rule: guangzhou },
    },
  });
  expect(created.status()).toBe(202);
  await page.reload();
  await hydrated(page);
  await expect(row(page, base).locator(".status")).toHaveText("Active");
  const baseSize = Number((await row(page, base).locator("td.size").textContent())!.replace(/,/g, ""));

  await openTagFiltering(page);
  await page.locator("input[name=name]").fill(name);
  await page.locator("input[name=notification_email]").fill("ops@example.com");
  const ride = await addTag(page, 0, "city_cross_border_ride");
  await ride.getByTestId("values").getByLabel("Shenzhen").check();
  const size = Number((await estimateAfter(page, null)).replace(/,/g, ""));

  const combination = page.getByTestId("combination");
  await combination.locator("summary").click();
  await combination.getByRole("button", { name: "Select Segment" }).click();
  const picker = page.getByTestId("segment-picker");
  await picker.getByLabel("Search segments").fill(base);
  await picker.locator("tbody tr", { hasText: base }).getByRole("button", { name: "Select" }).click();
  await expect(combination.getByTestId("selected-segment")).toContainText(base);
  await combination.getByLabel("Union (A or B)").check();
  await combination.getByRole("button", { name: "Copy from Above Fields" }).click();
  await expect(page.locator("input[name='combination.notification_email']")).toHaveValue("ops@example.com");
  await expect(page.locator("input[name='combination.name']")).toHaveValue("");
  await page.locator("input[name='combination.name']").fill(combinedName);

  await page.getByTestId("create").click();
  const confirm = page.getByTestId("confirm");
  await expect(confirm).toContainText(`Also creates “${combinedName}”: the members of this segment, of #`);
  await confirm.getByTestId("confirm-create").click();
  await expect(page).toHaveURL(/\/segments\?created=\d+$/);

  await expect(row(page, name).locator(".status")).toHaveText("Active");
  await expect(row(page, combinedName).locator(".status")).toHaveText("Active");
  await expect(row(page, name).locator("td.size")).toHaveText(size.toLocaleString("en-US"));
  // A rider has one latest city: the two segments are disjoint.
  await expect(row(page, combinedName).locator("td.size")).toHaveText((size + baseSize).toLocaleString("en-US"));
  await expect(row(page, combinedName)).toContainText("Segment Sets");
});

test("a validation error is shown beside its field and the form keeps everything entered", async ({ page }) => {
  const name = uniqueName("Blacklisted");
  await login(page, accounts.merchant);
  await openTagFiltering(page);
  await page.locator("input[name=name]").fill(name);
  await page.locator("input[name=notification_email]").fill("not-an-address");
  await page.locator("input[name=expires_at]").fill("2020-01-01T00:00");
  // Method 2: the searchable tag list adds the tag to the chosen group.
  await page.locator("summary", { hasText: "Tag List" }).click();
  const tagList = page.getByTestId("tag-list");
  await tagList.getByLabel("Search tags").fill("blacklist risk");
  await expect(tagList.locator("tbody tr")).toHaveCount(1);
  await expect(tagList.locator("tbody tr")).toContainText("Boolean");
  await tagList.locator("tbody tr").getByRole("button", { name: "Add" }).click();
  const blacklist = page.getByTestId("rule-group").nth(0).locator("[data-testid=condition][data-tag=v2_is_black_list]");
  await expect(blacklist).toHaveCount(1);
  await blacklist.getByTestId("values").getByLabel("No").check();
  await estimateAfter(page, null);

  await page.getByTestId("create").click();
  await expect(page.locator("[data-field=expires_at]")).toContainText("must be in the future");
  await expect(page.locator("[data-field=notification_email]")).toContainText("is not an email address");
  await expect(page.getByTestId("form-errors")).toContainText("2 fields");
  await expect(page.locator("input[name=name]")).toHaveValue(name);
  await expect(blacklist.getByTestId("values").getByLabel("No")).toBeChecked();

  // Fixed, it goes through.
  await page.locator("input[name=notification_email]").fill("");
  await page.locator("input[name=expires_at]").fill("2030-06-30T12:00");
  await page.getByTestId("create").click();
  await page.getByTestId("confirm").getByTestId("confirm-create").click();
  await expect(row(page, name).locator(".status")).toHaveText("Active");
});

test("a segment set of two Active segments becomes Active with the size of the operation", async ({ page }) => {
  const a = uniqueName("Macau riders");
  const b = uniqueName("Hong Kong riders");
  const name = uniqueName("Macau or Hong Kong");
  await login(page, accounts.operator);
  for (const [segment, city] of [[a, "Macau"], [b, "Hong Kong"]]) {
    await createTagSegment(page, segment, "city_cross_border_ride", [city]);
  }
  await page.reload();
  await hydrated(page);
  const sizeOf = async (segment: string) => {
    await expect(row(page, segment).locator(".status")).toHaveText("Active");
    return Number((await row(page, segment).locator("td.size").textContent())!.replace(/,/g, ""));
  };
  const total = (await sizeOf(a)) + (await sizeOf(b));

  await page.getByTestId("create-segment").click();
  await page.getByTestId("method-segment-set").click();
  await expect(page).toHaveURL(/\/segments\/new\/segment-set$/);
  await hydrated(page);
  await page.locator("input[name=name]").fill(name);
  for (const [label, segment] of [["Segment A", a], ["Segment B", b]]) {
    const select = page.getByLabel(label);
    const option = select.locator("option", { hasText: segment });
    await expect(option).toHaveCount(1);
    await select.selectOption((await option.getAttribute("value"))!);
  }
  await page.getByLabel("Union (A or B)").check();
  await page.getByTestId("create").click();
  await expect(page).toHaveURL(/\/segments\?created=\d+$/);
  await expect(row(page, name).locator(".status")).toHaveText("Active");
  await expect(row(page, name).locator("td.size")).toHaveText(total.toLocaleString("en-US"));
  await expect(row(page, name)).toContainText("Segment Sets");
});

test("the rule is checked in the browser: a new condition is not an error, a wrong one is marked at once, nothing incomplete is sent", async ({ page }) => {
  await login(page, accounts.operator);
  const sent: string[] = [];
  page.on("request", (request) => {
    if (/estimate_segment/.test(request.url())) sent.push(request.postData() ?? "");
  });
  await openTagFiltering(page);
  await expect(page.getByTestId("estimate")).toContainText("Add conditions to see the size.");

  // A number condition just added waits for its number: no error, no request.
  const balance = await addTag(page, 0, "wallet_balance");
  await expect(page.getByTestId("estimate-waiting")).toHaveText("Finish the new condition to see the size.");
  await expect(balance.getByTestId("condition-error")).toHaveCount(0);

  // A range upside down is marked at its condition without asking the server.
  await balance.getByTestId("filter method").selectOption("between");
  await balance.getByTestId("value").fill("500");
  await balance.getByTestId("upper value").fill("100");
  await expect(balance.getByTestId("condition-error")).toBeVisible();
  await expect(page.getByTestId("estimate-waiting")).toHaveClass(/field-error/);
  await page.waitForTimeout(700);
  expect(sent, "no estimate is asked for an incomplete or wrong rule").toEqual([]);

  // Fixed: one settled request, and the size.
  await balance.getByTestId("upper value").fill("900");
  await expect(balance.getByTestId("condition-error")).toHaveCount(0);
  await expect(page.getByTestId("estimate-size")).toHaveText(/^[\d,]+$/);
  expect(sent.length).toBeGreaterThan(0);
  expect(sent.every((body) => body.includes("wallet_balance"))).toBe(true);
});

test("unsaved work is not lost: a link, Cancel or Back asks first, and Stay keeps everything", async ({ page }) => {
  await login(page, accounts.operator);
  await openTagFiltering(page);
  const name = uniqueName("Half done");
  await page.locator("input[name=name]").fill(name);
  const ride = await addTag(page, 0, "city_cross_border_ride");
  await ride.getByTestId("values").getByLabel("Macau").check();

  const dialog = page.getByTestId("unsaved-dialog");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Segment Verification" }).click();
  await expect(dialog).toContainText("Leave without saving?");
  await dialog.getByRole("button", { name: "Stay" }).click();
  await expect(dialog).toHaveCount(0);
  await expect(page).toHaveURL(/\/segments\/new\/tag-filter$/);
  await expect(page.locator("input[name=name]")).toHaveValue(name);
  await expect(ride.getByTestId("values").getByLabel("Macau")).toBeChecked();

  await page.goBack();
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: "Stay" }).click();
  await expect(page).toHaveURL(/\/segments\/new\/tag-filter$/);
  await expect(page.locator("input[name=name]")).toHaveValue(name);

  await page.getByRole("link", { name: "Cancel" }).click();
  await expect(dialog).toBeVisible();
  await page.getByTestId("unsaved-leave").click();
  await expect(page).toHaveURL(/\/segments$/);
});

test("after a refused Create the first problem is in view, clear of the action bar, with the cursor in its field", async ({ page }) => {
  await login(page, accounts.operator);
  await openTagFiltering(page);
  const ride = await addTag(page, 0, "city_cross_border_ride");
  await ride.getByTestId("values").getByLabel("Macau").check();
  await page.getByTestId("create").scrollIntoViewIfNeeded();
  await page.getByTestId("create").click();
  await expect(page.getByTestId("form-errors")).toContainText("marked in red");
  const nameField = page.locator("input[name=name]");
  await expect(nameField).toBeFocused();
  await expect(nameField).toBeInViewport();
  // Not under the sticky Create / Cancel bar.
  const bar = (await page.locator(".sticky-actions").boundingBox())!;
  const field = (await nameField.boundingBox())!;
  expect(field.y + field.height).toBeLessThan(bar.y);
});

test("a specific date is picked among the tag's dates with data, newest first", async ({ page }) => {
  await login(page, accounts.operator);
  const { data } = await api(page).GET("/api/v1/tags", { params: { query: { target: "user", q: "wallet_balance" } } });
  const tag = data!.tags.find((t) => t.code === "wallet_balance")!;
  const ready = [...tag.ready_dates].reverse();
  expect(ready.length).toBeGreaterThan(1);
  await openTagFiltering(page);
  const balance = await addTag(page, 0, "wallet_balance");
  await balance.getByTestId("date option").selectOption("on");
  const dates = balance.getByTestId("date");
  await expect(dates.locator("option")).toHaveText(ready);
  await dates.selectOption(ready[1]);
  await balance.getByTestId("value").fill("100");
  await expect(page.getByTestId("estimate-size")).toHaveText(/^[\d,]+$/);
  await expect(page.getByTestId("estimate-sql")).toContainText(`'${ready[1]}'`);
});

test("the list's filters, sort and page live in the address: a reload keeps them and Back returns to the previous view", async ({ page }) => {
  await login(page, accounts.operator);
  const name = uniqueName("Addressable");
  await createTagSegment(page, name, "city_cross_border_ride", ["Macau"]);
  await page.reload();
  await hydrated(page);
  await page.getByLabel("Status").selectOption("active");
  await expect(page).toHaveURL(/\/segments\?status=active$/);
  await page.getByRole("columnheader", { name: /^Name/ }).getByRole("button").click();
  await expect(page).toHaveURL(/\/segments\?status=active&sort=name&asc=1$/);
  await page.getByLabel("Search segments").fill(name);
  await expect(page).toHaveURL(new RegExp(`q=${encodeURIComponent(name).replace(/%20/g, "(%20|\\+)")}`));
  await expect(page.getByTestId("segments-table").locator("tbody tr")).toHaveCount(1);

  // A reload (or a shared link) shows the same view.
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel("Status")).toHaveValue("active");
  await expect(page.getByLabel("Search segments")).toHaveValue(name);
  await expect(page.getByRole("columnheader", { name: /^Name/ })).toHaveAttribute("aria-sort", "ascending");
  await expect(page.getByTestId("segments-table").locator("tbody tr")).toHaveCount(1);

  // Back: the search was typed into one entry, so Back returns to the sorted view without it.
  await page.goBack();
  await expect(page).toHaveURL(/\/segments\?status=active&sort=name&asc=1$/);
  await expect(page.getByLabel("Search segments")).toHaveValue("");
});
