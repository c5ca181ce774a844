/**
 * `GET /api/models`, `POST /api/generate` and `GET /openapi.json`.
 *
 * @module
 */
import { Hono } from "hono";
import { apiError } from "./errors.ts";
import { jobFailure, runJob } from "./jobs.ts";
import { openApiDocument } from "./openapi.ts";
import { describeIssues } from "./schemas.ts";
import { readyEngine, type ServerState } from "./state.ts";
import { MIME } from "./protocol.ts";
import type { GenerateHeader } from "./response_headers.ts";

/**
 * Reads a JSON body within `limit` bytes and `timeoutMs`, as strict UTF-8; stops reading as soon as either
 * is passed, so a client that sends its body slowly cannot hold the request open.
 */
export async function readJson(req: Request, limit: number, timeoutMs = 10_000): Promise<unknown> {
  const tooLarge = (size: string) =>
    apiError({
      code: "too_large",
      message: `Cannot read the body as it is larger than ${limit} bytes: ${size}`,
    });
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) throw tooLarge(String(declared));
  const chunks: Uint8Array[] = [];
  let length = 0;
  // A chunked body declares no length: count while reading, so a large body is never buffered whole.
  const reader = req.body?.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() =>
      reject(apiError({
        code: "timeout",
        message: `Cannot read the body as it took longer than ${timeoutMs} ms: ${length} bytes arrived`,
      })), timeoutMs);
  });
  try {
    while (reader) {
      const { done, value } = await Promise.race([reader.read(), late]);
      if (done) break;
      length += value.length;
      if (length > limit) throw tooLarge(`at least ${length}`);
      chunks.push(value);
    }
  } catch (e) {
    await reader?.cancel().catch(() => {});
    throw e;
  } finally {
    clearTimeout(timer);
  }
  const bytes = new Uint8Array(length);
  chunks.reduce((at, c) => (bytes.set(c, at), at + c.length), 0);
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw apiError({
      code: "bad_request",
      message: `Cannot read the body as it is not valid UTF-8 JSON: ${(e as Error).message}`,
    });
  }
}

/**
 * Refuses a body that is not declared as JSON with 415: a web page can send `text/plain`, form and
 * multipart bodies to any server without asking it first, but not `application/json`.
 */
function requireJson(contentType: string | undefined): void {
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") {
    throw apiError({
      code: "unsupported_media_type",
      message: `Cannot read the body as its Content-Type is not application/json: ${
        contentType === undefined ? "none" : JSON.stringify(contentType.slice(0, 100))
      }`,
    }, { accept: "application/json" });
  }
}

/** Percent-encodes text (as UTF-8) for a header; a lone surrogate becomes U+FFFD instead of throwing. */
function encodeHeaderText(text: string): string {
  return encodeURIComponent(text.toWellFormed());
}

/** The HTTP API app. */
export function apiRoutes(state: ServerState): Hono {
  const app = new Hono();
  const { schemas, config } = state;

  app.get("/api/models", (c) => c.json({ models: readyEngine(state).models() }));
  app.get("/openapi.json", (c) => c.json(openApiDocument(schemas)));

  app.post("/api/generate", async (c) => {
    readyEngine(state);
    requireJson(c.req.header("content-type"));
    const body = await readJson(c.req.raw, config.MAX_BODY_BYTES, config.BODY_TIMEOUT_MS);
    const parsed = schemas.Generate.safeParse(body);
    if (!parsed.success) throw apiError({ code: "bad_request", ...describeIssues(parsed.error, body) });
    try {
      const { generation: gen, image, format } = await runJob(state, parsed.data, {
        signal: c.req.raw.signal,
      });
      const headers: Record<GenerateHeader | "content-type", string | undefined> = {
        "content-type": MIME[format],
        "x-model": gen.model,
        "x-seed": String(gen.seed),
        "x-steps": String(gen.steps),
        "x-guidance-mode": gen.mode,
        "x-cfg": String(gen.cfg),
        "x-elapsed-ms": gen.elapsedMs.toFixed(1),
        "server-timing": `generate;dur=${gen.elapsedMs.toFixed(1)}`,
        "x-unknown-words": gen.unknownWords.length ? encodeHeaderText(gen.unknownWords.join(" ")) : undefined,
        "x-prompt-truncated": gen.truncated ? "1" : undefined,
      };
      const set = Object.entries(headers).filter((h): h is [string, string] => h[1] !== undefined);
      return c.body(image, 200, Object.fromEntries(set));
    } catch (e) {
      const failure = jobFailure(state, e, "the request");
      if (failure.kind === "cancelled") {
        throw apiError({ code: "unavailable", message: `Cannot finish the job: ${failure.reason}` });
      }
      throw apiError(failure.body, failure.retryAfter ? { "retry-after": String(failure.retryAfter) } : {});
    }
  });
  app.all("/api/generate", (c) => {
    throw apiError({
      code: "method_not_allowed",
      message: `Cannot ${c.req.method} /api/generate: use POST with a JSON body`,
    }, { allow: "POST" });
  });
  return app;
}
