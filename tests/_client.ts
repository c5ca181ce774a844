/**
 * Clients for end-to-end tests: a recording WebSocket, a Prometheus text parser and `/metrics` reads.
 *
 * @module
 */
import { decodeFrame, type Frame } from "../routes/protocol.ts";

/** A JSON event from the server. */
export interface ServerEvent {
  type: string;
  id?: string | null;
  code?: string;
  message?: string;
  field?: string;
  position?: number;
  seed?: number;
  steps?: number;
  step?: number;
  retryAfter?: number;
  [name: string]: unknown;
}

/** One message the server sent: a JSON event or a decoded binary frame. */
export type Received = { kind: "json"; json: ServerEvent } | { kind: "frame"; frame: Frame };

/** The id a received message belongs to. */
export function idOf(r: Received): string | null | undefined {
  return r.kind === "json" ? r.json.id : r.frame.id;
}

/** A short label of a message for assertions: the event type, or `preview` / `final`. */
export function label(r: Received): string {
  return r.kind === "json" ? r.json.type : r.frame.kind;
}

/** The JSON event of a message; throws for a frame. */
export function json(r: Received | undefined): ServerEvent {
  if (r?.kind !== "json") throw new Error(`Expected a JSON event, got ${r ? label(r) : "nothing"}`);
  return r.json;
}

/** The frame of a message; throws for a JSON event or nothing. */
export function frame(r: Received | undefined): Frame {
  if (r?.kind !== "frame") throw new Error(`Expected a frame, got ${r ? label(r) : "nothing"}`);
  return r.frame;
}

