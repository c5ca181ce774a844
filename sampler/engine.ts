/**
 * The generation engine: one backend, a registry of models read through their sources, `prepare()` and
 * `generate()`. It touches neither Deno nor the file system, so a browser page runs it as the server does
 * (`create_engine.ts` starts it on the server's folders).
 *
 * @module
 */
import type { Backend } from "./backend.ts";
import { EngineError } from "./errors.ts";
import type { PatchFn } from "./guidance_patch.ts";
import { type Job, prepareJob } from "./job.ts";
import type { Manifest } from "./manifest.ts";
import { readManifest } from "./model_files.ts";
import type { ModelSource } from "./model_source.ts";
import type { Pipeline } from "./pipeline.ts";
import type { GenerateOptions, GenerateRequest, Generation, LayerKind, ModelInfo } from "./types.ts";
import { GUIDANCE_MODES } from "../guidance/guidance_scalars.ts";
import { layerKinds, servedLayers } from "../guidance/layer_kinds.ts";

/** Loads the pipeline of one model kind (`loadFlowPipeline`, `loadSdPipeline`). */
export type PipelineLoader<M extends Manifest = Manifest> = (
  source: ModelSource,
  manifest: M,
  backend: Backend,
  patch: PatchFn,
  /** Where a loader reports what it worked around (a missing optional file). */
  log?: (message: string) => void,
) => Promise<Pipeline>;

/** A {@linkcode PipelineLoader} per manifest kind; a kind left out cannot be loaded. */
export type PipelineLoaders = { [K in Manifest["kind"]]?: PipelineLoader<Extract<Manifest, { kind: K }>> };

/** Options of {@linkcode startEngine}. */
export interface StartEngineOptions {
  /** The models, the first being the default model. */
  models: readonly ModelSource[];
  backend: Backend;
  /** Pipeline loaders by manifest kind. */
  loaders: PipelineLoaders;
  /** Patches denoisers for guidance (in a page: returns the server's patched graph). */
  patch: PatchFn;
  log?: (message: string) => void;
  /** Load each model on its first request instead of at start. */
  lazy?: boolean;
  /** Start-up timings so far (ms), which the engine extends with each model's patch and sessions. */
  stages?: Record<string, number>;
}

/** A started engine. */
export interface Engine {
  readonly backend: Backend;
  readonly defaultModel: string;
  /** What `/api/models` lists. */
  models(): ModelInfo[];
  /**
   * Resolves a request against its model into a frozen {@linkcode Job}: fills every default (the seed
   * included) and checks every bound, so a request can be refused before it is queued and its seed
   * reported before it runs. Throws `EngineError`.
   */
  prepare(req: GenerateRequest): Job;
  /**
   * Generates one image for a job from {@linkcode Engine.prepare}, loading its model first if needed;
   * rejects with `AbortError` when aborted.
   */
  generate(job: Job, options?: GenerateOptions): Promise<Generation>;
  /** The pipeline of a loaded model (throws for a model not loaded yet). */
  pipeline(id?: string): Pipeline;
  /** Loads a model once (concurrent calls share the load) and returns its pipeline. */
  load(id?: string): Promise<Pipeline>;
  /** Ids of the models loaded now. */
  loaded(): string[];
  /** Releases every loaded model's sessions; the next request loads it again (scale-to-zero idling). */
  release(): Promise<void>;
  /** Start-up stage timings (ms): backend start, per model patch and session creation. */
  readonly stages: Record<string, number>;
  close(): Promise<void>;
}

function describe(m: Manifest, layers: LayerKind[], isDefault: boolean): ModelInfo {
  return {
    id: m.id,
    name: m.name,
    ...(m.description ? { description: m.description } : {}),
    kind: m.kind,
    default: isDefault,
    width: m.image.width,
    height: m.image.height,
    defaultSteps: m.steps.default,
    maxSteps: m.steps.max,
    guidance: {
      modes: layers.length ? GUIDANCE_MODES : ["none"],
      layers,
      defaults: m.guidance.defaults,
      ranges: m.guidance.ranges,
      overGuiding: m.guidance.overGuiding,
    },
    cfg: { default: m.cfg.default, range: [1, m.cfg.max] },
  };
}

