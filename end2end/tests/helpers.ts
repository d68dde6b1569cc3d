import { expect, Page } from "@playwright/test";
import { api } from "./api";

// The demo accounts created by `server serve --demo` (see README).
export const accounts = {
  admin: { username: "admin", password: "admin-demo-1" },
  operator: { username: "operator", password: "operator-demo-1" },
  merchant: { username: "merchant", password: "merchant-demo-1" },
  store: { username: "store", password: "store-demo-1" },
};

/** Waits until the WASM client has hydrated the page, so clicks are handled. */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
}

export async function login(page: Page, account: { username: string; password: string }) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Username").fill(account.username);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/segments$/);
  await hydrated(page);
  await expect(page.getByTestId("current-user")).toHaveText(account.username);
}

export function uniqueName(prefix: string) {
  return `${prefix} ${Date.now().toString(36)}`;
}

/** The segment list's row of the segment named `name`. */
export function row(page: Page, name: string) {
  return page.locator(`tbody tr[data-segment="${name}"]`);
}

/** Creates a one-time tag-filter segment (`tag` in `values`) through the API with the browser's session; answers its ID. */
export async function createTagSegment(page: Page, name: string, tag: string, values: string[]): Promise<number> {
  const { data, response } = await api(page).POST("/api/v1/segments", {
    body: {
      name, target_object: "user", update_frequency: "one_time", usage_scenarios: ["message_ad_delivery"],
      time_zone: "Asia/Shanghai", expires_at: "2030-06-30 23:59",
      definition: {
        method: "tag_filter",
        rule: { groups: [{ conditions: [{ type: "profile", tag, date: { mode: "latest" }, op: "in", values }] }] },
      },
    },
  });
  expect(response.status).toBe(202);
  return data!.id;
}
