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

/** Options of {@linkcode bearerAuth}. */
export interface BearerAuthOptions {
  /**
   * Also accept `?token=`: only for WebSockets, which browsers cannot give headers. Elsewhere the token
   * would end up in URLs and logs.
   */
  allowQuery?: boolean;
}

/**
 * Requires `Authorization: Bearer <token>` (the scheme in any case) when `token` is set, or `?token=`
 * where `allowQuery` is on; passes everything when no token is set.
 */
export function bearerAuth(
  token: string | undefined,
  { allowQuery = false }: BearerAuthOptions = {},
): MiddlewareHandler {
  return async (c, next) => {
    if (!token) return await next();
    const scheme = (c.req.header("authorization") ?? "").match(/^bearer[ \t]+(\S.*)$/i);
    const given = scheme?.[1].trim() ?? (allowQuery ? c.req.query("token") ?? "" : "");
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
