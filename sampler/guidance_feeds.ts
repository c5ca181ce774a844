/**
 * The bridge between a request's guidance settings and the scalar inputs the guidance patch added to a
 * denoiser graph.
 *
 * @module
 */
import type { TensorValue } from "./backend.ts";
import type { ResolvedRequest } from "./request.ts";
import type { LayerKind } from "./types.ts";

/** The patched model and what the patch added. */
export interface PatchedModel {
  model: Uint8Array;
  /** Attention kinds that were patched. */
  kinds: LayerKind[];
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
 * The feeds for the guidance inputs of a patched graph: the combined rule's scalars `a`, `b` for the
 * requested layer kinds (zero for the others), and the shared `η`, `ζ`.
 */
export function guidanceFeeds(
  inputs: readonly string[],
  g: ResolvedRequest["guidance"],
): Record<string, TensorValue> {
  const on = (kind: string) => g.layers === "all" || g.layers === kind;
  // o = o_d + a·Δ + b·min(1, η/‖g‖)·g; none: a = b = 0; PLADIS: a = λ, b = 0; GAG: a = 1, b = w.
  const a = g.mode === "pladis" ? g.scale : g.mode === "gag" ? 1 : 0;
  const b = g.mode === "gag" ? g.scale : 0;
  const feeds: Record<string, TensorValue> = {};
  const scalar = (v: number): TensorValue => ({ data: Float32Array.of(v), dims: [1] });
  for (const name of inputs) {
    const m = /^guidance_(a|b|eta|zeta)(?:_(\w+))?$/.exec(name);
    if (!m) throw new Error(`Cannot feed guidance input '${name}' as its name is not one the patch makes`);
    const [, which, kind] = m;
    if (which === "eta") feeds[name] = scalar(g.eta);
    else if (which === "zeta") feeds[name] = scalar(g.zeta);
    else feeds[name] = scalar(kind && !on(kind) ? 0 : which === "a" ? a : b);
  }
  return feeds;
}
