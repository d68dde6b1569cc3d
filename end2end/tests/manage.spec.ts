import { test, expect, Page } from "@playwright/test";
import * as fs from "fs";
import * as zlib from "zlib";
import { accounts, createTagSegment, hydrated, login, row, uniqueName } from "./helpers";

async function createSegment(page: Page, name: string, cities: string[]): Promise<number> {
  return createTagSegment(page, name, "city_cross_border_ride", cities);
}

async function listed(page: Page, name: string) {
  await page.goto("/segments");
  await hydrated(page);
  await expect(row(page, name).locator(".status")).toHaveText("Active");
  return row(page, name);
}

test("export a segment and download a CSV whose IDs are exactly its members", async ({ page }) => {
  const name = uniqueName("Export me");
  await login(page, accounts.operator);
  const id = await createSegment(page, name, ["Macau"]);
  const segment = await listed(page, name);
  const size = Number((await segment.locator("td.size").textContent())!.replace(/,/g, ""));
  expect(size).toBeGreaterThan(0);

  // Its details: the rule as a sentence, the SQL, the run history and what uses it.
  await segment.getByRole("link", { name }).click();
  await expect(page).toHaveURL(new RegExp(`/segments/${id}$`));
  await expect(page.getByTestId("rule-sentences")).toContainText("Cities enabled for cross-border ride codes (latest) is any of Macau");
  await expect(page.locator("pre.sql")).toContainText("tag_city_cross_border_ride");
  await expect(page.getByTestId("detail-size")).toHaveText(size.toLocaleString("en-US"));
  const runs = page.getByTestId("runs").locator("tbody tr");
  await expect(runs).toHaveCount(1);
  await expect(runs.first()).toContainText("create");
  await expect(runs.first()).toContainText("Succeeded");
  await expect(runs.first()).toContainText(`+${size.toLocaleString("en-US")}`);
  // One run is said in a sentence; the chart waits for a second.
  await expect(page.getByTestId("single-run")).toContainText(`One successful run so far: ${size.toLocaleString("en-US")} members`);
  await expect(page.locator(".run-chart")).toHaveCount(0);
  await expect(page.getByText("Nothing uses this segment")).toBeVisible();
  await page.goto("/segments");
  await hydrated(page);

  await segment.getByRole("button", { name: "Export" }).click();
  await expect(page).toHaveURL(/\/exports$/);
  const exported = page.locator(`tbody tr[data-segment="${name}"]`);
  await expect(exported.locator("[data-status]")).toHaveText("Ready");
  const downloading = page.waitForEvent("download");
  await exported.getByRole("link", { name: "Download CSV" }).click();
  const file = await (await downloading).path();
  const lines = fs.readFileSync(file!, "utf8").trim().split("\n");
  expect(lines[0]).toBe("entity_id");
  const ids = lines.slice(1);
  expect(ids.length).toBe(size);
  expect(new Set(ids).size).toBe(size);
  // Every downloaded ID is a member, so with the count they are the members.
  const check = await page.request.post(`/api/v1/segments/${id}/members/check`, {
    headers: { Origin: new URL(page.url()).origin },
    data: { ids },
  });
  const answer = await check.json();
  expect(answer.members.length).toBe(size);
  expect(answer.non_members).toEqual([]);
  // The gzip variant is the same file.
  const zipping = page.waitForEvent("download");
  await exported.getByRole("link", { name: "CSV.gz" }).click();
  const zipped = await zipping;
  expect(zipped.suggestedFilename()).toMatch(/\.csv\.gz$/);
  const unpacked = zlib.gunzipSync(fs.readFileSync((await zipped.path())!)).toString("utf8");
  expect(unpacked).toBe(fs.readFileSync(file!, "utf8"));
});

