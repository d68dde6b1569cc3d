import { test, expect } from "@playwright/test";
import { accounts, hydrated, login, uniqueName } from "./helpers";

test("upload a CSV with bad rows, read the report, confirm, and the segment is Active with the matched count", async ({ page }) => {
  const name = uniqueName("CRM list");
  await login(page, accounts.operator);
  await page.getByTestId("create-segment").click();
  await page.getByTestId("method-custom-list").click();
  await expect(page).toHaveURL(/\/segments\/new\/custom-list$/);
  await hydrated(page);
  await page.locator("input[name=name]").fill(name);
  await expect(page.locator("input[name=update_frequency][value=daily]")).toBeDisabled();

  const csv = ["entity_id", "U0000001", "U0000002", "U0000001", "bad id", "U0000003,extra", "U9999999", "U0000004", ""].join("\n");
  await page.getByLabel("ID file").setInputFiles({ name: "crm.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  const report = page.getByTestId("upload-report");
  await expect(report.locator("[data-fact='Rows read'] dd")).toHaveText("7");
  await expect(report.locator("[data-fact='Duplicates removed'] dd")).toHaveText("1");
  await expect(report.locator("[data-fact='Invalid rows'] dd")).toHaveText("2");
  await expect(report.locator("[data-fact='Unknown IDs'] dd")).toHaveText("1");
  await expect(report.locator("[data-fact='Matched'] dd")).toHaveText("3");
  const rejected = page.getByTestId("rejected-lines");
  await expect(rejected).toContainText("has characters other than letters");
  await expect(rejected).toContainText("has more than one column");
  await expect(rejected.locator("tr", { hasText: "U9999999" })).toContainText("not a known user");

  await page.getByTestId("create").click();
  await expect(page).toHaveURL(/\/segments\?created=\d+$/);
  const row = page.locator(`tbody tr[data-segment="${name}"]`);
  await expect(row.locator(".status")).toHaveText("Active");
  await expect(row.locator("td.size")).toHaveText("3");
  await expect(row).toContainText("Custom List");
});

test("a merchant's upload report counts IDs outside its audience as unknown, and the segment holds exactly the matched count", async ({ page }) => {
  const name = uniqueName("Merchant list");
  await login(page, accounts.merchant);
  await page.goto("/segments/new/custom-list");
  await hydrated(page);
  await page.locator("input[name=name]").fill(name);
  const ids = Array.from({ length: 200 }, (_, i) => `U${String(i + 1).padStart(7, "0")}`);
  await page.getByLabel("ID file").setInputFiles({ name: "ids.csv", mimeType: "text/csv", buffer: Buffer.from(["entity_id", ...ids].join("\n")) });
  const report = page.getByTestId("upload-report");
  await expect(report.locator("[data-fact='Rows read'] dd")).toHaveText("200");
  const count = async (fact: string) => Number((await report.locator(`[data-fact='${fact}'] dd`).textContent())!.replace(/,/g, ""));
  const matched = await count("Matched");
  const unknown = await count("Unknown IDs");
  // Users of the platform outside the merchant's audience read like IDs that do not exist.
  expect(unknown).toBeGreaterThan(0);
  expect(matched).toBeGreaterThan(0);
  expect(matched + unknown).toBe(200);

  await page.getByTestId("create").click();
  const row = page.locator(`tbody tr[data-segment="${name}"]`);
  await expect(row.locator(".status")).toHaveText("Active");
  await expect(row.locator("td.size")).toHaveText(matched.toLocaleString("en-US"));
});

test("a refused upload says why beside the file input", async ({ page }) => {
  await login(page, accounts.operator);
  await page.goto("/segments/new/custom-list");
  await hydrated(page);
  await page.getByLabel("ID file").setInputFiles({ name: "empty.csv", mimeType: "text/csv", buffer: Buffer.from("") });
  await expect(page.locator('.field-error[data-field="file"]')).toHaveText(
    "The file is empty: it needs the header entity_id and one ID per line.",
  );
});
