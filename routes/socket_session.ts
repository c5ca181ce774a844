/**
 * The bookkeeping of one `/ws` socket: reading client messages, the jobs it runs, and turning each job's
 * progress into JSON events and binary frames. The job itself runs through `jobs.ts`, like an HTTP one.
 *
 * @module
 */
import type { ErrorBody } from "./errors.ts";
import { jobFailure, runJob } from "./jobs.ts";
import { encodeFrame, type Frame } from "./protocol.ts";
import { describeIssues, type WsMessage } from "./schemas.ts";
import type { ServerState } from "./state.ts";

/** Intermediate previews are dropped while more than this many bytes wait to be sent. */
export const SLOW_READER_BYTES = 1 << 20;

/** The socket a session talks to: the WebSocket itself, or a stand-in in tests. */
export interface SocketPeer {
  /** Whether messages can still be sent. */
  isOpen(): boolean;
  send(data: string | Uint8Array<ArrayBuffer>): void;
  /** Bytes given to `send` and not yet written to the network. */
  bufferedAmount(): number;
  close(code: number, reason: string): void;
}

/** The close code for a message over the size limit (RFC 6455 "message too big"). */
export const CLOSE_TOO_BIG = 1009;

/** What the transport calls on a session. */
export interface SocketSession {
  /** Handles one client message (text or binary, as received). */
  onMessage(data: unknown): void;
  /** Cancels the socket's jobs. */
  onClose(): void;
  /** Ids of the jobs running or waiting on this socket. */
  jobs(): string[];
}

type Generate = Extract<WsMessage, { type: "generate" }>;

/**
 * The size of a message in bytes (UTF-8 for text), counted only as far as needed to compare it with
 * `limit`: text longer than `limit` UTF-16 units is over it without encoding a copy.
 */
function messageBytes(data: unknown, limit: number): number {
  if (typeof data === "string") {
    // UTF-16 length ≤ UTF-8 bytes ≤ 3 × UTF-16 length.
    if (data.length > limit || data.length * 3 <= limit) return data.length;
    return new TextEncoder().encode(data).length;
  }
  if (data instanceof Blob) return data.size;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

/** Starts the bookkeeping of one open socket. */
export function socketSession(state: ServerState, peer: SocketPeer): SocketSession {
  const { schemas, config } = state;
  const jobs = new Map<string, AbortController>();
  // A socket may close while its job runs: sends after that are dropped, never thrown into the job.
  const send = (event: Record<string, unknown>) => {
    if (peer.isOpen()) peer.send(JSON.stringify(event));
  };
  const sendFrame = (frame: Frame) => {
    if (peer.isOpen()) peer.send(encodeFrame(frame));
  };
  const fail = (id: string | null, body: ErrorBody) => send({ type: "error", id, ...body });

  const generate = async (msg: Generate) => {
    const { id, previews, type: _type, ...body } = msg;
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
      const { generation: gen, image, format } = await runJob(state, body, {
        signal: controller.signal,
        onPosition: (position, job) =>
          send(
            position > 0
              ? { type: "queued", id, position }
              : { type: "started", id, seed: job.seed, steps: job.steps, model: job.model },
          ),
        onStep: (e) =>
          send({ type: "progress", id, step: e.step, steps: e.steps, elapsedMs: Math.round(e.elapsedMs) }),
        previews: previews || undefined,
        // A slow reader loses previews, never the final.
        skipPreview: () => peer.bufferedAmount() > SLOW_READER_BYTES,
        onPreview: (p) => sendFrame({ kind: "preview", id, ...p }),
      });
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
        ...(gen.truncated ? { truncated: true } : {}),
      });
    } catch (e) {
      if (controller.signal.aborted) return send({ type: "cancelled", id });
      const failure = jobFailure(state, e, `job '${id}'`);
      if (failure.kind === "cancelled") return send({ type: "cancelled", id, reason: failure.reason });
      fail(id, { ...failure.body, ...(failure.retryAfter ? { retryAfter: failure.retryAfter } : {}) });
    } finally {
      jobs.delete(id);
    }
  };

  let closing = false;
  const onMessage = (data: unknown) => {
    if (closing) return;
    // The transport has the whole message in memory by now: close at once so the client cannot repeat it.
    const bytes = messageBytes(data, config.MAX_WS_MESSAGE_BYTES);
    if (bytes > config.MAX_WS_MESSAGE_BYTES) {
      fail(null, {
        code: "too_large",
        message: `Cannot read a message longer than ${config.MAX_WS_MESSAGE_BYTES} bytes: ${bytes}`,
      });
      closing = true;
      return peer.close(CLOSE_TOO_BIG, `message over ${config.MAX_WS_MESSAGE_BYTES} bytes`);
    }
    if (typeof data !== "string") {
      return fail(null, { code: "bad_request", message: "Cannot read a binary message: send JSON text" });
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
        ...describeIssues(parsed.error, json),
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
  };

  return {
    onMessage,
    onClose: () => {
      closing = true;
      for (const job of jobs.values()) job.abort();
    },
    jobs: () => [...jobs.keys()],
  };
}
