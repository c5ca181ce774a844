/** Error codes the engine raises for a request, mapped to HTTP statuses by routes/. */
export type EngineErrorCode = "bad_request" | "not_found" | "internal";

/** A request the engine cannot serve, naming the field at fault where there is one. */
export class EngineError extends Error {
  override name = "EngineError";
  constructor(readonly code: EngineErrorCode, message: string, readonly field?: string) {
    super(message);
  }
}
