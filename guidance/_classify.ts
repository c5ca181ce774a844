/**
 * Cross- versus self-attention by reachability from the graph inputs.
 *
 * @module
 */
import type { GraphIndex } from "./_graph_index.ts";

/**
 * Kinds of attention the rewriter tells apart: image queries over text keys (cross), over their own
 * tokens (self), and over text and image keys joined in one softmax (joint, as in MMDiT).
 */
export type AttentionKind = "cross" | "self" | "joint";

/** Graph input names taken for text conditioning when no name is given. */
export const TEXT_INPUT_PATTERN = /encoder_hidden_states|text|context/i;

/**
 * Picks the text-conditioning input: the given name (checked), or the one input named like
 * {@linkcode TEXT_INPUT_PATTERN}; `null` means the model has none and every site is self-attention.
 */
export function resolveTextInput(index: GraphIndex, textInput: string | null | undefined): string | null {
  if (textInput === null) return null;
  if (textInput !== undefined) {
    if (!index.inputs.includes(textInput)) {
      throw new Error(
        `Cannot classify attention as the text input '${textInput}' is not a graph input: current inputs are ${
          index.inputs.join(", ")
        }`,
      );
    }
    return textInput;
  }
  const candidates = index.inputs.filter((name) => TEXT_INPUT_PATTERN.test(name));
  if (candidates.length === 1) return candidates[0];
  const reason = candidates.length === 0
    ? "no graph input is named like encoder_hidden_states, text or context"
    : "several graph inputs look like text conditioning";
  throw new Error(
    `Cannot classify attention as ${reason}, pass the text input name: current inputs are ${
      index.inputs.join(", ")
    }`,
  );
}

/** Ops whose output depends on their input's shape only. */
const SHAPE_OPS = new Set(["Shape", "Size"]);

/**
 * Returns a classifier of (query, key, value) tensors.
 *
 * A site is cross-attention when its key or value depends on the text input and its query either
 * does not, or also depends on a graph input that key and value do not. The second clause matters in
 * UNets: after the first cross-attention the image tokens depend on the text too, yet a later
 * cross-attention still draws its query from the image input and its keys from the text alone.
 * Dependencies through `Shape`/`Size` do not count.
 */
export function createClassifier(
  index: GraphIndex,
  textInput: string | null,
): (query: string, key: string, value: string) => "cross" | "self" {
  const sources = sourceMasks(index);
  if (textInput === null) return () => "self";
  const text = 1n << BigInt(index.inputs.indexOf(textInput));
  return (query, key, value) => {
    const q = sources.get(query) ?? 0n;
    const kv = (sources.get(key) ?? 0n) | (sources.get(value) ?? 0n);
    if ((kv & text) === 0n) return "self";
    return (q & text) === 0n || (q & ~kv) !== 0n ? "cross" : "self";
  };
}

/**
 * Bit i of a tensor's mask is set when it depends on graph input i (nodes are in topological order),
 * ignoring dependencies through `Shape`/`Size`. Tensors in `cut` depend on nothing.
 */
export function sourceMasks(index: GraphIndex, cut: ReadonlySet<string> = new Set()): Map<string, bigint> {
  const sources = new Map<string, bigint>();
  index.inputs.forEach((name, i) => sources.set(name, 1n << BigInt(i)));
  for (const node of index.nodes) {
    let mask = 0n;
    // A shape is not conditioning: torch exports reshape K with the batch size read off the image
    // tokens, which would otherwise make every key depend on the image input.
    if (!SHAPE_OPS.has(node.opType ?? "")) {
      for (const input of node.input ?? []) mask |= sources.get(input) ?? 0n;
    }
    for (const output of node.output ?? []) if (output) sources.set(output, cut.has(output) ? 0n : mask);
  }
  return sources;
}
