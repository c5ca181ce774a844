/**
 * Rewrites the attention of an ONNX model into the guidance rule, with the rule's scalars as graph inputs.
 *
 * @module
 */
import type { AttentionFormName, Replacement } from "./_attention_forms.ts";
import { ATTENTION_FORMS } from "./_attention_forms.ts";
import type { AttentionKind } from "./_classify.ts";
import { createEmitter } from "./_emitter.ts";
import { emitGuidanceRule } from "./_emit_guidance_rule.ts";
import { emitJointRule } from "./_emit_joint_rule.ts";
import { emitActive, emitGuarded } from "./_emit_guarded.ts";
import type { RuleScalars } from "./_row_scalars.ts";
import {
  DataType,
  decodeModel,
  encodeModel,
  type NodeProto,
  opsetVersion,
  type ValueInfoProto,
} from "./_onnx.ts";
import { locateSites, type SkippedSite } from "./_sites.ts";
import type { AttentionSiteOptions } from "./find_attention_sites.ts";
import { entmaxNewtonSteps } from "./entmax15_newton.ts";
import { GUIDANCE_INPUTS, isGuidanceInput } from "./guidance_inputs.ts";

/** Options of {@linkcode patchAttention}. */
export interface PatchOptions extends AttentionSiteOptions {
  /**
   * Newton steps of the in-graph 1.5-entmax threshold. Default: `entmaxNewtonSteps` of the site's key
   * count where the graph fixes it (4 for up to 16 keys, 6 for up to 4,096), else 8.
   */
  entmaxIterations?: number;
}

/** A patched site. */
export interface PatchedSite {
  /** Name of the anchor node. */
  node: string;
  /** Cross-, self- or joint attention; picks the a and b inputs. */
  kind: AttentionKind;
  /** Which entry of the form table matched. */
  form: AttentionFormName;
}

/** What {@linkcode patchAttention} did. */
export interface PatchReport {
  /** Patched sites in graph order. */
  patched: PatchedSite[];
  /** Unsupported anchors and unselected sites, with reasons. */
  skipped: SkippedSite[];
  /** Graph inputs added, all float32 of shape [rows, 1, 1, 1] (see {@linkcode patchAttention}). */
  inputs: string[];
  /** The text input used for classification, or null. */
  textInput: string | null;
}

/** The oldest default-domain opset the rewriter emits for (ReduceSum with axes as input, Softmax on one axis). */
export const MIN_OPSET = 13;

/** A per-row guidance input: float32 [rows, 1, 1, 1]. */
function rowInput(name: string): ValueInfoProto {
  const dim = [{ dimParam: "guidance_rows" }, { dimValue: 1 }, { dimValue: 1 }, { dimValue: 1 }];
  return { name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim } } } };
}

/**
 * Rewrites the attention of an ONNX model so one session serves every guidance mode: each selected
 * site computes o = o_d + a·Δ + b·min(1, η/‖g‖)·g (see `applyGuidance`) from float32 inputs named
 * `guidance_a_<kind>`, `guidance_b_<kind>` (kind: cross, self, joint), `guidance_eta` and
 * `guidance_zeta`; feeding a = b = 0 reproduces the original model.
 *
 * The inputs are per batch row, of shape [rows, 1, 1, 1], so rows with different modes and scales share
 * one run; rows is the batch size, or 1 for one setting for every row (all four inputs alike). A site's
 * leading axis is taken to be the batch ([batch, heads, …] at rank 4 and more) or batch and heads
 * folded batch-major ([batch·heads, …] at rank 3), as torch exports them.
 *
 * @param model a serialized ONNX model (opset 13 or newer, no external data)
 * @returns the patched model and a report of what was patched and skipped
 * @throws when the model is already patched, has no supported attention, or nothing is selected
 *
 * @example
 * ```ts
 * const { model, report } = patchAttention(await Deno.readFile("unet.onnx"), { layers: "cross" });
 * console.log(report.patched.map((s) => s.node), report.inputs);
 * ```
 */
