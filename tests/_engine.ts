/**
 * Test helper: an engine over the committed models with the real guidance patch (no disk cache).
 *
 * @module
 */
import { type BackendChoice, createEngine, type Engine, guidancePatch } from "../sampler/mod.ts";

/** The repository's models folder. */
export const MODELS_DIR = new URL("../models", import.meta.url).pathname;

/** Starts an engine on `backend` with the embedded model. */
export function testEngine(backend: BackendChoice = "wasm"): Promise<Engine> {
  return createEngine({
    modelsDir: MODELS_DIR,
    models: ["digits"],
    backend,
    patch: guidancePatch,
    log: () => {},
  });
}

/** Starts an engine on `backend` over every model in `modelsDir`, with the real guidance patch. */
export function folderEngine(modelsDir: string, backend: BackendChoice = "wasm"): Promise<Engine> {
  return createEngine({ modelsDir, backend, patch: guidancePatch, log: () => {} });
}

/** Runs `body` with an engine from {@linkcode folderEngine} and closes the engine after. */
export async function withFolderEngine<T>(
  modelsDir: string,
  backend: BackendChoice,
  body: (engine: Engine) => Promise<T>,
): Promise<T> {
  const engine = await folderEngine(modelsDir, backend);
  try {
    return await body(engine);
  } finally {
    await engine.close();
  }
}
