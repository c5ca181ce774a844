/**
 * The wasm backend in a Worker, for the server. onnxruntime-web's wasm `run()` computes on the thread that
 * calls it, so in-process it holds the event loop for the whole call: no socket is read, no cancel or health
 * check answered, for as long as a batch of 8 takes (about 80 ms on the digits model) or an SD-Turbo UNet
 * call (seconds). In a worker the same backend (`create_backend.ts`'s, with its wasm threads) computes while
 * the server's event loop keeps turning, and each run's result arrives as a message, a turn of its own.
 * Measured on the digits denoiser with 2 wasm threads: the same time per call in the worker as in-process
 * at batch 1 and 8, and a 1 ms timer fired 953 times during 20 batch-8 calls (never, in-process).
 *
 * Feeds and model bytes are copied to the worker (structured clone), outputs are transferred back.
 * `close()` ends the worker; until then it keeps the process alive.
 *
 * @module
 */
import type { Backend, Session, SessionOptions, TensorValue } from "./backend.ts";

/** What the backend asks the worker to do. */
type Request =
  | { op: "start"; threads: number }
  | { op: "create"; model: Uint8Array; label: string; options?: SessionOptions }
  | { op: "run"; session: number; label: string; feeds: Record<string, TensorValue> }
  | { op: "release"; session: number };

/** Messages to the worker (`_backend_worker.ts`): a request and the id its reply carries. */
export type WorkerRequest = Request & { id: number };

/** The worker's answer to request `id`: a result, or an error message. */
export interface WorkerReply {
  id: number;
  result?: unknown;
  error?: string;
}

/** What the worker answers to `create`. */
interface CreatedSession {
  session: number;
  inputNames: string[];
  outputNames: string[];
  types: Record<string, string>;
}

/**
 * The web Worker, taken before onnxruntime-web's node build starts in this thread: its wasm glue replaces
 * `globalThis.Worker` with node's worker_threads Worker, which has no `self`.
 */
const WebWorker = globalThis.Worker;

/**
 * Starts onnxruntime-web's wasm backend with `threads` threads in a Worker.
 *
 * @example
 * ```ts
 * const backend = await workerBackend({ threads: 2, reason: "requested by config" });
 * const session = await backend.createSession(bytes, "denoiser");
 * await session.release();
 * await backend.close();
 * ```
 */
export async function workerBackend(
  { threads, reason }: { threads: number; reason: string },
): Promise<Backend> {
  const worker = new WebWorker(new URL("./_backend_worker.ts", import.meta.url), { type: "module" });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let next = 0;
  let stopped: string | undefined;
  const stop = (why: string) => {
    stopped ??= why;
    for (const p of pending.values()) p.reject(new Error(`Cannot finish a call as ${stopped}`));
    pending.clear();
  };
  worker.onmessage = ({ data }: MessageEvent<WorkerReply>) => {
    const p = pending.get(data.id);
    pending.delete(data.id);
    if (data.error !== undefined) p?.reject(new Error(data.error));
    else p?.resolve(data.result);
  };
  worker.onerror = (e) => {
    e.preventDefault();
    stop(`the wasm backend's worker failed: ${e.message}`);
    worker.terminate();
  };
  const call = <T>(request: Request): Promise<T> => {
    if (stopped) return Promise.reject(new Error(`Cannot call the wasm backend as ${stopped}`));
    const id = ++next;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ id, ...request });
    });
  };
  try {
    await call({ op: "start", threads });
  } catch (e) {
    worker.terminate();
    throw e;
  }
  return {
    name: "wasm",
    reason: `${reason}; in a worker`,
    float16: false,
    offThread: true,
    async createSession(model, label, options) {
      const created = await call<CreatedSession>({ op: "create", model, label, options });
      const session: Session = {
        inputNames: created.inputNames,
        outputNames: created.outputNames,
        types: created.types,
        run: (feeds) => call({ op: "run", session: created.session, label, feeds }),
        release: () => call({ op: "release", session: created.session }),
      };
      return session;
    },
    // Releases nothing itself: ends the worker, so it comes after the sessions' release.
    close() {
      if (!stopped) {
        stop("the wasm backend was closed");
        worker.terminate();
      }
      return Promise.resolve();
    },
  };
}
