/**
 * The real server under `deno task bench`: started as `deno run -A main.ts` on port 0, driven over HTTP and
 * WebSocket from this process.
 *
 * @module
 */

import { drainLines } from "./_child_output.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Startup stages the server logs in `ready in N ms ({...})`. */
export interface StartupStages {
  imports?: number;
  models?: number;
  warmup?: number;
  total?: number;
}

/** A started server. */
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

/** Starts `deno run -A main.ts` with `env` added (PORT=0 and HOST=127.0.0.1 are set). */
export async function startServer(
  env: Record<string, string> = {},
  timeoutMs = 180_000,
): Promise<BenchServer> {
  const spawnedAt = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    cwd: ROOT,
    env: {
      PORT: "0",
      HOST: "127.0.0.1",
      NO_PROXY: "127.0.0.1,localhost",
      no_proxy: "127.0.0.1,localhost",
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const listening = Promise.withResolvers<string>();
  const ready = Promise.withResolvers<StartupStages>();
  const onLine = (line: string) => {
    const l = line.match(/Listening on (https?:\/\/[^/\s]+)\/?/);
    if (l) listening.resolve(l[1]);
    const r = line.match(/ready in \d+ ms \((\{.*\})\)/);
    if (r) ready.resolve(JSON.parse(r[1]) as StartupStages);
  };
  const stdout = drainLines(child.stdout, onLine);
  const stderr = drainLines(child.stderr, onLine);
  const tail = () => `${stdout.tail()}\n${stderr.tail()}`;
  let exited = false;
  child.status.then((s) => {
    exited = true;
    const err = new Error(`The server exited with code ${s.code}:\n${tail()}`);
    listening.reject(err);
    ready.reject(err);
  });
  ready.promise.catch(() => {});
  const timer = setTimeout(
    () => listening.reject(new Error(`The server did not listen in ${timeoutMs} ms`)),
    timeoutMs,
  );
  let url: string;
  try {
    url = await listening.promise;
  } catch (e) {
    if (!exited) child.kill("SIGKILL");
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return {
    url,
    pid: child.pid,
    spawnedAt,
    listeningAt: performance.now(),
    ready: ready.promise,
    output: tail,
    async close() {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch {
          // Already gone.
        }
      }
      await child.status;
    },
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
