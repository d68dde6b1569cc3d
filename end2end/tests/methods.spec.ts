import { test, expect } from "@playwright/test";
import { accounts, createTagSegment, hydrated, login, row, uniqueName } from "./helpers";

const count = (text: string | null) => Number((text ?? "").replace(/[^0-9]/g, ""));

test("a warehouse-table segment: Get Data lists the columns, and the segment holds the column's IDs", async ({ page }) => {
  const name = uniqueName("Campaign responders");
  await login(page, accounts.operator);
  await page.getByTestId("create-segment").click();
  await page.getByTestId("method-warehouse-table").click();
  await expect(page).toHaveURL(/\/segments\/new\/warehouse-table$/);
  await hydrated(page);
  await expect(page.getByTestId("disclaimer")).toContainText("assumes no responsibility for the accuracy");
  await page.locator("input[name=name]").fill(name);

  // A table the warehouse does not have is refused beside the field.
  const table = page.getByLabel("Warehouse table name");
  await table.fill("orders; DROP TABLE orders");
  await page.getByTestId("get-data").click();
  await expect(page.getByText('The warehouse has no table named "orders; DROP TABLE orders".')).toBeVisible();

  await table.fill("campaign_responders");
  await page.getByTestId("get-data").click();
  const columns = page.getByTestId("columns");
  await expect(columns.locator("tbody tr")).toHaveCount(3);
  await expect(columns.locator("tbody tr", { hasText: "responded_at" })).toContainText("text");
  const facts = page.getByTestId("table-facts");
  await expect(facts).toContainText("rows");
  // Every responder is a distinct demo user: the segment has one member per row.
  const rows = count((await facts.textContent())!.split(",").pop()!);
  expect(rows).toBeGreaterThan(0);
  await expect(page.getByLabel("Use column user_id")).toBeChecked();

  await page.getByTestId("create").click();
  await expect(page).toHaveURL(/\/segments\?created=\d+$/);
  await expect(row(page, name).locator(".status")).toHaveText("Active");
  await expect(row(page, name).locator("td.size")).toHaveText(rows.toLocaleString("en-US"));
  await expect(row(page, name)).toContainText("Warehouse Table");

  await row(page, name).getByRole("link", { name }).click();
  await expect(page.getByTestId("warehouse-definition")).toContainText("campaign_responders");
  await expect(page.getByTestId("warehouse-read")).toHaveText(
    `Last read: ${rows.toLocaleString("en-US")} distinct values, ${rows.toLocaleString("en-US")} matched, 0 unknown.`,
  );
});

test("a lookalike of an Active segment has exactly its target size and shows what made entities similar", async ({ page }) => {
  const seedName = uniqueName("Macau seed");
  const name = uniqueName("Macau lookalike");
  await login(page, accounts.operator);
  await createTagSegment(page, seedName, "home_city", ["Macau"]);
  await page.reload();
  await hydrated(page);
  await expect(row(page, seedName).locator(".status")).toHaveText("Active");
  const seedSize = count(await row(page, seedName).locator("td.size").textContent());
  const target = seedSize + 250;

  await page.getByTestId("create-segment").click();
  await page.getByTestId("method-lookalike").click();
  await expect(page).toHaveURL(/\/segments\/new\/lookalike$/);
  await hydrated(page);
  await page.locator("input[name=name]").fill(name);
  const seed = page.getByLabel("Seed Segment");
  const option = seed.locator("option", { hasText: seedName });
  await expect(option).toHaveCount(1);
  await seed.selectOption((await option.getAttribute("value"))!);
  await expect(page.getByTestId("seed-size")).toHaveText(seedSize.toLocaleString("en-US"));

  // A target not above the seed is refused before anything is sent.
  await page.getByLabel("Target Size").fill(String(seedSize));
  await page.getByTestId("create").click();
  await expect(page.getByText(`Target Size must be larger than the seed's ${seedSize.toLocaleString("en-US")} members.`)).toBeVisible();

  await page.getByLabel("Target Size").fill(String(target));
  await page.getByTestId("create").click();
  await expect(page).toHaveURL(/\/segments\?created=\d+$/);
  await expect(row(page, name).locator(".status")).toHaveText("Active");
  await expect(row(page, name).locator("td.size")).toHaveText(target.toLocaleString("en-US"));
  await expect(row(page, name)).toContainText("Algorithm");

  await row(page, name).getByRole("link", { name }).click();
  await expect(page.getByTestId("lookalike-definition")).toContainText(`expanded to ${target.toLocaleString("en-US")} members`);
  // The seed is everyone in Macau: living in Macau is what the model weighs most.
  await expect(page.getByTestId("top-features").locator("tbody tr").first()).toContainText("Home city = Macau");
});
