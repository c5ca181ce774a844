/**
 * Attention guidance for ONNX denoisers: the reference math of GAG (Geometry-Aware Attention
 * Guidance) and PLADIS, and a rewriter that puts the rule into the attention of any ONNX model so
 * one session serves every mode and scale through scalar inputs.
 *
 * The rule, per token and head over the head dimension, with S = QKᵀ·scale,
 * o_d = softmax(S)V and o_s = entmax₁.₅(S)V:
 * o = o_d + a·Δ + b·min(1, η/‖g‖)·g, Δ = o_s − o_d, g = Δ∥ + ζΔ⊥ (Δ split along o_s).
 * None is a = b = 0, PLADIS is a = λ, b = 0, GAG is a = 1, b = w ({@linkcode guidanceScalars}).
 *
 * The patched graph reads `guidance_a_<kind>` and `guidance_b_<kind>` for each patched kind
 * (cross, self, joint) and the shared `guidance_eta` and `guidance_zeta`, all float32 of shape
 * [rows, 1, 1, 1], one value per batch row or one for all ({@linkcode guidanceFeeds} builds them;
 * {@linkcode layerKinds} says which kinds a request's layers cover). Each site's rule runs inside an
 * `If`, so a call in which no row has a ≠ 0 or b ≠ 0 runs the model's own attention only. Choices and
 * limits:
 * - Forms: MatMul → [Mul|Div] → [Add mask] → Softmax(last axis) → MatMul, with optional Casts, as
 *   torch exports attention; and com.microsoft MultiHeadAttention with separate q, k, v
 *   [B, S, hidden] inputs and an optional packed q/k/v `bias` (unfused into plain ops). Packed QKV/KV,
 *   key_padding_mask, attention_bias, past key/value, causal and BNSH-shaped inputs are reported as
 *   skipped with the reason.
 * - Cross versus self by reachability from the text input (default: the input named like
 *   encoder_hidden_states, text or context), ignoring dependencies through Shape/Size.
 * - Joint attention (MMDiT: SD3, FLUX), where keys and values concatenate text and image tokens in
 *   one softmax, is found by tracing keys and values back to that Concat and classifying its operands
 *   by reachability with attention outputs cut (so later blocks classify too). The rule acts on the
 *   image-query × text-key block and goes back in by its softmax mass; text queries and the image-key
 *   part are untouched ({@linkcode jointGuidedAttention} has the equations and the choices).
 * - The rule and 1.5-entmax (a fixed number of Newton steps on ‖(y − τ)₊‖ = 1 by the site's key
 *   count, {@linkcode entmax15Newton}) run in float32 even in float16 graphs: inputs are cast up and
 *   the output back, so the threshold keeps float32 resolution and no float16 kernel is needed for the
 *   new ops. An unfused float16 MultiHeadAttention is computed in float32 for the same reason.
 * - Only ops that onnxruntime-web's wasm and WebGPU providers both run; opset 13 or newer.
 * - onnx-proto carries the ONNX 1.10 schema: newer proto fields are dropped, and models with
 *   external data are not supported.
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
export * from "./attention_probe.ts";
export * from "./entmax15.ts";
export * from "./entmax15_newton.ts";
export * from "./find_attention_sites.ts";
export * from "./guidance_feeds.ts";
export * from "./guidance_inputs.ts";
export * from "./guidance_scalars.ts";
export * from "./guided_attention.ts";
export * from "./joint_attention.ts";
export * from "./layer_kinds.ts";
export * from "./patch_attention.ts";
export * from "./softmax.ts";
