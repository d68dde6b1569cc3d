// Takes full-page screenshots of the console for a visual check:
//   node tools/screenshots.mjs http://127.0.0.1:3107 out-dir user:password /path [/path ...]
import { chromium } from "@playwright/test";

const [base, outDir, credentials, ...paths] = process.argv.slice(2);
const [username, password] = credentials.split(":");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
});
const page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
await page.goto(`${base}/login`);
await page.screenshot({ path: `${outDir}/login.png` });
await page.getByLabel("Username").fill(username);
await page.getByLabel("Password").fill(password);
await page.getByRole("button", { name: "Sign in" }).click();
await page.waitForURL((url) => !url.pathname.startsWith("/login"));
for (const path of paths) {
  await page.goto(`${base}${path}`);
  await page.waitForSelector("body[data-hydrated=true]");
  await page.waitForTimeout(500);
  const name = path.replace(/^\//, "").replace(/[^a-z0-9]+/gi, "-") || "root";
  await page.screenshot({ path: `${outDir}/${name}.png`, fullPage: true });
}
await browser.close();
