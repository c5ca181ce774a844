/**
 * The sampler as a browser page imports it: the same modules the server runs, without the ones that
 * touch Deno, the file system, onnxruntime-node, imagescript or CommonJS packages (`create_engine.ts`,
 * `create_backend.ts`, `file_source.ts`, `encode_image.ts`, `patch_cache.ts`, and the SD pipeline, whose
 * preview decoder reads graphs with onnx-proto). Bare imports a page must map (import map): `zod` and
 * `@huggingface/tokenizers` (their ESM builds); onnxruntime-web is passed in as a value to `ortBackend`.
 *
 * @example
 * ```ts
 * import * as ort from "/vendor/onnxruntime-web/ort.wasm.min.mjs";
 * import { loadFlowPipeline, ortBackend, startEngine, urlSource } from "/sampler/browser.ts";
 *
 * const engine = await startEngine({
 *   models: [urlSource(new URL("/models/digits/", location.href))],
 *   backend: ortBackend(ort, { name: "wasm", reason: "this device" }),
 *   loaders: { flow: loadFlowPipeline },
 *   patch: servedPatch, // returns the server's guidance-patched graph and its inputs
 * });
 * const gen = await engine.generate(engine.prepare({ prompt: "a thick seven", seed: 1 }), { onStep });
 * ```
 *
 * @module
 */
export * from "./backend.ts";
export * from "./cfg.ts";
export * from "./engine.ts";
export * from "./errors.ts";
export * from "./euler.ts";
export * from "./flow_pipeline.ts";
export type * from "./guidance_patch.ts";
export * from "./job.ts";
export * from "./job_feeds.ts";
export * from "./manifest.ts";
export * from "./model_files.ts";
export * from "./model_source.ts";
export * from "./pipeline.ts";
export * from "./preview.ts";
export * from "./rng.ts";
export * from "./schedules.ts";
export * from "./text.ts";
export * from "./types.ts";
