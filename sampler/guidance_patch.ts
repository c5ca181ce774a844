/**
 * The guidance patch as the engine applies it to a denoiser: {@linkcode PatchFn} and its default,
 * {@linkcode guidancePatch}, which runs guidance/'s `patchAttention`.
 *
 * @module
 */
import { type AttentionKind, type LayerKind, patchAttention } from "../guidance/mod.ts";

/** The patched model and what the patch added. */
export interface PatchedModel {
  model: Uint8Array;
  /** Attention kinds that were patched. */
  kinds: AttentionKind[];
  /** Graph inputs the patch added (`guidance_a_cross`, `guidance_eta`, …). */
  inputs: string[];
}

/** Options a pipeline passes to the patch function. */
export interface PatchRequest {
  layers: LayerKind;
  textInput: string;
  /** The source file, for cache keys and messages. */
  path: string;
}

/** Patches a denoiser for guidance; the engine's default comes from guidance/. */
export type PatchFn = (model: Uint8Array, request: PatchRequest) => Promise<PatchedModel>;

/** The guidance patch of guidance/ as a {@linkcode PatchFn}; its errors name the model file. */
export const guidancePatch: PatchFn = (model, { layers, textInput, path }) => {
  let patched: ReturnType<typeof patchAttention>;
  try {
    patched = patchAttention(model, { layers, textInput });
  } catch (e) {
    return Promise.reject(
      new Error(`Cannot patch ${path} for guidance: ${(e as Error).message}`, { cause: e }),
    );
  }
  const { model: bytes, report } = patched;
  return Promise.resolve({
    model: bytes,
    kinds: [...new Set(report.patched.map((p) => p.kind))],
    inputs: report.inputs,
  });
};
