/**
 * The error body every route answers with: `{error: {code, message, field?, issues?}}`.
 *
 * @module
 */
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { EngineError } from "../sampler/mod.ts";
import { BusyError } from "./queue.ts";

/** Error codes clients see, with their HTTP statuses. */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  timeout: 408,
  too_large: 413,
  unsupported_media_type: 415,
  busy: 429,
  internal: 500,
  unavailable: 503,
} as const;

/** A client-facing error code. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** The body of an error. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  field?: string;
  issues?: { field: string; message: string }[];
}

/** An HTTP error whose response carries the JSON error body (and Retry-After for `busy`). */
export function apiError(body: ErrorBody, headers: Record<string, string> = {}): HTTPException {
  const res = new Response(JSON.stringify({ error: body }), {
    status: ERROR_STATUS[body.code] as ContentfulStatusCode,
    headers: { "content-type": "application/json", ...headers },
  });
  return new HTTPException(ERROR_STATUS[body.code] as ContentfulStatusCode, { res, message: body.message });
}

/** Maps an error from the engine or queue to the client error body, or undefined for an internal error. */
export function clientError(e: unknown): { body: ErrorBody; retryAfter?: number } | undefined {
  if (e instanceof EngineError) {
    return {
      body: { code: e.code === "internal" ? "internal" : e.code, message: e.message, field: e.field },
    };
  }
  if (e instanceof BusyError) {
    return { body: { code: "busy", message: e.message }, retryAfter: e.retryAfterSeconds };
  }
  return undefined;
}

/**
 * A message with the server's absolute paths made relative to the given roots (or cut to their last
 * segment), so error bodies do not tell clients where the server keeps its files.
 *
 * @example
 * ```ts
 * redactPaths("Cannot load /srv/models/digits/denoiser.onnx", ["/srv/models"]); // "Cannot load digits/denoiser.onnx"
 * ```
 */
export function redactPaths(message: string, roots: readonly string[] = []): string {
  let out = message;
  for (const root of roots) {
    const trimmed = root.replace(/\/+$/, "");
    if (trimmed.length > 1) out = out.replaceAll(`${trimmed}/`, "").replaceAll(trimmed, ".");
  }
  return out.replace(
    /(^|[\s'"(=])((?:\/[^\s'"():,/]+){2,})/g,
    (_, before: string, path: string) => before + path.slice(path.lastIndexOf("/") + 1),
  );
}

/** Whether an error is a cancellation. */
export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === "AbortError";
}
