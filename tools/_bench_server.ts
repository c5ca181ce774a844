/**
 * The real server under `deno task bench` and `tools/load.ts`: started through `server_launcher.ts`, driven
 * over HTTP and WebSocket from this process.
 *
 * @module
 */

import { startServer as launch, type StartupStages } from "./server_launcher.ts";

export type { StartupStages };

/** A started server, as the bench reads it. */
export interface BenchServer {
  url: string;
  pid: number;
  /** When the process was spawned (performance.now()). */
  spawnedAt: number;
  /** When it printed its listening line. */
  listeningAt: number;
  /** Resolves when the server logs `ready in …`, with the stages it logged. */
  ready: Promise<StartupStages>;
  output(): string;
  close(): Promise<void>;
}

/**
 * Starts the server through the project's launcher with `env` added and returns once it listens. Unlike the
 * tests, the bench lets the server choose its backend (`BACKEND=auto`) unless `env` names one.
 */
export async function startServer(
  env: Record<string, string> = {},
  timeoutMs = 180_000,
): Promise<BenchServer> {
  const server = await launch({
    env: { BACKEND: "auto", ...env },
    readyTimeoutMs: timeoutMs,
    listenOnly: true,
  });
  return {
    url: server.url,
    pid: server.pid,
    spawnedAt: server.spawnedAt,
    listeningAt: server.listeningAt,
    ready: server.startup,
    output: server.output,
    close: server.close,
  };
}

/** Polls `/healthz` until it answers 200; returns its body. */
export async function waitHealthy(url: string, timeoutMs = 180_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/healthz`);
      const body = await res.json();
      if (res.ok) return body;
    } catch {
      // Not answering yet.
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`Cannot reach a healthy server at ${url} within ${timeoutMs} ms`);
}

/** `process_resident_memory_bytes` from `/metrics`. */
export async function residentBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = text.match(/^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+?\d+)?)$/m);
  if (!m) throw new Error(`Cannot read resident memory as /metrics has no process_resident_memory_bytes`);
  return Number(m[1]);
}

/** Peak resident memory (VmHWM) of a process from /proc, in bytes, or NaN where /proc is missing. */
export async function peakResidentBytes(pid: number): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const kb = status.match(/^VmHWM:\s+(\d+) kB$/m);
    return kb ? Number(kb[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** A generation request body (HTTP) or message fields (WS). */
export type GenerateBody = Record<string, unknown>;

/** POSTs `/api/generate` and reads the whole image; returns the client-side time in ms. */
export async function httpGenerate(url: string, body: GenerateBody): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/api/generate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const bytes = await res.arrayBuffer();
  if (!res.ok) throw new Error(`Cannot generate over HTTP: ${res.status} ${new TextDecoder().decode(bytes)}`);
  return performance.now() - t0;
}

/** What one WS job took, as the client saw it (ms from sending the request). */
export interface WsTiming {
  firstPreviewMs: number;
  finalMs: number;
  /** The server's own generation time from the `done` event. */
  serverMs: number;
  previews: number;
}

/** A WebSocket client that runs one job at a time. */
export interface WsClient {
  generate(body: GenerateBody): Promise<WsTiming>;
  close(): void;
}

/** Opens `/ws`. */
export async function openWs(url: string): Promise<WsClient> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws`);
  ws.binaryType = "arraybuffer";
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`Cannot open a socket to ${url}/ws`));
  });
  let seq = 0;
  return {
    generate(body) {
      const id = `b${seq++}`;
      const t0 = performance.now();
      const timing: WsTiming = { firstPreviewMs: NaN, finalMs: NaN, serverMs: NaN, previews: 0 };
      return new Promise<WsTiming>((resolve, reject) => {
        ws.onmessage = (e) => {
          if (typeof e.data !== "string") {
            const bytes = new Uint8Array(e.data as ArrayBuffer);
            // Byte 1 is the frame kind: 1 preview, 2 final (routes/protocol.ts).
            if (bytes[1] === 1) {
              if (!timing.previews++) timing.firstPreviewMs = performance.now() - t0;
            } else if (bytes[1] === 2) timing.finalMs = performance.now() - t0;
            return;
          }
          const msg = JSON.parse(e.data) as {
            type: string;
            id?: string;
            elapsedMs?: number;
            message?: string;
          };
          if (msg.id !== id) return;
          if (msg.type === "done") {
            timing.serverMs = msg.elapsedMs ?? NaN;
            resolve(timing);
          } else if (msg.type === "error" || msg.type === "cancelled") {
            reject(new Error(`Cannot generate over WS: ${msg.type} ${msg.message ?? ""}`));
          }
        };
        ws.onclose = () => reject(new Error("The socket closed during a job"));
        ws.send(JSON.stringify({ type: "generate", id, ...body }));
      });
    },
    close: () => ws.close(),
  };
}