test("extend validity, refuse to delete a bound segment, unbind, delete, find it in Deleted Records", async ({ page }) => {
  const name = uniqueName("Bound");
  await login(page, accounts.admin);
  const id = await createSegment(page, name, ["Hong Kong"]);
  const segment = await listed(page, name);

  await segment.getByRole("button", { name: "Extend Validity" }).click();
  const extend = page.getByRole("dialog", { name: "Extend validity" });
  await extend.locator("input[name=expires_at]").fill("2020-01-01T00:00");
  await extend.getByRole("button", { name: "Extend" }).click();
  await expect(extend.locator("[data-field=expires_at]")).toContainText("future");
  await extend.locator("input[name=expires_at]").fill("2031-12-31T18:30");
  await extend.getByRole("button", { name: "Extend" }).click();
  await expect(extend).toHaveCount(0);
  await expect(segment).toContainText("2031-12-31 18:30");

  const origin = new URL(page.url()).origin;
  const bound = await page.request.post(`/api/v1/segments/${id}/bindings`, {
    headers: { Origin: origin },
    data: { task_id: "sms-7", name: "Winter SMS", ends_at: "2031-06-30 12:00" },
  });
  expect(bound.status()).toBe(201);

  await segment.getByRole("button", { name: "Delete" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete segment" });
  await expect(dialog).toContainText(String(id));
  await expect(dialog).toContainText(name);
  await dialog.getByRole("button", { name: "Delete" }).click();
  await expect(dialog.getByRole("alert")).toContainText('delivery task sms-7 "Winter SMS" is bound to it');
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(row(page, name)).toHaveCount(1);

  const unbound = await page.request.delete(`/api/v1/segments/${id}/bindings/sms-7`, { headers: { Origin: origin } });
  expect(unbound.status()).toBe(204);
  await segment.getByRole("button", { name: "Delete" }).click();
  await dialog.getByRole("button", { name: "Delete" }).click();
  await expect(row(page, name)).toHaveCount(0);

  await page.getByRole("link", { name: "Deleted Records" }).click();
  await expect(page).toHaveURL(/\/deleted$/);
  const deleted = page.locator(`tbody tr[data-segment="${name}"]`);
  await expect(deleted).toContainText(String(id));
  await expect(deleted).toContainText("admin");
});

test("verify an included, an excluded and an unknown ID and read why", async ({ page }) => {
  const name = uniqueName("Verify me");
  await login(page, accounts.operator);
  const id = await createSegment(page, name, ["Shenzhen"]);
  await listed(page, name);
  const origin = new URL(page.url()).origin;
  // Find one member and one non-member among the first demo users.
  const candidates = Array.from({ length: 200 }, (_, i) => `U${String(i + 1).padStart(7, "0")}`);
  const check = await (await page.request.post(`/api/v1/segments/${id}/members/check`, {
    headers: { Origin: origin },
    data: { ids: candidates },
  })).json();
  const member = check.members[0];
  const outsider = check.non_members[0];

  await row(page, name).getByRole("link", { name: "Verify", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/verify\\?segment=${id}$`));
  await hydrated(page);
  await page.getByLabel("IDs").fill(`${member}\n${outsider}, nobody-here`);
  await page.getByRole("button", { name: "Verify" }).click();
  const results = page.getByTestId("verify-results");
  await expect(results.locator(`tr[data-entity="${member}"] [data-verdict]`)).toHaveText("Included");
  await expect(results.locator(`tr[data-entity="${outsider}"] [data-verdict]`)).toHaveText("Excluded");
  await expect(results.locator(`tr[data-entity="nobody-here"] [data-verdict]`)).toHaveText("Not found");
  await expect(results.locator(`tr[data-entity="${member}"]`)).toContainText("Rule group 1 matched");
  await expect(results.locator(`tr[data-entity="${member}"]`)).toContainText(/actual: \d{4}-\d{2}-\d{2}: Shenzhen/);
  await expect(results.locator(`tr[data-entity="${outsider}"]`)).toContainText("Rule group 1 did not match");
  await expect(results.locator(`tr[data-entity="nobody-here"]`)).toContainText("No such ID among the entities you can target");
});
