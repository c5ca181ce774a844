/**
 * Which attention kinds a layer selection covers, and which selections a patched model serves: the one
 * place that maps request and manifest `layers` to the kinds of attention sites.
 *
 * @module
 */
import type { AttentionKind } from "./_classify.ts";

/** The named layer selections of `patchAttention` and `findAttentionSites`. */
export const LAYER_NAMES = ["cross", "self", "joint", "all"] as const;

/** One of {@linkcode LAYER_NAMES}. */
export type LayerName = typeof LAYER_NAMES[number];

/** The layer selections a generation request (and a model manifest) may name. */
export const LAYER_KINDS = ["cross", "self", "all"] as const;

/** One of {@linkcode LAYER_KINDS}. */
export type LayerKind = typeof LAYER_KINDS[number];

const KINDS: Readonly<Record<LayerName, readonly AttentionKind[]>> = {
  cross: ["cross", "joint"],
  self: ["self"],
  joint: ["joint"],
  all: ["cross", "self", "joint"],
};

/**
 * The attention kinds a layer selection covers. "cross" means attention that reads the text: UNet
 * cross-attention and the image-query × text-key block of MMDiT joint attention, so a manifest that
 * says "cross" guides both kinds of model; "joint" alone selects joint sites only.
 *
 * Feed the scalars of a request to every kind this returns (the others get a = b = 0).
 *
 * @example
 * ```ts
 * const kinds = layerKinds("cross"); // ["cross", "joint"]
 * guidanceFeeds(report.inputs, Object.fromEntries(kinds.map((k) => [k, scalars])));
 * ```
 */
export function layerKinds(layers: LayerName): readonly AttentionKind[] {
  return KINDS[layers];
}

/**
 * The request layer selections a model serves, given the attention kinds its patch covers (from the
 * patch report, or `layerKinds(manifest layers)` before the model is loaded): "cross" needs a patched
 * cross or joint site, "self" a patched self-attention site, "all" both.
 *
 * @example
 * ```ts
 * servedLayers(["joint"]); // ["cross"]
 * servedLayers(layerKinds("all")); // ["cross", "self", "all"]
 * ```
 */
export function servedLayers(patched: readonly AttentionKind[]): LayerKind[] {
  const has = (layers: LayerName) => layerKinds(layers).some((k) => patched.includes(k));
  const cross = has("cross"), self = has("self");
  return LAYER_KINDS.filter((l) => (l === "cross" ? cross : l === "self" ? self : cross && self));
}
