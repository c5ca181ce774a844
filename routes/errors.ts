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
  too_large: 413,
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

/** Whether an error is a cancellation. */
export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === "AbortError";
}
