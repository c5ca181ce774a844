/**
 * Starts the real server (`deno run -A main.ts`) as a child process on a free port, for the tests, the bench
 * and the load tool: one launcher that reads the port from the `Listening on` line, waits for
 * `GET /healthz`, and on close stops the process (SIGKILL when SIGTERM is not enough) and removes the
 * private folders it made.
 *
 * By default each server gets `BACKEND=wasm` (so a host with a GPU does not change what a run means), its
 * own empty patched-model cache and its own `XDG_RUNTIME_DIR`, all under one temporary folder.
 *
 * @example
 * ```ts
 * import { startServer } from "./server_launcher.ts";
 *
 * await using server = await startServer({ env: { CONCURRENCY: "2" } });
 * const res = await fetch(`${server.url}/api/models`);
 * ```
 *
 * @module
 */

import { drainLines } from "./_child_output.ts";

const ROOT = new URL("../", import.meta.url);

/** Loopback must bypass any proxy, in the child and for the caller's own requests. */
const NO_PROXY = "127.0.0.1,localhost";

/** How long `close()` waits after SIGTERM before it sends SIGKILL (ms). */
const KILL_AFTER_MS = 15_000;

/** Options of {@linkcode startServer} and {@linkcode runServerToExit}. */
export interface LaunchOptions {
  /**
   * Environment variables added to the defaults: `PORT=0`, `HOST=127.0.0.1`, `BACKEND=wasm`, a private
   * `CACHE_DIR` and `XDG_RUNTIME_DIR`. A `CACHE_DIR` given here is the caller's and is left in place.
   */
  env?: Record<string, string>;
  /** The entry module, relative to the repository root (default `main.ts`). */
  entry?: string;
  /** How long to wait for the `Listening on` line and then for `GET /healthz` 200 (ms, default 180 s). */
  readyTimeoutMs?: number;
  /** Return as soon as the server listens, before it is ready (default: wait for `/healthz` 200). */
  listenOnly?: boolean;
}

/** Start-up stages the server logs in its `ready in N ms ({...})` line. */
export interface StartupStages {
  imports?: number;
  models?: number;
  warmup?: number;
  total?: number;
}

/** A running server. */
export interface Server {
  /** The origin, `http://127.0.0.1:PORT`, without a trailing slash. */
  url: string;
  /** The socket URL, `ws://127.0.0.1:PORT/ws`. */
  wsUrl: string;
  pid: number;
  /** The patched-model cache folder the server writes. */
  cacheDir: string;
  /** When the process was spawned, and when it printed its listening line (`performance.now()`). */
  spawnedAt: number;
  listeningAt: number;
  /** Resolves with the logged stages when the server logs `ready in …` (at `LOG_LEVEL` info or lower). */
  startup: Promise<StartupStages>;
  /** The tail of what the server printed, for failure messages. */
  output(): string;
  /**
   * Resolves with the first line the server printed (before or after the call, within the kept tail) that
   * matches; rejects when the server exits without printing one.
   */
  waitForLine(pattern: RegExp): Promise<string>;
  /** Resolves when the process exits. */
  status: Promise<Deno.CommandStatus>;
  /** Sends a signal to the process (no-op once it has exited). */
  kill(signal?: Deno.Signal): void;
  /** Resolves once `GET /healthz` answers 200; rejects when the server exits or the wait times out. */
  ready(): Promise<void>;
  /** Stops the server (SIGKILL when SIGTERM is not enough within 15 s) and removes its private folders. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** What a server that stopped by itself did. */
export interface Exit {
  code: number;
  /** The tails of what it printed to stdout and stderr. */
  output: string;
  ms: number;
}

/** A spawned child with its private folders and drained output. */
interface Spawned {
  child: Deno.ChildProcess;
  cacheDir: string;
  spawnedAt: number;
  stdout: ReturnType<typeof drainLines>;
  stderr: ReturnType<typeof drainLines>;
  output(): string;
  /** Removes the private folders (never a caller's CACHE_DIR). */
  cleanUp(): Promise<void>;
}

async function spawn(
  { env = {}, entry = "main.ts" }: LaunchOptions,
  onLine: (line: string) => void,
): Promise<Spawned> {
  try {
    await Deno.stat(new URL(entry, ROOT));
  } catch {
    throw new Error(`Cannot start the server as ${entry} does not exist in ${ROOT.pathname}`);
  }
  const home = await Deno.makeTempDir({ prefix: "gag-server-" });
  const cacheDir = env.CACHE_DIR ?? `${home}/cache`;
  const xdg = `${home}/xdg`;
  await Deno.mkdir(xdg, { mode: 0o700 });
  const spawnedAt = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", entry],
    cwd: ROOT,
    env: {
      NO_PROXY,
      no_proxy: NO_PROXY,
      PORT: "0",
      HOST: "127.0.0.1",
      BACKEND: "wasm",
      XDG_RUNTIME_DIR: xdg,
      ...env,
      CACHE_DIR: cacheDir,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = drainLines(child.stdout, onLine);
  const stderr = drainLines(child.stderr, onLine);
  return {
    child,
    cacheDir,
    spawnedAt,
    stdout,
    stderr,
    output: () => `--- stdout\n${stdout.tail()}\n--- stderr\n${stderr.tail()}`,
    cleanUp: () => Deno.remove(home, { recursive: true }).catch(() => {}),
  };
}

/**
 * Starts the server and, unless `listenOnly`, waits until `GET /healthz` answers 200. Throws with the
 * server's output when it exits or does not get ready in time.
 *
 * @param options what to start and how long to wait
 * @returns the running server; close it (or `await using` it) to stop it and remove its folders
 */
export async function startServer(options: LaunchOptions = {}): Promise<Server> {
  const { readyTimeoutMs = 180_000, listenOnly = false } = options;
  const listening = Promise.withResolvers<string>();
  const startup = Promise.withResolvers<StartupStages>();
  startup.promise.catch(() => {});
  const waiters = new Set<{ pattern: RegExp; found: PromiseWithResolvers<string> }>();
  const spawned = await spawn(options, (line) => {
    for (const w of waiters) {
      if (!w.pattern.test(line)) continue;
      waiters.delete(w);
      w.found.resolve(line);
    }
    const listen = line.match(/Listening on (https?:\/\/[^/\s]+)/);
    if (listen) listening.resolve(listen[1].replace("0.0.0.0", "127.0.0.1").replace("[::]", "127.0.0.1"));
    const ready = line.match(/ready in \d+ ms \((\{.*\})\)/);
    if (ready) startup.resolve(JSON.parse(ready[1]) as StartupStages);
  });
  const { child, output } = spawned;
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    const error = new Error(`The server exited with code ${s.code}`);
    listening.reject(error);
    startup.reject(error);
    for (const w of waiters) w.found.reject(error);
    waiters.clear();
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
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      kill("SIGTERM");
      const timer = setTimeout(() => kill("SIGKILL"), KILL_AFTER_MS);
      await status;
      clearTimeout(timer);
      await Promise.all([spawned.stdout.done, spawned.stderr.done]);
      await spawned.cleanUp();
    })();

