import { expect, Page } from "@playwright/test";

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
