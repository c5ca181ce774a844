/**
 * Finds the attention sites of an ONNX model and classifies them as cross-, self- or joint attention.
 *
 * @module
 */
import type { AttentionFormName } from "./_attention_forms.ts";
import type { AttentionKind } from "./_classify.ts";
import { decodeModel } from "./_onnx.ts";
import { type LayerSelection, locateSites, type SkippedSite } from "./_sites.ts";

export type { AttentionFormName, AttentionKind, LayerSelection, SkippedSite };

/** Options shared by {@linkcode findAttentionSites} and `patchAttention`. */
export interface AttentionSiteOptions {
  /**
   * The text-conditioning graph input. Default: the one input named like `encoder_hidden_states`,
   * `text` or `context` (an error when there are none or several); `null`: no text input, every
   * site is self-attention.
   */
  textInput?: string | null;
  /** Sites to select: "cross" (default), "self", "all" or a RegExp on the anchor node's name. */
  layers?: LayerSelection;
}

/** One attention site of a model. */
export interface AttentionSite {
  /** Name of the anchor node (the Softmax, or the MultiHeadAttention node). */
  node: string;
  /** Cross-, self- or joint (MMDiT) attention. */
  kind: AttentionKind;
  /** Which entry of the form table matched. */
  form: AttentionFormName;
  /** Tensor feeding Q. */
  query: string;
  /** Tensor feeding K (Kᵀ for the MatMul form). */
  key: string;
  /** Tensor feeding V. */
  value: string;
  /** Whether `layers` selects the site. */
  selected: boolean;
}

/** What {@linkcode findAttentionSites} returns. */
export interface AttentionSiteList {
  /** Matched sites in graph order. */
  sites: AttentionSite[];
  /** Anchors that are not attention of a supported form, and unselected sites, with reasons. */
  skipped: SkippedSite[];
  /** The text input used for classification, or null. */
  textInput: string | null;
}

/**
 * Lists the attention sites of an ONNX model, classified as cross- or self-attention.
 *
 * @throws when the model has no supported attention or the text input cannot be resolved
 *
 * @example
 * ```ts
 * const { sites } = findAttentionSites(await Deno.readFile("denoiser.onnx"), { layers: "all" });
 * for (const site of sites) console.log(site.node, site.kind, site.form);
 * ```
 */
export function findAttentionSites(model: Uint8Array, options: AttentionSiteOptions = {}): AttentionSiteList {
  const located = locateSites(decodeModel(model), options);
  return {
    sites: located.sites.map(({ match, node, kind, selected }) => ({
      node,
      kind,
      form: match.form,
      query: match.query,
      key: match.key,
      value: match.value,
      selected,
    })),
    skipped: located.skipped,
    textInput: located.textInput,
  };
}
