/**
 * Attention guidance for ONNX denoisers: the reference math of GAG (Geometry-Aware Attention
 * Guidance) and PLADIS, and a rewriter that puts the rule into the attention of any ONNX model so
 * one session serves every mode and scale through scalar inputs.
 *
 * @example
 * ```ts
 * import { guidanceFeeds, guidanceScalars, patchAttention } from "./guidance/mod.ts";
 *
 * const { model, report } = patchAttention(await Deno.readFile("denoiser.onnx"));
 * const feeds = guidanceFeeds(report.inputs, { cross: guidanceScalars({ mode: "gag", scale: 10 }) });
 * ```
 *
 * @module
 */
export * from "./apply_guidance.ts";
export * from "./entmax15.ts";
export * from "./find_attention_sites.ts";
export * from "./guidance_feeds.ts";
export * from "./guidance_inputs.ts";
export * from "./guidance_scalars.ts";
export * from "./guided_attention.ts";
export * from "./patch_attention.ts";
export * from "./softmax.ts";
