/**
 * Locating and classifying attention sites, shared by listing and patching.
 *
 * @module
 */
import { ATTENTION_FORMS, type AttentionMatch } from "./_attention_forms.ts";
import { type AttentionKind, createClassifier, resolveTextInput, sourceMasks } from "./_classify.ts";
import { buildGraphIndex, type GraphIndex } from "./_graph_index.ts";
import { type JointLayout, matchJoint } from "./_joint.ts";
import type { ModelProto, NodeProto } from "./_onnx.ts";
import { inferShapes, type ShapeInference } from "./_shapes.ts";
import { LAYER_NAMES, layerKinds, type LayerName } from "./layer_kinds.ts";

/**
 * Which sites to patch: by name ("cross" takes joint sites too, see `layerKinds`), or by a pattern on
 * the anchor node's name.
 */
export type LayerSelection = LayerName | RegExp;

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
  /** The token layout of a joint site. */
  joint?: JointLayout;
}

/** Sites of one graph. */
export interface LocatedSites {
  index: GraphIndex;
  shapes: ShapeInference;
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
  if (layers instanceof RegExp || LAYER_NAMES.includes(layers as LayerName)) return layers as LayerSelection;
  throw new Error(
    `Cannot select attention layers as 'layers' must be ${
      LAYER_NAMES.join(", ")
    } or a RegExp: current value is ${String(layers)}`,
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
  const shapes = inferShapes(index);
  const streams = {
    masks: sourceMasks(index, new Set(matches.map((m) => m.output))),
    text: resolved === null ? 0n : 1n << BigInt(index.inputs.indexOf(resolved)),
    shapes,
  };
  // A stateless copy: `test` on a /g or /y pattern would depend on earlier calls.
  const pattern = selection instanceof RegExp
    ? new RegExp(selection.source, selection.flags.replace(/[gy]/g, ""))
    : null;
  const sites: LocatedSite[] = [];
  for (const match of matches) {
    const node = nodeLabel(index, match.anchor);
    const joint = matchJoint(index, streams, match);
    if (typeof joint === "string") {
      skipped.push({ node, reason: joint });
      continue;
    }
    const kind = joint ? "joint" : match.kind ?? classify(match.query, match.key, match.value);
    const selected = pattern ? pattern.test(node) : layerKinds(selection as LayerName).includes(kind);
    if (!selected) {
      skipped.push({ node, reason: `${kind}-attention is not selected by layers ${describe(selection)}` });
    }
    sites.push({ match, node, kind, selected, ...(joint ? { joint } : {}) });
  }
  return { index, shapes, textInput: resolved, sites, skipped };
}
