/**
 * The response headers clients may read, in one place: the generate route sets them, CORS exposes them
 * and the OpenAPI document describes them.
 *
 * @module
 */

/** Headers of a `POST /api/generate` image response, with what each holds. */
export const GENERATE_HEADERS = {
  "x-seed": "the seed used (random when the request gave none)",
  "x-steps": "the number of sampler steps run",
  "x-guidance-mode": "the attention guidance mode applied",
  "x-cfg": "the classifier-free guidance scale applied",
  "x-model": "the model id",
  "x-elapsed-ms": "generation time on the server, in milliseconds",
  "server-timing": "the same time as `generate;dur=MS`",
  "x-unknown-words": "prompt words the model does not know, space-separated and percent-encoded (UTF-8)",
  "x-prompt-truncated": "`1` when the prompt was longer than the model reads and was cut",
} as const;

/** A header of {@linkcode GENERATE_HEADERS}. */
export type GenerateHeader = keyof typeof GENERATE_HEADERS;

/** Every response header a cross-origin page may read: the generate headers and `Retry-After`. */
export const EXPOSED_HEADERS: readonly string[] = [...Object.keys(GENERATE_HEADERS), "retry-after"];
