/**
 * The attention forms the rewriter recognises, one table entry per form: the anchor op, a matcher
 * that walks back from the anchor, and a rewrite that hands the form's scores, values and softmax
 * output to the shared guidance rule.
 *
 * Joint attention (MMDiT) is not a form of its own: it is a layout of keys and values that any form
 * can have, detected after matching (`_joint.ts`) and handed to a different rule.
 *
 * @module
 */
import type { AttentionKind } from "./_classify.ts";
import type { Emitter } from "./_emitter.ts";
import {
  elemTypeOf,
  type GraphIndex,
  isConstant,
  matchParentPath,
  type PathStep,
  shapeOf,
} from "./_graph_index.ts";
import type { RuleTensors } from "./_emit_guidance_rule.ts";
import {
  attr,
  DATA_TYPE_NAMES,
  DataType,
  floatAttribute,
  getAttribute,
  intAttribute,
  type NodeProto,
  tensorDims,
} from "./_onnx.ts";

/** Names of the forms in {@linkcode ATTENTION_FORMS}. */
export type AttentionFormName = "matmul_softmax" | "multi_head_attention";

/** A matched attention site. */
export interface AttentionMatch {
  form: AttentionFormName;
  /** The node the matcher started from; its name identifies the site. */
  anchor: NodeProto;
  /** Tensors that feed Q, K and V, for classification. */
  query: string;
  key: string;
  value: string;
  /** Set by forms whose kind follows from their structure rather than from reachability. */
  kind?: AttentionKind;
  /** A tensor whose `axis` runs over the keys (Kᵀ or K), for the static key count. */
  keys: { tensor: string; axis: number };
  /** The token axes (negative) of `query`, `key` and `value`, for joint detection. */
  tokenAxes: { query: number; key: number; value: number };
  /** The attention output o = softmax(S)V (before heads are merged). */
  output: string;
  /** Form-specific state for the rewrite. */
  detail: MatMulSoftmaxDetail | MultiHeadAttentionDetail;
}

/** Replace `node` in the node list by `nodes`, keeping its position (and so topological order). */
export interface Replacement {
  node: NodeProto;
  nodes: NodeProto[];
}

/** Emits the guidance rule for one site. */
export type EmitRule = (tensors: RuleTensors) => void;

/** One attention form. */
export interface AttentionForm {
  name: AttentionFormName;
  opType: string;
  domain: string;
  /** Returns the site, or why the anchor is not a supported attention. */
  match(index: GraphIndex, anchor: NodeProto): AttentionMatch | string;
  /** Rewrites a matched site; nodes are emitted into `e`, whose emitted nodes the caller places. */
  rewrite(index: GraphIndex, site: AttentionMatch, e: Emitter, rule: EmitRule): Replacement;
}

const FLOATS: readonly number[] = [DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE, DataType.BFLOAT16];

function typeName(type: number | undefined): string {
  return type === undefined ? "unknown" : (DATA_TYPE_NAMES[type] ?? String(type));
}

// ---------------------------------------------------------------------------- MatMul → Softmax → MatMul

interface MatMulSoftmaxDetail {
  /** The Softmax input S. */
  scores: string;
  /** The MatMul that computes softmax(S)·V. */
  output: NodeProto;
  types: { scores: number; value: number; dense: number };
}

const QK: PathStep = { op: "MatMul" };
const SCALE: PathStep = { op: ["Mul", "Div"] };
const MASK: PathStep = { op: "Add" };
const CAST: PathStep = { op: "Cast" };

/** Ways from the Softmax input back to Q·Kᵀ: scale in the graph, folded into Q or absent, optional mask. */
const CORE_PATHS: readonly (readonly PathStep[])[] = [
  [QK],
  [SCALE, QK],
  [MASK, QK],
  [MASK, SCALE, QK],
  [SCALE, MASK, QK],
];

/** The core paths, each also behind a Cast (scores upcast for Softmax) or with a Cast after its first op. */
const SCORE_PATHS: readonly (readonly PathStep[])[] = CORE_PATHS.flatMap((path) => [
  path,
  [CAST, ...path],
  ...(path.length > 1 ? [[path[0], CAST, ...path.slice(1)]] : []),
]);

