/**
 * `GET /ws`: generation over a WebSocket with live previews.
 *
 * Client → server: JSON `{type: "generate", id, …}` and `{type: "cancel", id}`.
 * Server → client: JSON events `queued | started | progress | done | cancelled | error` and binary image
 * frames (layout in `protocol.ts`); a job's final frame arrives before its `done` event.
 *
 * @module
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { WSContext } from "hono/ws";
import { upgradeWebSocket } from "hono/deno";
import { encodeImage } from "../sampler/mod.ts";
import { apiError, clientError, type ErrorBody, isAbort } from "./errors.ts";
import { encodeFrame, type Frame } from "./protocol.ts";
import { yieldToEventLoop } from "./_yield.ts";
import { describeIssues, type WsMessage } from "./schemas.ts";
import { readyEngine, type ServerState } from "./state.ts";

/** Intermediate previews are dropped while more than this many bytes wait to be sent. */
export const SLOW_READER_BYTES = 1 << 20;

type Generate = Extract<WsMessage, { type: "generate" }>;

/** Whether the Origin of an upgrade request may open a socket. */
function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowed: readonly string[],
): boolean {
  if (!origin || allowed.includes("*") || allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** The WebSocket app. */
export function wsRoutes(state: ServerState): Hono {
  const app = new Hono();
  const { queue, schemas, config, log } = state;

  app.get(
    "/ws",
    async (c, next) => {
      if (!originAllowed(c.req.header("origin"), c.req.header("host"), config.WS_ORIGINS)) {
        throw apiError({
          code: "forbidden",
          message: `Cannot open a socket from origin ${c.req.header("origin")}`,
        });
      }
      readyEngine(state);
      await next();
    },
    upgradeWebSocket(() => {
      const jobs = new Map<string, AbortController>();
      let socket: WSContext | undefined;
      // A socket may close while its job runs: sends after that are dropped, never thrown into the job.
      const send = (event: Record<string, unknown>) => {
        if (socket?.readyState === 1) socket.send(JSON.stringify(event));
      };
      const sendFrame = (frame: Frame) => {
        if (socket?.readyState === 1) socket.send(encodeFrame(frame));
      };
      const fail = (id: string | null, body: ErrorBody) => send({ type: "error", id, ...body });
      const buffered = () => (socket?.raw as WebSocket | undefined)?.bufferedAmount ?? 0;

      const generate = async (msg: Generate) => {
        const { id, format, size, previews, type: _type, ...request } = msg;
        if (jobs.has(id)) {
          return fail(id, {
            code: "bad_request",
            message: `Cannot start job '${id}' as a job with this id is running on this socket`,
            field: "id",
          });
        }
        if (jobs.size >= config.MAX_JOBS_PER_SOCKET) {
          return fail(id, {
            code: "busy",
            message: `Cannot start job '${id}' as this socket already runs ${jobs.size} jobs (the limit)`,
          });
        }
        const controller = new AbortController();
        jobs.set(id, controller);
        try {
          const engine = readyEngine(state);
          const prepared = engine.prepare(request);
          const gen = await queue.run(
            (signal) =>
              engine.generate(prepared, {
                signal,
                onStep: async (e) => {
                  await yieldToEventLoop();
                  send({
                    type: "progress",
                    id,
                    step: e.step,
                    steps: e.steps,
                    elapsedMs: Math.round(e.elapsedMs),
                  });
                  if (!previews || e.step % previews.every !== 0) return;
                  if (buffered() > SLOW_READER_BYTES) return; // a slow reader loses previews, never the final
                  const image = await encodeImage(await e.render(), {
                    format: previews.format,
                    size: previews.size,
                  });
                  sendFrame({
                    kind: "preview",
                    step: e.step,
                    steps: e.steps,
                    format: previews.format,
                    id,
                    image,
                  });
                },
              }),
            {
              signal: controller.signal,
              onPosition: (position) =>
                position > 0 ? send({ type: "queued", id, position }) : send({
                  type: "started",
                  id,
                  seed: prepared.seed,
                  steps: prepared.steps,
                  model: prepared.model,
                }),
            },
          );
          const image = await encodeImage(gen.image, { format, size });
          sendFrame({ kind: "final", step: gen.steps, steps: gen.steps, format, id, image });
          send({
            type: "done",
            id,
            seed: gen.seed,
            steps: gen.steps,
            mode: gen.mode,
            cfg: gen.cfg,
            elapsedMs: Math.round(gen.elapsedMs),
            ...(gen.unknownWords.length ? { unknownWords: gen.unknownWords } : {}),
          });
        } catch (e) {
          if (controller.signal.aborted) return send({ type: "cancelled", id });
          if (isAbort(e)) return send({ type: "cancelled", id, reason: (e as Error).message });
          if (e instanceof HTTPException) return fail(id, { code: "unavailable", message: e.message });
          const known = clientError(e);
          if (known) {
            return fail(id, { ...known.body, ...(known.retryAfter ? { retryAfter: known.retryAfter } : {}) });
          }
          log("error", `job ${id} failed: ${(e as Error).stack ?? e}`);
          fail(id, { code: "internal", message: `Cannot finish job '${id}': ${(e as Error).message}` });
        } finally {
          jobs.delete(id);
        }
      };

      return {
        onOpen(_event, ws) {
          socket = ws;
          state.sockets.add(ws);
        },
        onMessage(event) {
          const data = event.data;
          if (typeof data !== "string") {
            return fail(null, {
              code: "bad_request",
              message: "Cannot read a binary message: send JSON text",
            });
          }
          // UTF-16 length ≤ UTF-8 bytes ≤ 3 × UTF-16 length: encode only when the limit may be passed.
          const bytes = data.length * 3 > config.MAX_WS_MESSAGE_BYTES
            ? new TextEncoder().encode(data).length
            : data.length;
          if (bytes > config.MAX_WS_MESSAGE_BYTES) {
            return fail(null, {
              code: "too_large",
              message: `Cannot read a message longer than ${config.MAX_WS_MESSAGE_BYTES} bytes: ${bytes}`,
            });
          }
          let json: unknown;
          try {
            json = JSON.parse(data);
          } catch (e) {
            return fail(null, {
              code: "bad_request",
              message: `Cannot read the message as it is not valid JSON: ${(e as Error).message}`,
            });
          }
          const parsed = schemas.WsMessage.safeParse(json);
          if (!parsed.success) {
            const rawId = (json as { id?: unknown } | null)?.id;
            return fail(typeof rawId === "string" ? rawId.slice(0, 64) : null, {
              code: "bad_request",
              ...describeIssues(parsed.error),
            });
          }
          const msg = parsed.data;
          if (msg.type === "cancel") {
            const job = jobs.get(msg.id);
            if (!job) {
              return fail(msg.id, {
                code: "not_found",
                message: `Cannot cancel job '${msg.id}' as no such job runs on this socket`,
                field: "id",
              });
            }
            return job.abort();
          }
          if (state.phase !== "ready") {
            return fail(msg.id, {
              code: "unavailable",
              message: `Cannot generate as the server is ${state.phase}`,
            });
          }
          generate(msg);
        },
        onClose(_event, ws) {
          for (const job of jobs.values()) job.abort();
          state.sockets.delete(ws);
          socket = undefined;
        },
      };
    }),
  );
  return app;
}
