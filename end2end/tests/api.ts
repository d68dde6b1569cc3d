import type { Page } from "@playwright/test";
import createClient from "openapi-fetch";
// Generated from the server's OpenAPI document by scripts/test (openapi-typescript).
import type { paths } from "./generated/api";

/**
 * The REST API as a typed client: paths, bodies and answers come from the
 * server's OpenAPI document, so a helper that drifts from the contract stops
 * compiling (scripts/test runs `tsc`). Requests carry the browser's session
 * cookie and its origin, like the console's own same-origin calls.
 */
export function api(page: Page) {
  const origin = new URL(page.url()).origin;
  return createClient<paths>({
    baseUrl: origin,
    fetch: async (request: Request) => {
      const headers = Object.fromEntries(request.headers.entries());
      headers["origin"] = origin;
      const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
      const answer = await page.request.fetch(request.url, { method: request.method, headers, data: body });
      const empty = answer.status() === 204 || answer.status() === 304;
      return new Response(empty ? null : new Uint8Array(await answer.body()), { status: answer.status(), headers: answer.headers() });
    },
  });
}