function matchMatMulSoftmax(index: GraphIndex, softmax: NodeProto): AttentionMatch | string {
  const scores = softmax.input?.[0] ?? "";
  const axis = intAttribute(softmax, "axis", -1);
  if (axis !== -1) {
    const rank = shapeOf(index, scores)?.length;
    if (rank === undefined) return `Softmax axis is ${axis} and the rank of its input is not declared`;
    if (axis !== rank - 1) return `Softmax axis is ${axis}, not the last axis of its rank-${rank} input`;
  }
  let qk: NodeProto | undefined;
  for (const path of SCORE_PATHS) {
    qk = matchParentPath(index, softmax, [{ ...path[0], input: 0 }, ...path.slice(1)])?.at(-1);
    if (qk) break;
  }
  if (!qk) return "Softmax input is not computed from a Q·Kᵀ MatMul";
  const [query, key] = qk.input ?? [];
  if (isConstant(index, query) || isConstant(index, key)) return "the Q·Kᵀ MatMul has a constant operand";

  const probs = softmax.output?.[0] ?? "";
  let fed = probs;
  let readers = index.consumers.get(probs) ?? [];
  if (readers.length === 1 && readers[0].opType === "Cast") {
    if (index.outputs.includes(fed)) return "Softmax output is also a graph output";
    fed = readers[0].output?.[0] ?? "";
    readers = index.consumers.get(fed) ?? [];
  }
  if (index.outputs.includes(fed)) return "Softmax output is also a graph output";
  if (readers.length !== 1) {
    return `Softmax output has ${readers.length} readers instead of one MatMul with V`;
  }
  const output = readers[0];
  if (output.opType !== "MatMul") return `Softmax output feeds ${output.opType} instead of a MatMul with V`;
  if (output.input?.[0] !== fed) return "Softmax output is the second operand of its MatMul";
  const value = output.input?.[1] ?? "";
  const types = {
    scores: elemTypeOf(index, scores),
    value: elemTypeOf(index, value),
    dense: elemTypeOf(index, output.output?.[0] ?? ""),
  };
  for (const [name, type] of Object.entries(types)) {
    if (type === undefined || !FLOATS.includes(type)) {
      return `the element type of the ${name} tensor is ${typeName(type)}, not a known float type`;
    }
  }
  return {
    form: "matmul_softmax",
    anchor: softmax,
    query,
    key,
    value,
    keys: { tensor: key, axis: -1 },
    tokenAxes: { query: -2, key: -1, value: -2 },
    output: output.output?.[0] ?? "",
    detail: { scores, output, types: types as MatMulSoftmaxDetail["types"] },
  };
}

function rewriteMatMulSoftmax(
  _index: GraphIndex,
  site: AttentionMatch,
  e: Emitter,
  rule: EmitRule,
): Replacement {
  const { scores, output, types } = site.detail as MatMulSoftmaxDetail;
  // The original MatMul keeps computing o_d under a new name; the rule takes over its output name.
  const original = output.output?.[0] ?? "";
  const dense = e.unique(`${output.name || "MatMul"}_dense`);
  const renamed = { ...output, output: [dense] };
  rule({
    scores,
    value: output.input?.[1] ?? "",
    dense,
    output: original,
    probs: site.anchor.output?.[0],
    types: { ...types, probs: types.scores },
  });
  return { node: output, nodes: [renamed] };
}

// ---------------------------------------------------------------------------- com.microsoft MultiHeadAttention

interface MultiHeadAttentionDetail {
  heads: number;
  /** The packed q/k/v bias input, if any. */
  bias?: string;
  /** The `scale` attribute, or undefined for 1/√headSize. */
  scale?: number;
  /** Head size when it is known statically. */
  headSize?: number;
  type: number;
}

const MHA_OPTIONAL_INPUTS = [
  "bias",
  "key_padding_mask",
  "attention_bias",
  "past_key",
  "past_value",
  "past_sequence_length",
  "cache_indirection",
];

/** The static last dim of a tensor, looking through casts and linear layers with constant weights. */
function staticLastDim(index: GraphIndex, name: string, depth = 0): number | undefined {
  const declared = shapeOf(index, name)?.at(-1);
  if (declared !== undefined || depth > 4) return declared;
  const node = index.producer.get(name);
  if (!node) return undefined;
  const [a, b] = node.input ?? [];
  switch (node.opType) {
    case "Cast":
    case "Identity":
      return staticLastDim(index, a, depth + 1);
    case "MatMul":
      return index.initializers.has(b) ? tensorDims(index.initializers.get(b)!).at(-1) : undefined;
    case "Add":
      return staticLastDim(index, a, depth + 1) ?? staticLastDim(index, b, depth + 1);
    default:
      return undefined;
  }
}

