import type { AttentionKind } from "./_classify.ts";

/** The named layer selections of `patchAttention` and `findAttentionSites`. */
export const LAYER_NAMES = ["cross", "self", "joint", "all"] as const;

/** One of {@linkcode LAYER_NAMES}. */
export type LayerName = typeof LAYER_NAMES[number];

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
