/**
 * Starts the real server (`deno run -A main.ts`) as a child process on a free port for end-to-end tests,
 * each with its own patched-model cache folder.
 *
 * @module
 */

import { drainLines } from "../tools/_child_output.ts";

const ROOT = new URL("../", import.meta.url);

/** Env every child gets: loopback must bypass any proxy. */
const BASE_ENV = { NO_PROXY: "127.0.0.1,localhost", no_proxy: "127.0.0.1,localhost", LOG_LEVEL: "warn" };

/** Options of {@linkcode startServer} and {@linkcode runServerToExit}. */
export interface ServerOptions {
  /** Extra environment variables (PORT, HOST and CACHE_DIR have test defaults). */
  env?: Record<string, string>;
  /** How long to wait for `GET /healthz` to answer 200 (ms). */
  readyTimeoutMs?: number;
  /** Return as soon as the server listens, before it is ready (default: wait for `/healthz` 200). */
  listenOnly?: boolean;
}

/** A running server. */
export interface Server {
  /** The origin, `http://127.0.0.1:PORT`, without a trailing slash. */
  url: string;
  /** The socket URL, `ws://127.0.0.1:PORT/ws`. */
  wsUrl: string;
  pid: number;
  /** The tail of what the server printed, for failure messages. */
  output(): string;
  /** Resolves when the process exits. */
  status: Promise<Deno.CommandStatus>;
  /** Sends a signal to the process (no-op once it has exited). */
  kill(signal?: Deno.Signal): void;
  /** Resolves once `GET /healthz` answers 200; rejects when the server exits or the wait times out. */
  ready(): Promise<void>;
  /** Stops the server (SIGKILL when SIGTERM is not enough within 15 s) and removes its cache folder. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function spawn(env: Record<string, string>) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    cwd: ROOT,
    env: { ...BASE_ENV, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/**
 * Starts `deno run -A main.ts` with `PORT=0` and waits until `GET /healthz` answers 200.
 *
 * @example
 * ```ts
 * await using server = await startServer({ env: { CONCURRENCY: "1" } });
 * const res = await fetch(`${server.url}/api/models`);
 * ```
 */
export async function startServer(
  { env = {}, readyTimeoutMs = 120_000, listenOnly = false }: ServerOptions = {},
): Promise<Server> {
  const cacheDir = await Deno.makeTempDir({ prefix: "gag-cache-" });
  const child = spawn({ PORT: "0", HOST: "127.0.0.1", CACHE_DIR: cacheDir, ...env });
  const listening = Promise.withResolvers<string>();
  const onLine = (line: string) => {
    const match = line.match(/Listening on (https?:\/\/[^/\s]+)/);
    if (match) listening.resolve(match[1].replace("0.0.0.0", "127.0.0.1"));
  };
  const stdout = drainLines(child.stdout, onLine);
  const stderr = drainLines(child.stderr, onLine);
  const output = () => `--- stdout\n${stdout.tail()}\n--- stderr\n${stderr.tail()}`;
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    listening.reject(new Error(`The server exited with code ${s.code} before listening`));
    return s;
  });
  const kill = (signal: Deno.Signal = "SIGTERM") => {
    if (exited) return;
    try {
      child.kill(signal);
    } catch {
      // It exited in between.
    }
  };
  const close = async () => {
    kill("SIGTERM");
    const timer = setTimeout(() => kill("SIGKILL"), 15_000);
    await status;
    clearTimeout(timer);
    await Promise.all([stdout.done, stderr.done]);
    await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
  };

  const deadline = Date.now() + readyTimeoutMs;
  try {
    const url = await Promise.race([
      listening.promise,
      new Promise<never>((_, reject) => {
        const timer = setTimeout(() => reject(new Error("no 'Listening on' line")), readyTimeoutMs);
        listening.promise.finally(() => clearTimeout(timer)).catch(() => {});
      }),
    ]);
    const ready = async () => {
      let last = "";
      while (Date.now() < deadline) {
        if (exited) throw new Error(`The server exited while starting:\n${output()}`);
        try {
          const res = await fetch(`${url}/healthz`);
          last = `${res.status} ${await res.text()}`;
          if (res.ok) return;
        } catch (e) {
          last = String(e);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`GET /healthz did not answer 200 within ${readyTimeoutMs} ms: last answer ${last}`);
    };
    const server: Server = {
      url,
      wsUrl: `${url.replace(/^http/, "ws")}/ws`,
      pid: child.pid,
      output,
      status,
      kill,
      ready,
      close,
      [Symbol.asyncDispose]: close,
    };
    if (!listenOnly) await ready();
    return server;
  } catch (e) {
    await close();
    throw new Error(`Cannot start the server: ${(e as Error).message}\n${output()}`);
  }
}

/** What a server that stopped by itself did. */
export interface Exit {
  code: number;
  /** Everything it printed to stdout and stderr (tails). */
  output: string;
  ms: number;
}

/**
 * Runs the server until it exits by itself (for start-up failures); kills it and throws when it is still
 * running after `timeoutMs`.
 */
export async function runServerToExit({ env = {} }: ServerOptions = {}, timeoutMs = 60_000): Promise<Exit> {
  const cacheDir = await Deno.makeTempDir({ prefix: "gag-cache-" });
  const t0 = performance.now();
  const child = spawn({ PORT: "0", HOST: "127.0.0.1", CACHE_DIR: cacheDir, ...env });
  const stdout = drainLines(child.stdout);
  const stderr = drainLines(child.stderr);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const status = await child.status;
  clearTimeout(timer);
  await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
  await Promise.all([stdout.done, stderr.done]);
  const output = `--- stdout\n${stdout.tail()}\n--- stderr\n${stderr.tail()}`;
  if (timedOut) throw new Error(`The server was still running after ${timeoutMs} ms:\n${output}`);
  return { code: status.code, output, ms: performance.now() - t0 };
}

/**
 * Runs a test step against a shared server; sanitizers are off because the server's output pipes and
 * pooled HTTP connections outlive single steps by design.
 */
export function step(
  t: Deno.TestContext,
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
): Promise<boolean> {
  return t.step({ name, fn, sanitizeOps: false, sanitizeResources: false, sanitizeExit: false });
}

/** Options for a `Deno.test` that owns a server: its sanitizers are off for the same reason. */
export const E2E = { sanitizeOps: false, sanitizeResources: false } as const;