function matchMultiHeadAttention(index: GraphIndex, node: NodeProto): AttentionMatch | string {
  const inputs = node.input ?? [];
  const [query, key, value] = inputs;
  if (!query) return "MultiHeadAttention has no query input";
  if (!key || !value) return "packed QKV input (no separate key and value) is not supported";
  for (let i = 4; i < inputs.length; i++) {
    if (inputs[i]) return `input ${i} (${MHA_OPTIONAL_INPUTS[i - 3] ?? "unknown"}) is not supported`;
  }
  const bias = inputs[3] || undefined;
  if (bias) {
    const [q, v] = [staticLastDim(index, query), staticLastDim(index, value)];
    if (q !== undefined && v !== undefined && q !== v) {
      return `bias with a value hidden size (${v}) other than the query's (${q}) is not supported`;
    }
  }
  const outputs = node.output ?? [];
  for (let i = 1; i < outputs.length; i++) {
    if (
      outputs[i] && ((index.consumers.get(outputs[i])?.length ?? 0) > 0 || index.outputs.includes(outputs[i]))
    ) {
      return `output ${i} (${["present_key", "present_value", "qk"][i - 1] ?? "unknown"}) is used`;
    }
  }
  if (intAttribute(node, "unidirectional", 0) !== 0) {
    return "unidirectional (causal) attention is not supported";
  }
  const heads = intAttribute(node, "num_heads", 0);
  if (heads <= 0) return `num_heads must be positive: current value is ${heads}`;
  for (const [label, name] of [["query", query], ["key", key], ["value", value]]) {
    const rank = shapeOf(index, name)?.length;
    if (rank !== undefined && rank !== 3) {
      return `${label} has rank ${rank}; only [batch, sequence, hidden] inputs are supported`;
    }
  }
  const type = elemTypeOf(index, query);
  if (type === undefined || !FLOATS.includes(type)) {
    return `the element type of the query is ${typeName(type)}, not a known float type`;
  }
  const scale = getAttribute(node, "scale") ? floatAttribute(node, "scale", 0) : 0;
  const hidden = staticLastDim(index, query);
  return {
    form: "multi_head_attention",
    anchor: node,
    query,
    key,
    value,
    keys: { tensor: key, axis: 1 },
    tokenAxes: { query: -2, key: -2, value: -2 },
    output: node.output?.[0] ?? "",
    detail: {
      heads,
      bias,
      scale: scale > 0 ? scale : undefined,
      headSize: hidden !== undefined ? hidden / heads : undefined,
      type,
    },
  };
}

function rewriteMultiHeadAttention(
  _index: GraphIndex,
  site: AttentionMatch,
  e: Emitter,
  rule: EmitRule,
): Replacement {
  const { heads, bias, scale, headSize, type } = site.detail as MultiHeadAttentionDetail;
  const node = site.anchor;
  const float = (name: string) =>
    type === DataType.FLOAT ? name : e.op("Cast", [name], { attributes: [attr.int("to", DataType.FLOAT)] });
  // The bias packs q, k and v biases of equal size: split it in three equal parts.
  const biases = bias ? [0, 1, 2].map((i) => e.unique(`${node.name || "MultiHeadAttention"}_bias_${i}`)) : [];
  if (bias) {
    const attributes = e.opset >= 18
      ? [attr.int("axis", 0), attr.int("num_outputs", 3)]
      : [attr.int("axis", 0)];
    e.op("Split", [float(bias)], { attributes, outputs: biases, name: "SplitBias" });
  }
  const biased = (name: string, i: number) => (bias ? e.op("Add", [float(name), biases[i]]) : float(name));
  // Unfused in float32 so that fp16 models run where fp16 MatMul/Softmax kernels are missing.
  const split = e.int64([0, 0, heads, -1]);
  const toHeads = (name: string, i: number, perm: number[]) =>
    e.op("Transpose", [e.op("Reshape", [biased(name, i), split])], { attributes: [attr.ints("perm", perm)] });
  const q = toHeads(site.query, 0, [0, 2, 1, 3]);
  const kT = toHeads(site.key, 1, [0, 2, 3, 1]);
  const v = toHeads(site.value, 2, [0, 2, 1, 3]);
  const raw = e.op("MatMul", [q, kT], { name: "QK" });
  let scores: string;
  if (scale !== undefined || headSize !== undefined) {
    scores = e.op("Mul", [raw, e.float(scale ?? 1 / Math.sqrt(headSize!))], { name: "Scale" });
  } else {
    const size = e.op("Gather", [e.op("Shape", [q]), e.int64([3], [])], {
      attributes: [attr.int("axis", 0)],
    });
    const root = e.op("Sqrt", [e.op("Cast", [size], { attributes: [attr.int("to", DataType.FLOAT)] })]);
    scores = e.op("Div", [raw, root], { name: "Scale" });
  }
  const probs = e.op("Softmax", [scores], { attributes: [attr.int("axis", -1)] });
  const dense = e.op("MatMul", [probs, v], { name: "DenseOutput" });
  const guided = e.unique(`${node.name || "MultiHeadAttention"}_guided`);
  rule({ scores, value: v, dense, output: guided, probs, rank: 4 });
  const merged = e.op("Reshape", [
    e.op("Transpose", [guided], { attributes: [attr.ints("perm", [0, 2, 1, 3])] }),
    e.int64([0, 0, -1]),
  ], type === DataType.FLOAT ? { outputs: [node.output?.[0] ?? ""] } : {});
  if (type !== DataType.FLOAT) {
    e.op("Cast", [merged], { attributes: [attr.int("to", type)], outputs: [node.output?.[0] ?? ""] });
  }
  return { node, nodes: [] };
}

/** The attention forms, tried on every node whose op type and domain match. */
export const ATTENTION_FORMS: readonly AttentionForm[] = [
  {
    name: "matmul_softmax",
    opType: "Softmax",
    domain: "",
    match: matchMatMulSoftmax,
    rewrite: rewriteMatMulSoftmax,
  },
  {
    name: "multi_head_attention",
    opType: "MultiHeadAttention",
    domain: "com.microsoft",
    match: matchMultiHeadAttention,
    rewrite: rewriteMultiHeadAttention,
  },
];