export function patchAttention(
  model: Uint8Array,
  options: PatchOptions = {},
): { model: Uint8Array; report: PatchReport } {
  const { entmaxIterations } = options;
  if (
    entmaxIterations !== undefined &&
    (!Number.isInteger(entmaxIterations) || entmaxIterations < 0 || entmaxIterations > 64)
  ) {
    throw new Error(
      `Cannot patch attention as 'entmaxIterations' must be an integer from 0 to 64: current value is ${entmaxIterations}`,
    );
  }
  const proto = decodeModel(model);
  const graph = proto.graph;
  const existing = (graph?.input ?? []).map((v) => v.name ?? "").filter(isGuidanceInput);
  if (existing.length > 0) {
    throw new Error(
      `Cannot patch attention as the model is already patched: current guidance inputs are ${
        existing.join(", ")
      }`,
    );
  }
  const opset = opsetVersion(proto) ?? 0;
  if (opset < MIN_OPSET) {
    throw new Error(
      `Cannot patch attention as opset ${MIN_OPSET} or newer is required: current value is ${opset}`,
    );
  }
  const { index, shapes, sites, skipped, textInput } = locateSites(proto, options);
  const selected = sites.filter((s) => s.selected);
  if (selected.length === 0) {
    const unsupported = skipped.filter((s) => !sites.some((site) => site.node === s.node));
    throw new Error(
      `Cannot patch attention as no site matches the selection: current sites are ${
        sites.map((s) => `${s.node} (${s.kind})`).join(", ")
      }${
        unsupported.length
          ? `; unsupported: ${unsupported.map((s) => `${s.node} (${s.reason})`).join(", ")}`
          : ""
      }`,
    );
  }

  const taken = new Set<string>();
  for (const node of index.nodes) {
    taken.add(node.name ?? "");
    for (const name of [...(node.input ?? []), ...(node.output ?? [])]) taken.add(name);
  }
  for (const name of [...index.initializers.keys(), ...index.valueInfo.keys()]) taken.add(name);
  const kinds = [...new Set(selected.map((s) => s.kind))].sort();
  const inputs = [
    ...kinds.flatMap((k) => [GUIDANCE_INPUTS.a(k), GUIDANCE_INPUTS.b(k)]),
    GUIDANCE_INPUTS.eta,
    GUIDANCE_INPUTS.zeta,
  ];
  for (const name of inputs) {
    if (taken.has(name)) {
      throw new Error(
        `Cannot patch attention as the name '${name}' is already used in the graph: current value is taken`,
      );
    }
    taken.add(name);
  }

  const e = createEmitter(taken, opset);
  const scalarsOf = (kind: AttentionKind): RuleScalars => ({
    a: GUIDANCE_INPUTS.a(kind),
    b: GUIDANCE_INPUTS.b(kind),
    eta: GUIDANCE_INPUTS.eta,
    zeta: GUIDANCE_INPUTS.zeta,
  });
  // One flag per kind, computed first from the inputs alone, so it precedes every site.
  const active = new Map(kinds.map((k) => [k, e.scoped(`GAG_${k}`, () => emitActive(e, scalarsOf(k)))]));
  const preamble = e.nodes.splice(0);
  const replacements = new Map<NodeProto, NodeProto[]>();
  const counters = new Map<AttentionKind, number>();
  for (const site of selected) {
    const n = counters.get(site.kind) ?? 0;
    counters.set(site.kind, n + 1);
    const form = ATTENTION_FORMS.find((f) => f.name === site.match.form)!;
    const scalars = scalarsOf(site.kind);
    // Entmax runs over the text keys alone at joint sites.
    const { tensor, axis } = site.joint
      ? { tensor: site.joint.keys.text, axis: site.joint.keys.axis }
      : site.match.keys;
    const keys = shapes.shape(tensor)?.at(axis);
    const steps = entmaxIterations ?? entmaxNewtonSteps(keys);
    // P·V has the rank of P and V when they agree (no broadcasting between them).
    const commonRank = ({ scores, value }: { scores: string; value: string }) => {
      const rank = shapes.shape(scores)?.length;
      return rank !== undefined && rank === shapes.shape(value)?.length ? rank : undefined;
    };
    const start = e.nodes.length;
    const replacement: Replacement = e.scoped(
      `GAG_${site.kind}_${n}`,
      () =>
        form.rewrite(
          index,
          site.match,
          e,
          (tensors) =>
            emitGuarded(e, active.get(site.kind)!, { rank: commonRank(tensors), ...tensors }, (full) => {
              if (site.joint) emitJointRule(e, full, site.joint, scalars, steps);
              else emitGuidanceRule(e, full, scalars, steps);
            }),
        ),
    );
    replacements.set(replacement.node, [...replacement.nodes, ...e.nodes.slice(start)]);
  }

  graph!.node = [...preamble, ...index.nodes.flatMap((node) => replacements.get(node) ?? [node])];
  graph!.initializer = [...(graph!.initializer ?? []), ...e.initializers];
  graph!.input = [...(graph!.input ?? []), ...inputs.map(rowInput)];
  return {
    model: encodeModel(proto),
    report: {
      patched: selected.map((s) => ({ node: s.node, kind: s.kind, form: s.match.form })),
      skipped,
      inputs,
      textInput,
    },
  };
}
