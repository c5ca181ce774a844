/**
 * Starts a backend on the server: loads onnxruntime-web (wasm or WebGPU) or onnxruntime-node, and for
 * `auto` asks for a WebGPU adapter once to choose between WebGPU and wasm.
 *
 * @module
 */
import { type Backend, type BackendName, ortBackend, type OrtModule } from "./backend.ts";
import { workerBackend } from "./worker_backend.ts";

/** A backend choice from config; `auto` takes WebGPU when a hardware adapter exists, wasm otherwise. */
export type BackendChoice = "auto" | BackendName;
/** The backend choices, for validation. */
export const BACKEND_CHOICES = ["auto", "webgpu", "wasm", "native"] as const;

/** Options of {@linkcode createBackend}. */
export interface BackendOptions {
  /** wasm threads (default: hardware concurrency, capped at 4). */
  threads?: number;
  /** Where fallbacks are reported. */
  log?: (message: string) => void;
  /**
   * Let onnxruntime-node's pool threads spin-wait between parallel sections (default off: on few or
   * shared cores the spinning takes the cores from the next kernel; `deno task bench` measures both).
   */
  spinning?: boolean;
  /**
   * Run the wasm backend in a Worker (`worker_backend.ts`), so the caller's event loop stays free during
   * calls; the backend's `close()` ends it. The server does; tools and tests run in-process.
   */
  worker?: boolean;
}

/**
 * Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid or not set" on every adapter request when it is
 * unset (as in containers). Give them one private folder that every start reuses: `.cache/xdg` under the
 * working folder (the one place `deno task serve` may write), else a temporary one removed at exit.
 */
function ensureRuntimeDir(): void {
  if (Deno.env.get("XDG_RUNTIME_DIR")) return;
  const stable = `${Deno.cwd()}/.cache/xdg`;
  try {
    Deno.mkdirSync(stable, { recursive: true, mode: 0o700 });
    Deno.chmodSync(stable, 0o700); // Mesa refuses a runtime folder that others can read
    Deno.env.set("XDG_RUNTIME_DIR", stable);
    return;
  } catch {
    // Not writable here: fall back to the system temp folder.
  }
  try {
    const dir = Deno.makeTempDirSync({ prefix: "xdg-" });
    Deno.env.set("XDG_RUNTIME_DIR", dir);
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // Already gone.
      }
    });
  } catch {
    // Without env or write permission the warning stays; nothing else depends on it.
  }
}

/** The one WebGPU adapter request: the adapter, or why there is none. */
async function requestAdapter(): Promise<GPUAdapter | string> {
  ensureRuntimeDir();
  const gpu = (globalThis.navigator as { gpu?: GPU }).gpu;
  if (!gpu) return "navigator.gpu is not available";
  return await gpu.requestAdapter().catch(() => null) ?? "no WebGPU adapter was found";
}

async function loadModule(name: BackendName, threads: number): Promise<OrtModule> {
  if (name === "native") return (await import("onnxruntime-node")) as unknown as OrtModule;
  if (name === "webgpu") {
    const ort = await import("onnxruntime-web/webgpu");
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = "error";
    return ort;
  }
  const ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = "error";
  return ort;
}

async function start(
  name: BackendName,
  reason: string,
  threads: number,
  { adapter, spinning = false, worker = false }: {
    adapter?: GPUAdapter;
    spinning?: boolean;
    worker?: boolean;
  } = {},
): Promise<Backend> {
  if (name === "wasm" && worker) return await workerBackend({ threads, reason });
  const ort = await loadModule(name, threads);
  return ortBackend(ort, {
    name,
    reason,
    float16: adapter?.features.has("shader-f16") ?? false,
    extra: name === "native"
      ? { session: { intra_op: { allow_spinning: spinning ? "1" : "0" } } }
      : undefined,
  });
}

/**
 * Starts the backend named by `choice`. An explicit choice that cannot start throws; `auto` prefers a
 * hardware WebGPU adapter, then wasm, and reports why in `reason`.
 */
export async function createBackend(
  choice: BackendChoice,
  { threads = Math.min(4, navigator.hardwareConcurrency || 1), log = console.warn, spinning, worker }:
    BackendOptions = {},
): Promise<Backend> {
  if (choice === "wasm" || choice === "native") {
    return await start(choice, "requested by config", threads, { spinning, worker });
  }
  const found = await requestAdapter();
  const adapter = typeof found === "string" ? undefined : found;
  if (choice === "webgpu") {
    if (!adapter) throw new Error(`Cannot start WebGPU as ${found} (navigator.gpu.requestAdapter)`);
    return await start("webgpu", "requested by config", threads, { adapter });
  }
  const desc = adapter && `${adapter.info.vendor} ${adapter.info.description}`.trim();
  if (adapter && !adapter.info.isFallbackAdapter) {
    try {
      return await start("webgpu", `WebGPU adapter ${desc}`, threads, { adapter });
    } catch (e) {
      log(`WebGPU backend failed to start, falling back to wasm: ${(e as Error).message}`);
    }
  }
  const why = adapter ? `the WebGPU adapter is a software fallback (${desc})` : found;
  return await start("wasm", `auto: ${why}`, threads, { worker });
}
