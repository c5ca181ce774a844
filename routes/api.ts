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

/** Reads a JSON body within `limit` bytes, as strict UTF-8; stops reading as soon as the limit is passed. */
export async function readJson(req: Request, limit: number): Promise<unknown> {
  const tooLarge = (size: string) =>
    apiError({
      code: "too_large",
      message: `Cannot read the body as it is larger than ${limit} bytes: ${size}`,
    });
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) throw tooLarge(String(declared));
  const chunks: Uint8Array[] = [];
  let length = 0;
  // A chunked body declares no length: count while reading (leaving the loop cancels the stream), so a
  // large body is never buffered whole.
  for await (const chunk of req.body ?? []) {
    length += chunk.length;
    if (length > limit) throw tooLarge(`at least ${length}`);
    chunks.push(chunk);
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

/** The HTTP API app. */
export function apiRoutes(state: ServerState): Hono {
  const app = new Hono();
  const { schemas, config } = state;

  app.get("/api/models", (c) => c.json({ models: readyEngine(state).models() }));
  app.get("/openapi.json", (c) => c.json(openApiDocument(schemas)));

  app.post("/api/generate", async (c) => {
    readyEngine(state);
    const parsed = schemas.Generate.safeParse(await readJson(c.req.raw, config.MAX_BODY_BYTES));
    if (!parsed.success) throw apiError({ code: "bad_request", ...describeIssues(parsed.error) });
    try {
      const { generation: gen, image, format } = await runJob(state, parsed.data, {
        signal: c.req.raw.signal,
      });
      const headers: Record<string, string> = {
        "content-type": MIME[format],
        "x-model": gen.model,
        "x-seed": String(gen.seed),
        "x-steps": String(gen.steps),
        "x-guidance-mode": gen.mode,
        "x-cfg": String(gen.cfg),
        "x-elapsed-ms": gen.elapsedMs.toFixed(1),
        "server-timing": `generate;dur=${gen.elapsedMs.toFixed(1)}`,
      };
      if (gen.unknownWords.length) {
        headers["x-unknown-words"] = encodeURIComponent(gen.unknownWords.join(" "));
      }
      return c.body(image, 200, headers);
    } catch (e) {
      const failure = jobFailure(state, e, "the request");
      if (failure.kind === "cancelled") {
        throw apiError({ code: "unavailable", message: `Cannot finish the job: ${failure.reason}` });
      }
      throw apiError(failure.body, failure.retryAfter ? { "retry-after": String(failure.retryAfter) } : {});
    }
  });
  return app;
}
