/**
 * Starts the engine on the server: the backend from config, and the models of a folder.
 *
 * @module
 */
import { join } from "node:path";
import { type BackendChoice, createBackend } from "./create_backend.ts";
import { type Engine, startEngine } from "./engine.ts";
import { fileSource, modelFolders } from "./file_source.ts";
import type { BatchingOptions } from "./batcher.ts";
import { loadFlowPipeline } from "./flow_pipeline.ts";
import type { PatchFn } from "./guidance_patch.ts";
import { loadSdPipeline } from "./sd_pipeline.ts";

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
  /** Limits of the batches concurrent jobs share (flow models; default `BATCHING_DEFAULTS`). */
  batching?: BatchingOptions;
  /** Run the wasm backend in a Worker (see `createBackend`); the engine's `close()` ends it. */
  worker?: boolean;
}

/** Starts the backend, reads every manifest and (unless `lazy`) loads the models, each session once. */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const { modelsDir, backend: choice = "auto", patch, log = console.log, lazy = false, worker } = options;
  const t0 = performance.now();
  const backend = await createBackend(choice, { log, worker });
  const stages: Record<string, number> = { backend: Math.round(performance.now() - t0) };
  log(`backend: ${backend.name} (${backend.reason})`);
  let engine: Engine;
  try {
    const ids = options.models?.length ? options.models : await modelFolders(modelsDir);
    if (!ids.length) {
      throw new Error(`Cannot start engine as ${modelsDir} holds no model folder with a manifest.json`);
    }
    engine = await startEngine({
      models: ids.map((id) => fileSource(join(modelsDir, id))),
      backend,
      loaders: {
        flow: (source, manifest, backend, patch, log) =>
          loadFlowPipeline(source, manifest, backend, patch, log, options.batching),
        sd: loadSdPipeline,
      },
      patch,
      log,
      lazy,
      stages,
    });
  } catch (e) {
    await backend.close?.();
    throw e;
  }
  return {
    ...engine,
    async close() {
      await engine.close();
      await backend.close?.();
    },
  };
}
