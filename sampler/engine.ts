/**
 * The generation engine: one backend, a registry of loaded models, and `generate()`.
 *
 * @module
 */
import { join } from "node:path";
import { type Backend, type BackendChoice, createBackend } from "./backend.ts";
import { EngineError } from "./errors.ts";
import { loadFlowPipeline } from "./flow_pipeline.ts";
import type { PatchFn } from "./guidance_patch.ts";
import { readManifest } from "./model_files.ts";
import { loadSdPipeline } from "./sd_pipeline.ts";
import { type Job, prepareJob } from "./job.ts";
import type { Manifest } from "./manifest.ts";
import type { Pipeline } from "./pipeline.ts";
import type { GenerateOptions, GenerateRequest, Generation, LayerKind, ModelInfo } from "./types.ts";
import { GUIDANCE_MODES, layerKinds, servedLayers } from "../guidance/mod.ts";

/** Options of {@linkcode createEngine}. */
export interface EngineOptions {
  /** Folder holding one sub-folder per model. */
  modelsDir: string;
  /**
   * Model ids to load, the first being the default model. Default: every folder with a manifest, sorted
   * by id (so `digits` comes before `digits-base`).
   */
  models?: string[];
  backend?: BackendChoice;
  /** Patches denoisers for guidance. */
  patch: PatchFn;
  log?: (message: string) => void;
  /** Load each model on its first request instead of at start. */
  lazy?: boolean;
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
  dir: string;
  manifest: Manifest;
  loaded?: Pipeline;
  loading?: Promise<Pipeline>;
}

/** Starts the backend, reads every manifest and (unless `lazy`) loads the models, each session once. */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const { modelsDir, backend: choice = "auto", patch, log = console.log, lazy = false } = options;
  let t0 = performance.now();
  const backend = await createBackend(choice, { log });
  const stages: Record<string, number> = { backend: Math.round(performance.now() - t0) };
  log(`backend: ${backend.name} (${backend.reason})`);
  let ids = options.models;
  if (!ids?.length) {
    ids = [];
    for await (const e of Deno.readDir(modelsDir)) {
      if (e.isDirectory && (await Deno.stat(join(modelsDir, e.name, "manifest.json")).catch(() => null))) {
        ids.push(e.name);
      }
    }
    ids.sort();
  }
  if (!ids.length) {
    throw new Error(`Cannot start engine as ${modelsDir} holds no model folder with a manifest.json`);
  }
  const entries = new Map<string, Entry>();
  for (const id of ids) {
    const dir = join(modelsDir, id);
    const manifest = await readManifest(dir);
    if (manifest.id !== id) {
      throw new Error(
        `Cannot load model manifest ${
          join(dir, "manifest.json")
        } as its 'id' is '${manifest.id}', not the folder name '${id}'`,
      );
    }
    entries.set(id, { dir, manifest });
  }
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
        const p = e.manifest.kind === "sd"
          ? await loadSdPipeline(e.dir, e.manifest, backend, timedPatch)
          : await loadFlowPipeline(e.dir, e.manifest, backend, timedPatch);
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
    t0 = performance.now();
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
