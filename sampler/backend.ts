/**
 * The one wrapper around onnxruntime: sessions from model bytes, feeds checked by name, runs serialised per
 * session, failures rethrown with each input's dtype and dims. It takes the onnxruntime module as a value
 * (onnxruntime-web's browser build in a page, onnxruntime-web or onnxruntime-node on the server, see
 * `create_backend.ts`), so it runs unchanged on both sides.
 *
 * @module
 */
import type * as Ort from "onnxruntime-web";

/** The onnxruntime module a backend runs on (onnxruntime-web's API; onnxruntime-node has the same). */
export type OrtModule = typeof Ort;

/** An execution backend. `native` is onnxruntime-node (CPU), the others are onnxruntime-web. */
export type BackendName = "webgpu" | "wasm" | "native";

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
  /**
   * Settings for multi-gigabyte models, as onnxruntime-web's SD-Turbo example uses them: no memory-pattern
   * planning and no CPU arena, initializers allocated straight with the device allocator, no prepacked
   * copies of the weights.
   */
  large?: boolean;
  /** External data files (onnxruntime-web only), by the path the model names them with. */
  externalData?: readonly { path: string; data: Uint8Array }[];
  /** Sizes of symbolic dimensions (onnxruntime's `freeDimensionOverrides`), so kernels see static shapes. */
  dimensions?: Readonly<Record<string, number>>;
}

/** onnxruntime session config entries of `large` sessions. */
const LARGE_MODEL_ENTRIES = { use_device_allocator_for_initializers: "1", disable_prepacking: "1" };

/** A started backend. */
export interface Backend {
  readonly name: BackendName;
  /** Why `auto` or a fallback chose this backend. */
  readonly reason: string;
  /** Whether float16 models run here (WebGPU with `shader-f16`); others get a model's float32 variant. */
  readonly float16: boolean;
  /** Creates a session from model bytes; `label` names the model in errors. */
  createSession(model: Uint8Array, label: string, options?: SessionOptions): Promise<Session>;
  /**
   * Whether runs compute off the caller's thread, so each one resolves on a later turn of its event loop
   * (the server's wasm worker). In-process wasm and onnxruntime-node hold the loop for the whole call.
   */
  readonly offThread?: boolean;
  /** Ends what the backend holds besides its sessions (the server's wasm worker); after their release. */
  close?(): Promise<void>;
}

/** Options of {@linkcode ortBackend}. */
export interface OrtBackendOptions {
  name: BackendName;
  /** Why this backend was chosen, for logs and `/healthz`. */
  reason: string;
  /** Whether float16 models run here (WebGPU with `shader-f16`). */
  float16?: boolean;
  /** onnxruntime's `extra` session options (onnxruntime-node's thread settings). */
  extra?: Record<string, unknown>;
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

/**
 * A backend over an onnxruntime module that is already loaded and configured: `wasm` and `webgpu` run the
 * execution provider of that name, `native` onnxruntime-node's CPU provider.
 *
 * @example
 * ```ts
 * import * as ort from "onnxruntime-web"; // in a page: the browser build's ESM file
 * const backend = ortBackend(ort, { name: "wasm", reason: "no WebGPU adapter" });
 * ```
 */
export function ortBackend(
  ort: OrtModule,
  { name, reason, float16 = false, extra }: OrtBackendOptions,
): Backend {
  const providers = name === "webgpu" ? ["webgpu"] : name === "native" ? ["cpu"] : ["wasm"];
  return {
    name,
    reason,
    float16,
    async createSession(
      model,
      label,
      { optimization = "all", large = false, externalData, dimensions } = {},
    ) {
      const session = { ...(extra?.session as object | undefined), ...(large ? LARGE_MODEL_ENTRIES : {}) };
      try {
        const s = await ort.InferenceSession.create(model, {
          executionProviders: providers,
          graphOptimizationLevel: optimization,
          ...(large ? { enableMemPattern: false, enableCpuMemArena: false } : {}),
          ...(externalData ? { externalData } : {}),
          ...(dimensions ? { freeDimensionOverrides: dimensions } : {}),
          ...(extra || large ? { extra: { ...extra, session } } : {}),
        });
        return wrap(ort, s, label);
      } catch (e) {
        throw new Error(`Cannot load ${label} on the ${name} backend: ${(e as Error).message}`, { cause: e });
      }
    },
  };
}
