/**
 * Test helper: an engine over the committed models with the real guidance patch (no disk cache).
 *
 * @module
 */
import { patchAttention } from "../guidance/mod.ts";
import { type BackendChoice, createEngine, type Engine, type PatchFn } from "../sampler/mod.ts";

/** The repository's models folder. */
export const MODELS_DIR = new URL("../models", import.meta.url).pathname;

/** The guidance patch as the server wires it. */
export const patch: PatchFn = (model, { layers, textInput }) => {
  const { model: bytes, report } = patchAttention(model, { layers, textInput });
  return Promise.resolve({
    model: bytes,
    kinds: [...new Set(report.patched.map((p) => p.kind))],
    inputs: report.inputs,
  });
};

/** Starts an engine on `backend` with the embedded model. */
export function testEngine(backend: BackendChoice = "wasm"): Promise<Engine> {
  return createEngine({ modelsDir: MODELS_DIR, models: ["digits"], backend, patch, log: () => {} });
}
