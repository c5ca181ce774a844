/**
 * The one wrapper around onnxruntime: picks the execution backend, creates sessions, checks feeds and
 * serialises runs per session.
 *
 * @module
 */
import type * as Ort from "onnxruntime-web";

type OrtModule = typeof Ort;

/** An execution backend. `native` is onnxruntime-node (CPU), the others are onnxruntime-web. */
export type BackendName = "webgpu" | "wasm" | "native";
/** A backend choice from config; `auto` takes WebGPU when a hardware adapter exists, wasm otherwise. */
export type BackendChoice = "auto" | BackendName;
/** The backend choices, for validation. */
export const BACKEND_CHOICES = ["auto", "webgpu", "wasm", "native"] as const;

/** Tensor element types the engine uses. */
export type TensorData = Float32Array | Float16Array | BigInt64Array | Int32Array;

/** A plain tensor value: data and dimensions; the element type follows from the data's type. */
export interface TensorValue {
  data: TensorData;
  dims: readonly number[];
}

/** A model session whose runs are serialised. */
export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Element type of each tensor input and output (`float32`, `int64`, …) where the runtime reports it. */
  readonly types: Readonly<Record<string, string>>;
  /** Runs the model; rejects with each input's dtype and dims on failure. */
  run(feeds: Record<string, TensorValue>): Promise<Record<string, TensorValue>>;
  release(): Promise<void>;
}

/** Graph optimisation levels of onnxruntime. */
export const OPTIMIZATION_LEVELS = ["disabled", "basic", "extended", "all"] as const;

/** Per-session options. */
export interface SessionOptions {
  /** onnxruntime's graph optimisation level (default `all`); lower levels create sessions faster. */
  optimization?: typeof OPTIMIZATION_LEVELS[number];
}

/** A started backend. */
export interface Backend {
  readonly name: BackendName;
  /** Why `auto` or a fallback chose this backend. */
  readonly reason: string;
  /** Whether float16 models run here (WebGPU with `shader-f16`); others get a model's float32 variant. */
  readonly float16: boolean;
  /** Creates a session from model bytes; `label` names the model in errors. */
  createSession(model: Uint8Array, label: string, options?: SessionOptions): Promise<Session>;
}

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
}

/**
 * Mesa's Vulkan drivers complain on every adapter request when XDG_RUNTIME_DIR is unset (as in
 * containers); give them a private one.
 */
function ensureRuntimeDir(): void {
  if (Deno.env.get("XDG_RUNTIME_DIR")) return;
  // The system temp folder first; `deno task serve` may write only under .cache/.
  for (const dir of [undefined, `${Deno.cwd()}/.cache`]) {
    try {
      Deno.env.set("XDG_RUNTIME_DIR", Deno.makeTempDirSync({ dir, prefix: "xdg-" }));
      return;
    } catch {
      // Without env or write permission the warning stays; nothing else depends on it.
    }
  }
}

async function webgpuAdapter(): Promise<{ ok: boolean; why: string }> {
  ensureRuntimeDir();
  const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { ok: false, why: "navigator.gpu is not available" };
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return { ok: false, why: "no WebGPU adapter was found" };
  const info = adapter.info;
  const desc = `${info.vendor} ${info.description}`.trim();
  if (info.isFallbackAdapter) {
    return { ok: false, why: `the WebGPU adapter is a software fallback (${desc})` };
  }
  return { ok: true, why: `WebGPU adapter ${desc}` };
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

function describe(feeds: Record<string, TensorValue>): string {
  return Object.entries(feeds)
    .map(([k, v]) => `${k}: ${v.data.constructor.name} [${v.dims.join(", ")}]`)
    .join("; ");
}

function wrap(ort: OrtModule, session: Ort.InferenceSession, label: string): Session {
  let chain: Promise<unknown> = Promise.resolve();
  const run = async (feeds: Record<string, TensorValue>) => {
    const missing = session.inputNames.filter((n) => !(n in feeds));
    if (missing.length) {
      throw new Error(`Cannot run ${label} as inputs are missing: ${missing.join(", ")}`);
    }
    const tensors: Record<string, Ort.Tensor> = {};
    for (const name of session.inputNames) {
      const { data, dims } = feeds[name];
      tensors[name] = new ort.Tensor(data as Float32Array, dims);
    }
    let out: Ort.InferenceSession.OnnxValueMapType;
    try {
      out = await session.run(tensors);
    } catch (e) {
      throw new Error(`Cannot run ${label}: ${(e as Error).message}; inputs were ${describe(feeds)}`, {
        cause: e,
      });
    }
    const result: Record<string, TensorValue> = {};
    for (const [name, t] of Object.entries(out)) {
      let data = await t.getData(true) as TensorData | Uint16Array;
      if (data instanceof Uint16Array) data = new Float16Array(data.buffer, data.byteOffset, data.length);
      result[name] = { data, dims: t.dims };
    }
    return result;
  };
  const types: Record<string, string> = {};
  for (const m of [...(session.inputMetadata ?? []), ...(session.outputMetadata ?? [])]) {
    if (m.isTensor) types[m.name] = m.type;
  }
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    types,
    run(feeds) {
      const next = chain.then(() => run(feeds));
      chain = next.catch(() => {});
      return next;
    },
    release: () => session.release(),
  };
}

async function start(name: BackendName, reason: string, threads: number, spinning = false): Promise<Backend> {
  if (name === "webgpu") {
    ensureRuntimeDir();
    const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu;
    const adapter = await gpu?.requestAdapter().catch(() => null);
    if (!adapter) {
      throw new Error("Cannot start WebGPU as no adapter was found (navigator.gpu.requestAdapter)");
    }
  }
  let float16 = false;
  if (name === "webgpu") {
    const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu;
    float16 = (await gpu?.requestAdapter())?.features.has("shader-f16") ?? false;
  }
  const ort = await loadModule(name, threads);
  const providers = name === "webgpu" ? ["webgpu"] : name === "native" ? ["cpu"] : ["wasm"];
  return {
    name,
    reason,
    float16,
    async createSession(model, label, { optimization = "all" } = {}) {
      try {
        const s = await ort.InferenceSession.create(model, {
          executionProviders: providers,
          graphOptimizationLevel: optimization,
          ...(name === "native"
            ? { extra: { session: { intra_op: { allow_spinning: spinning ? "1" : "0" } } } }
            : {}),
        });
        return wrap(ort, s, label);
      } catch (e) {
        throw new Error(`Cannot load ${label} on the ${name} backend: ${(e as Error).message}`, { cause: e });
      }
    },
  };
}

/**
 * Starts the backend named by `choice`. An explicit choice that cannot start throws; `auto` prefers a
 * hardware WebGPU adapter, then wasm, and reports why in `reason`.
 */
export async function createBackend(
  choice: BackendChoice,
  { threads = Math.min(4, navigator.hardwareConcurrency || 1), log = console.warn, spinning }:
    BackendOptions = {},
): Promise<Backend> {
  if (choice !== "auto") return await start(choice, `requested by config`, threads, spinning);
  const probe = await webgpuAdapter();
  if (probe.ok) {
    try {
      return await start("webgpu", probe.why, threads);
    } catch (e) {
      log(`WebGPU backend failed to start, falling back to wasm: ${(e as Error).message}`);
    }
  }
  return await start("wasm", `auto: ${probe.why}`, threads);
}