/** A WebSocket that records everything the server sends, in order. */
export interface TestSocket {
  ws: WebSocket;
  /** Every message received so far. */
  received: Received[];
  /** Resolves with the close event. */
  closed: Promise<CloseEvent>;
  /** Sends an object as JSON, or raw text / bytes as they are. */
  send(message: unknown): void;
  /** The next message not yet returned by `read()`, waiting up to `timeoutMs`. */
  read(timeoutMs?: number): Promise<Received>;
  /** The first message (received before or after the call) that matches, waiting up to `timeoutMs`. */
  waitFor(match: (r: Received) => boolean, timeoutMs?: number): Promise<Received>;
  /** Every message of job `id` up to and including its `done`, `cancelled` or `error` event. */
  job(id: string, timeoutMs?: number): Promise<Received[]>;
  close(code?: number, reason?: string): Promise<CloseEvent>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Whether a message ends a job. */
export function isTerminal(r: Received): boolean {
  return r.kind === "json" && ["done", "cancelled", "error"].includes(r.json.type);
}

/**
 * Opens a socket and waits until it is open; rejects when the server refuses the upgrade.
 *
 * @param url `ws://…/ws`, with `?token=` where needed
 */
export async function openSocket(url: string, { timeoutMs = 10_000 } = {}): Promise<TestSocket> {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const received: Received[] = [];
  let cursor = 0;
  const waiters = new Set<() => void>();
  const closed = Promise.withResolvers<CloseEvent>();
  ws.onmessage = (e) => {
    received.push(
      typeof e.data === "string"
        ? { kind: "json", json: JSON.parse(e.data) }
        : { kind: "frame", frame: decodeFrame(new Uint8Array(e.data as ArrayBuffer)) },
    );
    for (const w of [...waiters]) w();
  };
  let isClosed = false;
  ws.onclose = (e) => {
    isClosed = true;
    closed.resolve(e);
    for (const w of [...waiters]) w();
  };
  const opened = Promise.withResolvers<void>();
  ws.onopen = () => opened.resolve();
  ws.onerror = () => opened.reject(new Error(`Cannot open a socket to ${url}`));
  const timer = setTimeout(() => opened.reject(new Error(`Socket to ${url} did not open`)), timeoutMs);
  try {
    await opened.promise;
  } finally {
    clearTimeout(timer);
  }

  /** Resolves when `check` returns a value, re-checking on every message. */
  const until = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(tryNow);
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; received ${summary()}`));
      }, timeoutMs);
      const tryNow = () => {
        const value = check();
        if (value !== undefined) {
          waiters.delete(tryNow);
          clearTimeout(timer);
          resolve(value);
        } else if (isClosed) {
          waiters.delete(tryNow);
          clearTimeout(timer);
          reject(new Error(`The socket closed while waiting for ${what}; received ${summary()}`));
        }
      };
      waiters.add(tryNow);
      tryNow();
    });
  const summary = () => received.slice(-12).map((r) => `${label(r)}:${idOf(r)}`).join(", ");
  const close = async (code?: number, reason?: string) => {
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close(code, reason);
    return await closed.promise;
  };
  return {
    ws,
    received,
    closed: closed.promise,
    send(message) {
      ws.send(
        typeof message === "string" || message instanceof Uint8Array
          ? message as string | Uint8Array<ArrayBuffer>
          : JSON.stringify(message),
      );
    },
    read: (timeoutMs = 30_000) => until(() => received[cursor] && received[cursor++], timeoutMs, "a message"),
    waitFor: (match, timeoutMs = 30_000) =>
      until(() => received.find(match), timeoutMs, "a matching message"),
    async job(id, timeoutMs = 60_000) {
      await until(
        () => received.find((r) => idOf(r) === id && isTerminal(r)),
        timeoutMs,
        `job '${id}' to end`,
      );
      const mine = received.filter((r) => idOf(r) === id);
      return mine.slice(0, mine.findIndex(isTerminal) + 1);
    },
    close,
    [Symbol.asyncDispose]: async () => void await close(),
  };
}

/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: the samples and each family's declared type. */
export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  /** The value of a sample by name and (exactly matching) labels; throws when it is absent. */
  value(name: string, labels?: Record<string, string>): number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)(?: (-?\d+))?$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(?:,|$)/;
const TYPES = ["counter", "gauge", "histogram", "summary", "untyped"];

/**
 * Parses the Prometheus text format (0.0.4) strictly: every line must be a comment, a HELP / TYPE line
 * or a sample of a family whose TYPE came first; values are floats or ±Inf / NaN.
 */
export function parsePrometheus(text: string): Exposition {
  if (!text.endsWith("\n")) {
    throw new SyntaxError("Cannot parse metrics as the text does not end in a newline");
  }
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  text.slice(0, -1).split("\n").forEach((line, i) => {
    const where = `line ${i + 1} ('${line}')`;
    if (line === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      if (!NAME.test(m[2])) throw new SyntaxError(`Cannot parse metrics: bad metric name on ${where}`);
      if (m[1] === "TYPE") {
        if (!TYPES.includes(m[3])) throw new SyntaxError(`Cannot parse metrics: unknown type on ${where}`);
        if (types.has(m[2])) throw new SyntaxError(`Cannot parse metrics: second TYPE on ${where}`);
        types.set(m[2], m[3]);
      }
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new SyntaxError(`Cannot parse metrics: not a sample on ${where}`);
    const [, name, labelText = "", valueText] = m;
    const labels: Record<string, string> = {};
    for (let rest = labelText; rest.length;) {
      const l = LABEL.exec(rest);
      if (!l) throw new SyntaxError(`Cannot parse metrics: bad labels on ${where}`);
      labels[l[1]] = l[2].replace(/\\(["\\n])/g, (_, c) => (c === "n" ? "\n" : c));
      rest = rest.slice(l[0].length);
    }
    const value = valueText === "+Inf" ? Infinity : valueText === "-Inf" ? -Infinity : Number(valueText);
    if (Number.isNaN(value) && valueText !== "NaN") {
      throw new SyntaxError(`Cannot parse metrics: bad value on ${where}`);
    }
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
    const type = types.get(family);
    if (!type) throw new SyntaxError(`Cannot parse metrics: sample before its TYPE on ${where}`);
    if (family !== name && !["histogram", "summary"].includes(type)) {
      throw new SyntaxError(`Cannot parse metrics: suffixed sample of a ${type} on ${where}`);
    }
    samples.push({ name, labels, value });
  });
  return {
    samples,
    types,
    value(name, labels = {}) {
      const key = JSON.stringify(Object.entries(labels).sort());
      const s = samples.find((s) =>
        s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === key
      );
      if (!s) throw new Error(`Cannot find metric ${name}${JSON.stringify(labels)}`);
      return s.value;
    },
  };
}

/** Reads and parses `GET /metrics`. */
export async function readMetrics(url: string, headers: HeadersInit = {}): Promise<Exposition> {
  const res = await fetch(`${url}/metrics`, { headers });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}: ${text}`);
  return parsePrometheus(text);
}

/** Polls `/metrics` until `check` passes (returns true), or throws with the last values after `timeoutMs`. */
export async function waitForMetrics(
  url: string,
  check: (m: Exposition) => boolean,
  { timeoutMs = 30_000, headers = {} }: { timeoutMs?: number; headers?: HeadersInit } = {},
): Promise<Exposition> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await readMetrics(url, headers);
    if (check(m)) return m;
    if (Date.now() > deadline) {
      const gauges = m.samples.filter((s) => s.name.startsWith("gag_")).map((s) =>
        `${s.name}${JSON.stringify(s.labels)}=${s.value}`
      );
      throw new Error(`Metrics did not reach the expected state within ${timeoutMs} ms: ${gauges.join(" ")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Posts a JSON (or raw) body to `/api/generate`. */
export function postGenerate(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${url}/api/generate`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" || body instanceof Uint8Array
      ? body as string | Uint8Array<ArrayBuffer>
      : JSON.stringify(body),
  });
}
