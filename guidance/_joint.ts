/**
 * Joint attention (MMDiT: SD3, FLUX, Qwen-Image): one softmax over keys and values that concatenate
 * text-derived and image-derived tokens. A site is joint when its values and its keys each trace back,
 * through ops that keep the token axis, to a Concat along that axis whose two operands are a text
 * stream and an image stream.
 *
 * Streams are told apart by reachability as for cross-attention, with one change: the outputs of
 * attention sites depend on nothing. After the first joint block both streams depend on both inputs
 * (the softmax mixed them), but each stream continues through its own residual path, so with the
 * mixing cut the text operand still depends on the text input alone and the image operand on the
 * image latents (and the timestep). The text operand is the one that depends on the text input; the
 * other must depend on a graph input the text operand does not (the latents).
 *
 * Limits: exactly two operands; keys and values in the same order; queries either a Concat of the same
 * kind (text queries are then left alone) or image tokens only. FLUX's single-stream blocks, which
 * concatenate the hidden states long before attention, are not joint sites by this definition and stay
 * self-attention.
 *
 * @module
 */
import type { AttentionMatch } from "./_attention_forms.ts";
import { type GraphIndex, isConstant } from "./_graph_index.ts";
import { getAttribute, intAttribute, toNumber } from "./_onnx.ts";
import type { ShapeInference } from "./_shapes.ts";

/** Where text and image tokens sit along a token axis: the two concatenated operands. */
export interface TokenSplit {
  /** The text-derived operand of the Concat. */
  text: string;
  /** The image-derived operand. */
  image: string;
  /** The concatenation axis, non-negative, in the operands' rank. */
  axis: number;
  /** Whether the text tokens come first. */
  textFirst: boolean;
}

/** The token layout of a joint site. */
export interface JointLayout {
  /** How the keys (and values, in the same order) split into text and image tokens. */
  keys: TokenSplit;
  /** How the queries split, or null when every query is an image token. */
  queries: TokenSplit | null;
}

/** What joint detection needs about the whole graph. */
export interface StreamContext {
  /** Input dependence with attention outputs cut (see the module comment). */
  masks: ReadonlyMap<string, bigint>;
  /** The text input's bit, 0 when there is none. */
  text: bigint;
  shapes: ShapeInference;
}

/** Ops that keep every axis in place. */
const UNARY = new Set(["Cast", "Identity", "Neg", "Relu", "Abs", "Sqrt", "Erf", "Tanh", "Sigmoid"]);
const BINARY = new Set(["Add", "Sub", "Mul", "Div", "Where"]);
const MAX_DEPTH = 24;

function split(ctx: StreamContext, inputs: string[], axis: number): TokenSplit | undefined {
  if (inputs.length !== 2) return undefined;
  const [a, b] = inputs.map((t) => ctx.masks.get(t) ?? 0n);
  const textFirst = (a & ctx.text) !== 0n && (b & ctx.text) === 0n && (b & ~a) !== 0n;
  const textLast = (b & ctx.text) !== 0n && (a & ctx.text) === 0n && (a & ~b) !== 0n;
  if (!textFirst && !textLast) return undefined;
  return {
    text: textFirst ? inputs[0] : inputs[1],
    image: textFirst ? inputs[1] : inputs[0],
    axis,
    textFirst,
  };
}

/**
 * Walks back from `tensor`, whose token axis is `axis` (negative, from the end), through ops that
 * keep that axis, to a Concat along it of a text and an image stream.
 */
function traceSplit(
  index: GraphIndex,
  ctx: StreamContext,
  tensor: string,
  axis: number,
  depth = 0,
): TokenSplit | undefined {
  const node = index.producer.get(tensor);
  if (!node || depth > MAX_DEPTH || (node.domain ?? "") !== "") return undefined;
  const inputs = node.input ?? [];
  const rank = (name: string) => ctx.shapes.shape(name)?.length;
  const op = node.opType ?? "";
  if (op === "Concat") {
    const r = rank(tensor) ?? rank(inputs[0]);
    if (r === undefined) return undefined;
    const attrAxis = intAttribute(node, "axis", 0);
    // A Concat along another axis (RoPE's rotated halves) is not the token join; do not look past it.
    if ((attrAxis < 0 ? attrAxis : attrAxis - r) !== axis) return undefined;
    return split(ctx, inputs, r + axis);
  }
  if (op === "Transpose") {
    const perm = getAttribute(node, "perm")?.ints?.map(toNumber);
    if (!perm) return undefined;
    const at = perm[axis + perm.length];
    return at === undefined ? undefined : traceSplit(index, ctx, inputs[0], at - perm.length, depth + 1);
  }
  if (op === "Reshape") {
    // Head split/merge: the token axis keeps its place when the reshape only touches later axes.
    const [out, inp] = [rank(tensor), rank(inputs[0])];
    if (out === undefined || inp === undefined) return undefined;
    const at = axis + out;
    if (at < 0 || at >= out - 1 || at >= inp - 1) return undefined;
    return traceSplit(index, ctx, inputs[0], at - inp, depth + 1);
  }
  if (UNARY.has(op)) return traceSplit(index, ctx, inputs[0], axis, depth + 1);
  if (BINARY.has(op)) {
    // Broadcast operands align from the end; follow those that have the token axis (RoPE: x·cos).
    for (const input of op === "Where" ? inputs.slice(1) : inputs) {
      const r = rank(input);
      if (!input || isConstant(index, input) || r === undefined || r < -axis) continue;
      const found = traceSplit(index, ctx, input, axis, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * The joint layout of a matched site; undefined when its values are not a text + image
 * concatenation (an ordinary site), a reason when they are but the site cannot be split.
 */
export function matchJoint(
  index: GraphIndex,
  ctx: StreamContext,
  site: AttentionMatch,
): JointLayout | string | undefined {
  if (ctx.text === 0n) return undefined;
  const values = traceSplit(index, ctx, site.value, site.tokenAxes.value);
  if (!values) return undefined;
  const keys = traceSplit(index, ctx, site.key, site.tokenAxes.key);
  if (!keys) {
    return "values concatenate text and image tokens but keys do not trace back to such a concatenation";
  }
  if (keys.textFirst !== values.textFirst) {
    return "keys and values concatenate text and image tokens in different orders";
  }
  const queries = traceSplit(index, ctx, site.query, site.tokenAxes.query) ?? null;
  if (!queries && ((ctx.masks.get(site.query) ?? 0n) & ctx.text) !== 0n) {
    return "queries depend on the text but are not a concatenation of text and image tokens";
  }
  return { keys: values, queries };
}
