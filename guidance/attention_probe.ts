/**
 * Exposes the operands of each attention site as extra graph outputs, so a tool can measure on real
 * inputs the norms the guidance rule works with (‖o_d‖, ‖o_s‖, ‖Δ‖, ‖g‖) and put η on a model's scale.
 *
 * @module
 */
import type { AttentionKind } from "./_classify.ts";
import { decodeModel, encodeModel, proto } from "./_onnx.ts";
import { locateSites } from "./_sites.ts";
import type { AttentionSiteOptions } from "./find_attention_sites.ts";

/** One probed site: the names of the extra outputs that carry its scores S and values V. */
export interface ProbedSite {
  /** Name of the anchor (Softmax) node. */
  node: string;
  kind: AttentionKind;
  /** Output carrying S = QKᵀ·scale (+ mask), [..., queries, keys]. */
  scores: string;
  /** Output carrying V, [..., keys, valueDim]. */
  value: string;
}

/** What {@linkcode probeAttention} returns. */
export interface AttentionProbe {
  /** The model with the extra outputs; everything else unchanged. */
  model: Uint8Array;
  sites: ProbedSite[];
  /** Sites of a form whose scores are not a graph tensor (fused attention), with the reason. */
  skipped: { node: string; reason: string }[];
}

/**
 * Adds each MatMul → Softmax → MatMul attention site's scores and values to the graph outputs, for every
 * site kind (`layers` is ignored). Fused attention (MultiHeadAttention) has no score tensor to expose and
 * is listed in `skipped`.
 *
 * @example
 * ```ts
 * const probe = probeAttention(await Deno.readFile("denoiser.onnx"), { textInput: "text_states" });
 * for (const s of probe.sites) console.log(s.node, s.kind, s.scores, s.value);
 * ```
 */
export function probeAttention(model: Uint8Array, options: AttentionSiteOptions = {}): AttentionProbe {
  const decoded = decodeModel(model);
  const located = locateSites(decoded, { textInput: options.textInput, layers: "all" });
  const graph = decoded.graph!;
  const outputs = new Set((graph.output ?? []).map((o) => o.name));
  const sites: ProbedSite[] = [];
  const skipped: AttentionProbe["skipped"] = [];
  const expose = (name: string, elemType: number) => {
    if (outputs.has(name)) return;
    outputs.add(name);
    graph.output = [
      ...(graph.output ?? []),
      proto.ValueInfoProto.create({ name, type: { tensorType: { elemType } } }),
    ];
  };
  for (const { match, node, kind } of located.sites) {
    const detail = match.detail;
    if (!("scores" in detail)) {
      skipped.push({ node, reason: `${match.form} computes its scores inside one fused node` });
      continue;
    }
    expose(detail.scores, detail.types.scores);
    expose(match.value, detail.types.value);
    sites.push({ node, kind, scores: detail.scores, value: match.value });
  }
  if (!sites.length) {
    throw new Error(
      `Cannot probe attention as no site exposes its scores: current sites are ${
        skipped.map((s) => s.node).join(", ")
      }`,
    );
  }
  return { model: encodeModel(decoded), sites, skipped };
}