  const deadline = Date.now() + readyTimeoutMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const url = await Promise.race([
      listening.promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`The server printed no 'Listening on' line within ${readyTimeoutMs} ms`)),
          readyTimeoutMs,
        );
      }),
    ]);
    clearTimeout(timer);
    const listeningAt = performance.now();
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
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`GET /healthz did not answer 200 within ${readyTimeoutMs} ms: last answer ${last}`);
    };
    const server: Server = {
      url,
      wsUrl: `${url.replace(/^http/, "ws")}/ws`,
      pid: child.pid,
      cacheDir: spawned.cacheDir,
      spawnedAt: spawned.spawnedAt,
      listeningAt,
      startup: startup.promise,
      output,
      waitForLine(pattern) {
        const seen = output().split("\n").find((line) => pattern.test(line));
        if (seen !== undefined) return Promise.resolve(seen);
        const found = Promise.withResolvers<string>();
        if (exited) found.reject(new Error(`The server exited without printing a line matching ${pattern}`));
        else waiters.add({ pattern, found });
        return found.promise;
      },
      status,
      kill,
      ready,
      close,
      [Symbol.asyncDispose]: close,
    };
    if (!listenOnly) await ready();
    return server;
  } catch (e) {
    clearTimeout(timer);
    await close();
    throw new Error(`Cannot start the server: ${(e as Error).message}\n${output()}`);
  }
}

/**
 * Runs the server until it exits by itself (for start-up failures); kills it and throws when it is still
 * running after `timeoutMs`.
 *
 * @returns its exit code, output and run time
 */
export async function runServerToExit(options: LaunchOptions = {}, timeoutMs = 60_000): Promise<Exit> {
  const t0 = performance.now();
  const spawned = await spawn(options, () => {});
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    spawned.child.kill("SIGKILL");
  }, timeoutMs);
  const status = await spawned.child.status;
  clearTimeout(timer);
  await Promise.all([spawned.stdout.done, spawned.stderr.done]);
  await spawned.cleanUp();
  const output = spawned.output();
  if (timedOut) throw new Error(`The server was still running after ${timeoutMs} ms:\n${output}`);
  return { code: status.code, output, ms: performance.now() - t0 };
}
