/**
 * Optional bearer-token auth for HTTP and WebSocket requests.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { apiError } from "./errors.ts";

function equal(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * Requires `Authorization: Bearer <token>` (or `?token=` for WebSockets, which browsers cannot give
 * headers) when `token` is set; passes everything when it is not.
 */
export function bearerAuth(token: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (!token) return await next();
    const header = c.req.header("authorization") ?? "";
    const given = header.startsWith("Bearer ") ? header.slice(7) : c.req.query("token") ?? "";
    if (!given || !equal(given, token)) {
      throw apiError({
        code: "unauthorized",
        message: given
          ? "Cannot authorize as the token is wrong"
          : "Cannot authorize as no bearer token was given",
      }, {
        "www-authenticate": "Bearer",
      });
    }
    await next();
  };
}
