/**
 * The generation engine: backends, model manifests, few-step samplers, seeded noise and previews.
 *
 * @module
 */
export * from "./backend.ts";
export * from "./batcher.ts";
export * from "./create_backend.ts";
export * from "./create_engine.ts";
export * from "./encode_image.ts";
export * from "./engine.ts";
export * from "./file_source.ts";
export * from "./errors.ts";
export * from "./euler.ts";
export * from "./guidance_patch.ts";
export * from "./job_feeds.ts";
export * from "./manifest.ts";
export * from "./model_files.ts";
export * from "./model_source.ts";
export * from "./preview.ts";
export * from "./job.ts";
export * from "./rng.ts";
export * from "./schedules.ts";
export * from "./text.ts";
export * from "./types.ts";
export * from "./flow_pipeline.ts";
export * from "./pipeline.ts";
export * from "./patch_cache.ts";
export * from "./sd_pipeline.ts";
export * from "./cfg.ts";
