/**
 * One socket's bookkeeping without a network: `socketSession()` over a recording peer whose buffered
 * amount the test sets, and an engine stand-in whose steps run only when the test lets them.
 */
import { deepStrictEqual, equal, match, ok } from "@std/assert";
import {
  CLOSE_TOO_BIG,
  createSchemas,
  decodeFrame,
  JobQueue,
  parseConfig,
  type ServerState,
  SLOW_READER_BYTES,
  type SocketPeer,
  socketSession,
} from "../../routes/mod.ts";
import type { Engine } from "../../sampler/mod.ts";
import { heldEngine, PROMPT_ROOM } from "./_held_engine.ts";

/** What the peer was given: JSON events, decoded frames and close calls, in order. */
type Sent =
  | { kind: "json"; json: Record<string, unknown> }
  | { kind: "frame"; frame: ReturnType<typeof decodeFrame> }
  | { kind: "close"; code: number; reason: string };

interface RecordingPeer extends SocketPeer {
  sent: Sent[];
  /** What `bufferedAmount()` answers. */
  buffered: number;
  /** Resolves with the first sent item (before or after the call) that matches. */
  waitFor(match: (s: Sent) => boolean): Promise<Sent>;
}

function recordingPeer(): RecordingPeer {
  const sent: Sent[] = [];
  const waiters: { match: (s: Sent) => boolean; resolve: (s: Sent) => void }[] = [];
  let open = true;
  const push = (s: Sent) => {
    sent.push(s);
    for (const w of [...waiters]) {
      if (w.match(s)) waiters.splice(waiters.indexOf(w), 1), w.resolve(s);
    }
  };
  const peer: RecordingPeer = {
    sent,
    buffered: 0,
    isOpen: () => open,
    send: (data) =>
      push(
        typeof data === "string"
          ? { kind: "json", json: JSON.parse(data) }
          : { kind: "frame", frame: decodeFrame(data) },
      ),
    bufferedAmount: () => peer.buffered,
    close: (code, reason) => {
      open = false;
      push({ kind: "close", code, reason });
    },
    waitFor: (match) => {
      const found = sent.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
  return peer;
}

/** Whether `s` is the JSON event `type` of job `id`. */
const event = (id: string, type: string) => (s: Sent) =>
  s.kind === "json" && s.json.id === id && s.json.type === type;

/** A label per sent item of job `id`: the event type, `preview` / `final`, or `close`. */
function labels(peer: RecordingPeer, id: string): string[] {
  return peer.sent.flatMap((s) =>
    s.kind === "json"
      ? s.json.id === id && s.json.type !== "progress" ? [String(s.json.type)] : []
      : s.kind === "frame"
      ? s.frame.id === id ? [s.frame.kind] : []
      : ["close"]
  );
}

function serverState(engine: Engine, env: Record<string, string> = {}): ServerState {
  const config = parseConfig({ QUEUE_SIZE: "16", ...env });
  return {
    config,
    engine,
    queue: new JobQueue(config.CONCURRENCY, config.QUEUE_SIZE),
    schemas: createSchemas({ maxPromptChars: config.MAX_PROMPT_CHARS, maxImageSize: config.MAX_IMAGE_SIZE }),
    sockets: new Set(),
    phase: "ready",
    startup: {},
    log: () => {},
  };
}

Deno.test("a socket at MAX_JOBS_PER_SOCKET gets busy for one more job while another socket still starts one", async () => {
  const held = heldEngine();
  const state = serverState(held.engine, { MAX_JOBS_PER_SOCKET: "2", CONCURRENCY: "4" });
  const peer = recordingPeer(), other = recordingPeer();
  const session = socketSession(state, peer), otherSession = socketSession(state, other);
  for (const id of ["a", "b", "c"]) {
    session.onMessage(JSON.stringify({ type: "generate", id, prompt: "x", previews: false }));
  }
  const refused = await peer.waitFor(event("c", "error"));
  equal(refused.kind === "json" && refused.json.code, "busy");
  match(String(refused.kind === "json" && refused.json.message), /this socket already runs 2 jobs/);
  deepStrictEqual(session.jobs(), ["a", "b"]);
  otherSession.onMessage(JSON.stringify({ type: "generate", id: "d", prompt: "x", previews: false }));
  await other.waitFor(event("d", "started"));
  await held.held(3);
  equal(state.queue.running, 3, "the refused job never reached the queue");
  held.releaseAll();
  for (const id of ["a", "b"]) await peer.waitFor(event(id, "done"));
  await other.waitFor(event("d", "done"));
  deepStrictEqual(session.jobs(), []);
  session.onMessage(JSON.stringify({ type: "generate", id: "c", prompt: "x", previews: false }));
  await peer.waitFor(event("c", "done"));
});

Deno.test("a slow reader (over 1 MiB buffered) loses previews, never the final frame", async () => {
  const held = heldEngine();
  held.releaseAll();
  const peer = recordingPeer();
  const session = socketSession(serverState(held.engine), peer);
  peer.buffered = SLOW_READER_BYTES + 1;
  session.onMessage(JSON.stringify({ type: "generate", id: "slow", prompt: "x", steps: 3 }));
  await peer.waitFor(event("slow", "done"));
  deepStrictEqual(labels(peer, "slow"), ["queued", "started", "final", "done"]);

  peer.buffered = SLOW_READER_BYTES;
  session.onMessage(JSON.stringify({ type: "generate", id: "fast", prompt: "x", steps: 3 }));
  await peer.waitFor(event("fast", "done"));
  deepStrictEqual(labels(peer, "fast"), [
    "queued",
    "started",
    "preview",
    "preview",
    "final",
    "done",
  ]);
  const progress = peer.sent.filter((s) =>
    s.kind === "json" && s.json.id === "slow" && s.json.type === "progress"
  );
  equal(progress.length, 3, "progress events are sent to a slow reader all the same");
});

Deno.test("a message over MAX_WS_MESSAGE_BYTES gets too_large and closes the socket with 1009", async (t) => {
  const limit = 1024;
  for (
    const [what, message] of [
      ["text", JSON.stringify({ type: "generate", id: "big", prompt: "x".repeat(limit) })],
      [
        "text of multi-byte characters",
        JSON.stringify({ type: "generate", id: "big", prompt: "é".repeat(limit / 2) }),
      ],
      ["binary", new Uint8Array(limit + 1).buffer],
    ] as const
  ) {
    await t.step(what, () => {
      const peer = recordingPeer();
      const session = socketSession(
        serverState(heldEngine().engine, { MAX_WS_MESSAGE_BYTES: String(limit) }),
        peer,
      );
      session.onMessage(message);
      session.onMessage(JSON.stringify({ type: "generate", id: "after", prompt: "x" }));
      equal(peer.sent.length, 2, JSON.stringify(peer.sent));
      const [error, close] = peer.sent;
      deepStrictEqual(error.kind === "json" && [error.json.type, error.json.code], ["error", "too_large"]);
      deepStrictEqual(close, { kind: "close", code: CLOSE_TOO_BIG, reason: `message over ${limit} bytes` });
      equal(CLOSE_TOO_BIG, 1009);
      deepStrictEqual(session.jobs(), [], "nothing sent after the big message is read");
    });
  }
  await t.step("a message at the limit is read", async () => {
    const peer = recordingPeer();
    const held = heldEngine();
    held.releaseAll();
    const env = { MAX_WS_MESSAGE_BYTES: String(limit), MAX_PROMPT_CHARS: String(limit) };
    const session = socketSession(serverState(held.engine, env), peer);
    const base = JSON.stringify({ type: "generate", id: "fits", prompt: "", previews: false });
    session.onMessage(
      JSON.stringify({
        type: "generate",
        id: "fits",
        prompt: "x".repeat(limit - base.length),
        previews: false,
      }),
    );
    await peer.waitFor(event("fits", "done"));
    ok(!peer.sent.some((s) => s.kind === "close"));
  });
});

Deno.test("a job id holding a lone surrogate is refused with 400 naming the id", () => {
  const peer = recordingPeer();
  socketSession(serverState(heldEngine().engine), peer).onMessage(
    JSON.stringify({ type: "generate", id: "a\ud800", prompt: "x" }),
  );
  const [sent] = peer.sent;
  deepStrictEqual(sent.kind === "json" && [sent.json.type, sent.json.code, sent.json.field], [
    "error",
    "bad_request",
    "id",
  ]);
});

Deno.test("done says truncated when the model cut the prompt", async () => {
  const held = heldEngine();
  held.releaseAll();
  const peer = recordingPeer();
  const session = socketSession(serverState(held.engine), peer);
  session.onMessage(JSON.stringify({ type: "generate", id: "long", prompt: "x".repeat(PROMPT_ROOM + 1) }));
  session.onMessage(JSON.stringify({ type: "generate", id: "short", prompt: "x" }));
  const long = await peer.waitFor(event("long", "done")), short = await peer.waitFor(event("short", "done"));
  equal(long.kind === "json" && long.json.truncated, true);
  equal(short.kind === "json" && "truncated" in short.json, false);
});
