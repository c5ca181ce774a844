/**
 * The error the engine raises for a request it cannot serve.
 *
 * @module
 */

/** Error codes the engine raises for a request, mapped to HTTP statuses by routes/. */
export type EngineErrorCode = "bad_request" | "not_found" | "internal";

/** A request the engine cannot serve, naming the field at fault where there is one. */
export class EngineError extends Error {
  override name = "EngineError";
  /** What kind of failure it is. */
  readonly code: EngineErrorCode;
  /** The request field at fault (`steps`, `guidance.eta`, …). */
  readonly field?: string;
  // Plain fields rather than parameter properties, so type-stripping alone turns this file into JavaScript.
  constructor(code: EngineErrorCode, message: string, field?: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}
