/**
 * Shared set-up of the guidance tests on onnxruntime-web's wasm execution provider: one wasm thread, and
 * session options that pick wasm.
 *
 * @module
 */
import * as ort from "onnxruntime-web";

ort.env.wasm.numThreads = 1;

export { ort };

/** The wasm execution provider only. */
export const options: ort.InferenceSession.SessionOptions = { executionProviders: ["wasm"] };
