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
