/**
 * The generation engine: one backend, a registry of loaded models, and `generate()`.
 *
 * @module
 */
import { join } from "node:path";
import { type Backend, type BackendChoice, createBackend } from "./backend.ts";
import { EngineError } from "./errors.ts";
import { loadFlowPipeline, type Pipeline } from "./flow_pipeline.ts";
import type { PatchFn } from "./guidance_feeds.ts";
import { readManifest } from "./model_files.ts";
import { loadSdPipeline } from "./sd_pipeline.ts";
import { resolveRequest } from "./request.ts";
import type { GenerateOptions, GenerateRequest, Generation, LayerKind, ModelInfo } from "./types.ts";
import { GUIDANCE_MODES } from "../guidance/mod.ts";

/** Options of {@linkcode createEngine}. */
export interface EngineOptions {
  /** Folder holding one sub-folder per model. */
  modelsDir: string;
  /** Model ids to load (default: every folder with a manifest). The first is the default model. */
  models?: string[];
  backend?: BackendChoice;
  /** Patches denoisers for guidance. */
  patch: PatchFn;
  log?: (message: string) => void;
}

/** A started engine. */
export interface Engine {
  readonly backend: Backend;
  readonly defaultModel: string;
  /** What `/api/models` lists. */
  models(): ModelInfo[];
  /**
   * Checks a request against its model and fills every default (the seed included), so a request can be
   * refused before it is queued and its seed reported before it runs. Throws `EngineError`.
   */
  prepare(req: GenerateRequest): Required<Omit<GenerateRequest, "negativePrompt" | "apg">> & GenerateRequest;
  /** Generates one image; rejects with `EngineError` for a bad request, `AbortError` when aborted. */
  generate(req: GenerateRequest, options?: GenerateOptions): Promise<Generation>;
  /** The loaded pipeline of a model. */
  pipeline(id?: string): Pipeline;
  close(): Promise<void>;
}

function describe(p: Pipeline, isDefault: boolean): ModelInfo {
  const m = p.manifest;
  const patched: LayerKind[] = p.patched.length === 2 ? ["cross", "self", "all"] : [...p.patched];
  return {
    id: m.id,
    name: m.name,
    kind: m.kind,
    default: isDefault,
    width: m.image.width,
    height: m.image.height,
    defaultSteps: m.steps.default,
    maxSteps: m.steps.max,
    guidance: {
      modes: p.patched.length ? GUIDANCE_MODES : ["none"],
      layers: patched,
      defaults: m.guidance.defaults,
      ranges: m.guidance.ranges,
    },
    cfg: { default: m.cfg.default, range: [1, m.cfg.max] },
  };
}

/** Starts the backend and loads the models (each session once). */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const { modelsDir, backend: choice = "auto", patch, log = console.log } = options;
  const backend = await createBackend(choice, { log });
  log(`backend: ${backend.name} (${backend.reason})`);
  let ids = options.models;
  if (!ids?.length) {
    ids = [];
    for await (const e of Deno.readDir(modelsDir)) {
      if (e.isDirectory && (await Deno.stat(join(modelsDir, e.name, "manifest.json")).catch(() => null))) {
        ids.push(e.name);
      }
    }
    ids.sort((a, b) => (a === "digits" ? -1 : b === "digits" ? 1 : a.localeCompare(b)));
  }
  if (!ids.length) {
    throw new Error(`Cannot start engine as ${modelsDir} holds no model folder with a manifest.json`);
  }
  const pipelines = new Map<string, Pipeline>();
  try {
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
      const t0 = performance.now();
      const load = manifest.kind === "sd"
        ? loadSdPipeline(dir, manifest, backend, patch)
        : loadFlowPipeline(dir, manifest, backend, patch);
      pipelines.set(id, await load);
      log(`model ${id}: loaded in ${(performance.now() - t0).toFixed(0)} ms`);
    }
  } catch (e) {
    for (const p of pipelines.values()) await p.release();
    throw e;
  }
  const defaultModel = ids[0];
  const pipeline = (id = defaultModel) => {
    const p = pipelines.get(id);
    if (!p) {
      throw new EngineError(
        "not_found",
        `Cannot find model '${id}': available models are ${[...pipelines.keys()].join(", ")}`,
        "model",
      );
    }
    return p;
  };
  return {
    backend,
    defaultModel,
    models: () => [...pipelines.values()].map((p) => describe(p, p.manifest.id === defaultModel)),
    pipeline,
    prepare(req) {
      const p = pipeline(req.model);
      const r = resolveRequest(req, p.manifest, p.patched);
      return {
        ...req,
        model: p.manifest.id,
        steps: r.steps,
        seed: r.seed,
        cfg: r.cfg,
        guidance: r.guidance,
        prompt: r.prompt,
      };
    },
    generate: (req, opts) => pipeline(req.model).generate(req, opts),
    async close() {
      for (const p of pipelines.values()) await p.release();
      pipelines.clear();
    },
  };
}
