/**
 * Locating and classifying attention sites, shared by listing and patching.
 *
 * @module
 */
import { ATTENTION_FORMS, type AttentionMatch } from "./_attention_forms.ts";
import { type AttentionKind, createClassifier, resolveTextInput } from "./_classify.ts";
import { buildGraphIndex, type GraphIndex } from "./_graph_index.ts";
import type { ModelProto, NodeProto } from "./_onnx.ts";

/** Which sites to patch: by kind, all, or by a pattern on the anchor node's name. */
export type LayerSelection = "cross" | "self" | "all" | RegExp;

/** An anchor node that was not patched, and why. */
export interface SkippedSite {
  /** Name of the anchor node. */
  node: string;
  /** Why it was not patched. */
  reason: string;
}

/** A located site with its kind and whether the selection takes it. */
export interface LocatedSite {
  match: AttentionMatch;
  node: string;
  kind: AttentionKind;
  selected: boolean;
}

/** Sites of one graph. */
export interface LocatedSites {
  index: GraphIndex;
  textInput: string | null;
  sites: LocatedSite[];
  skipped: SkippedSite[];
}

/** The name a node is reported under: its own, or op type and position when it has none. */
export function nodeLabel(index: GraphIndex, node: NodeProto): string {
  return node.name || `${node.opType}#${index.position.get(node)}`;
}

function describe(layers: LayerSelection): string {
  return layers instanceof RegExp ? String(layers) : `'${layers}'`;
}

/** Validates a `layers` option. */
export function checkLayers(layers: unknown): LayerSelection {
  if (layers instanceof RegExp || layers === "cross" || layers === "self" || layers === "all") return layers;
  throw new Error(
    `Cannot select attention layers as 'layers' must be cross, self, all or a RegExp: current value is ${
      String(layers)
    }`,
  );
}

/**
 * Finds every anchor of every attention form, matches it, classifies the matches and applies the
 * layer selection. Throws when the model has no graph or no attention site at all.
 */
export function locateSites(
  model: ModelProto,
  { textInput, layers = "cross" }: { textInput?: string | null; layers?: LayerSelection },
): LocatedSites {
  const selection = checkLayers(layers);
  if (!model.graph) {
    throw new Error("Cannot find attention as the model has no graph: current value is empty");
  }
  const index = buildGraphIndex(model.graph);
  const matches: AttentionMatch[] = [];
  const skipped: SkippedSite[] = [];
  for (const node of index.nodes) {
    for (const form of ATTENTION_FORMS) {
      if (node.opType !== form.opType || (node.domain ?? "") !== form.domain) continue;
      const match = form.match(index, node);
      if (typeof match === "string") skipped.push({ node: nodeLabel(index, node), reason: match });
      else matches.push(match);
    }
  }
  if (matches.length === 0) {
    const reasons = skipped.map((s) => `${s.node}: ${s.reason}`).join("; ");
    throw new Error(
      `Cannot find attention as no node matches a supported attention form: current candidates are ${
        reasons || "none"
      }`,
    );
  }
  const resolved = resolveTextInput(index, textInput);
  const classify = createClassifier(index, resolved);
  // A stateless copy: `test` on a /g or /y pattern would depend on earlier calls.
  const pattern = selection instanceof RegExp
    ? new RegExp(selection.source, selection.flags.replace(/[gy]/g, ""))
    : null;
  const sites = matches.map((match) => {
    const node = nodeLabel(index, match.anchor);
    const kind = match.kind ?? classify(match.query, match.key, match.value);
    const selected = pattern ? pattern.test(node) : selection === "all" || selection === kind;
    if (!selected) {
      skipped.push({ node, reason: `${kind}-attention is not selected by layers ${describe(selection)}` });
    }
    return { match, node, kind, selected };
  });
  return { index, textInput: resolved, sites, skipped };
}
