/**
 * The bridge between a request's guidance settings and the scalar inputs the guidance patch added to a
 * denoiser graph.
 *
 * @module
 */
import { guidanceFeeds as feedsFor, guidanceScalars, layerKinds, patchAttention } from "../guidance/mod.ts";
import type { TensorValue } from "./backend.ts";
import type { Job } from "./job.ts";
import type { AttentionKind, LayerKind } from "../guidance/mod.ts";

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

/**
 * The feeds for the guidance inputs of a patched graph: the rule's scalars for the requested layer kinds
 * (a = b = 0 for the others, which then reproduce the model), and the shared η, ζ.
 */
export function guidanceFeeds(
  inputs: readonly string[],
  g: Job["guidance"],
): Record<string, TensorValue> {
  const scalars = guidanceScalars(g);
  // "cross" also covers MMDiT joint attention (guidance's layerKinds), "all" every kind.
  const kinds = layerKinds(g.layers);
  return feedsFor(inputs, Object.fromEntries(kinds.map((k) => [k, scalars])));
}

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