interface Entry {
  source: ModelSource;
  manifest: Manifest;
  loaded?: Pipeline;
  loading?: Promise<Pipeline>;
}

/** Reads every model's manifest and (unless `lazy`) loads the models, each session once. */
export async function startEngine(options: StartEngineOptions): Promise<Engine> {
  const { backend, loaders, patch, log = console.log, lazy = false, stages = {} } = options;
  if (!options.models.length) throw new Error("Cannot start engine as no model was given");
  const entries = new Map<string, Entry>();
  for (const source of options.models) {
    const manifest = await readManifest(source);
    if (manifest.id !== source.id) {
      throw new Error(
        `Cannot load model manifest ${
          source.path("manifest.json")
        } as its 'id' is '${manifest.id}', not the folder name '${source.id}'`,
      );
    }
    if (!loaders[manifest.kind]) {
      throw new Error(
        `Cannot load model '${manifest.id}' as its kind '${manifest.kind}' has no pipeline loader here`,
      );
    }
    entries.set(source.id, { source, manifest });
  }
  const ids = [...entries.keys()];
  const defaultModel = ids[0];
  const entry = (id = defaultModel) => {
    const e = entries.get(id);
    if (!e) {
      throw new EngineError(
        "not_found",
        `Cannot find model '${id}': available models are ${[...entries.keys()].join(", ")}`,
        "model",
      );
    }
    return e;
  };
  const load = (id?: string): Promise<Pipeline> => {
    const e = entry(id);
    if (e.loaded) return Promise.resolve(e.loaded);
    e.loading ??= (async () => {
      const start = performance.now();
      let patchMs = 0;
      const timedPatch: PatchFn = async (model, req) => {
        const p0 = performance.now();
        try {
          return await patch(model, req);
        } finally {
          patchMs += performance.now() - p0;
        }
      };
      try {
        const loader = loaders[e.manifest.kind] as PipelineLoader;
        const p = await loader(e.source, e.manifest, backend, timedPatch, log);
        const total = performance.now() - start;
        stages[`${e.manifest.id}.patch`] = Math.round(patchMs);
        stages[`${e.manifest.id}.sessions`] = Math.round(total - patchMs);
        log(`model ${e.manifest.id}: loaded in ${total.toFixed(0)} ms (patch ${patchMs.toFixed(0)} ms)`);
        e.loaded = p;
        return p;
      } finally {
        e.loading = undefined;
      }
    })();
    return e.loading;
  };
  const release = async () => {
    // Detach every pipeline first, so a job arriving meanwhile loads fresh sessions instead of using
    // ones being released.
    const loaded = [...entries.values()].flatMap((e) => (e.loaded ? [e.loaded] : []));
    for (const e of entries.values()) e.loaded = undefined;
    for (const p of loaded) await p.release();
  };
  if (!lazy) {
    try {
      for (const id of ids) await load(id);
    } catch (err) {
      await release();
      throw err;
    }
  }
  // Before a model loads (lazy), the manifest's layers stand for what its patch will cover.
  const served = (e: Entry) => servedLayers(e.loaded?.patched ?? layerKinds(e.manifest.guidance.layers));
  return {
    backend,
    defaultModel,
    stages,
    models: () =>
      [...entries.values()].map((e) => describe(e.manifest, served(e), e.manifest.id === defaultModel)),
    pipeline(id) {
      const p = entry(id).loaded;
      if (!p) {
        throw new Error(
          `Cannot use model '${id ?? defaultModel}' as it is not loaded: await engine.load() first`,
        );
      }
      return p;
    },
    load,
    loaded: () => [...entries.values()].filter((e) => e.loaded).map((e) => e.manifest.id),
    release,
    prepare(req) {
      const e = entry(req.model);
      return prepareJob(req, e.manifest, served(e));
    },
    async generate(job, opts) {
      const p = await load(job.model);
      if (job.guidance.mode !== "none" && !servedLayers(p.patched).includes(job.guidance.layers)) {
        // Only a lazily loaded model can patch less than its manifest declared when the job was prepared.
        throw new EngineError(
          "bad_request",
          `Cannot guide '${job.guidance.layers}' attention as model '${job.model}' patched only: ${
            p.patched.join(", ") || "none"
          }`,
          "guidance.layers",
        );
      }
      return await p.generate(job, opts);
    },
    close: release,
  };
}
