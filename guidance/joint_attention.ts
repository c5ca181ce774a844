/**
 * Reference guided attention for MMDiT joint attention: the rule on the image-query × text-key block.
 *
 * @module
 */
import { applyGuidance } from "./apply_guidance.ts";
import { entmax15 } from "./entmax15.ts";
import type { AttentionOperands } from "./guided_attention.ts";
import type { GuidanceScalars } from "./guidance_scalars.ts";
import { softmax } from "./softmax.ts";
import { scoreRow } from "./_score_row.ts";

/** Which tokens of a joint attention are text: a range of the keys and the range of image queries. */
export interface JointTokens {
  /** Text keys [start, end); the other keys are image keys. */
  textKeys: readonly [number, number];
  /** Image queries [start, end); the other queries are text queries and keep their output. */
  imageQueries: readonly [number, number];
}

const NONE: GuidanceScalars = { a: 0, b: 0, eta: 15, zeta: 0 };

/**
 * Reference joint attention (MMDiT: text and image tokens in one softmax) with the guidance rule on
 * the image-query × text-key block, in float64. For each image query and head, with S = QKᵀ·scale over
 * all keys, text keys T and image keys I:
 *
 * - P = softmax(S), o = PV, and m = Σ_{j∈T} P_j, the mass the softmax gives the text keys. The softmax
 *   splits exactly: o = m·o_T + (1 − m)·o_I with o_T = softmax(S_T)V_T and o_I = softmax(S_I)V_I.
 * - The rule acts on the text block as in cross-attention: o_d = o_T, o_s = entmax₁.₅(S_T)V_T,
 *   G = o_d + a·Δ + b·min(1, η/‖g‖)·g ({@linkcode applyGuidance}).
 * - The block goes back with the mass it held: o' = m·G + (1 − m)·o_I = o + m·(G − o_T).
 *
 * Text queries keep o. With a = b = 0, G = o_T and o' = o. Choices where the GAG paper, which states
 * the rule for attention over text keys, is silent about joint attention:
 * - dense and sparse attention are both taken over the text keys only, so o_s reads out text as in
 *   cross-attention (entmax over all keys would mix image keys into the guidance direction);
 * - the block keeps the softmax's mass m, not a mass from entmax over all keys, so the image part
 *   and the balance between the two parts stay as the model computed them;
 * - η bounds ‖g‖ of the text block before m scales it, so η means what it means for cross-attention;
 * - text queries and the image-key part are not touched (guiding text tokens by their own reading of
 *   the image has no counterpart in the paper).
 *
 * @returns the output, [heads, queries, valueDim]
 *
 * @example
 * ```ts
 * // 4 text tokens then 16 image tokens, as FLUX orders them
 * const o = jointGuidedAttention(
 *   { q, k, v, heads: 2, queries: 20, keys: 20, headDim: 8 },
 *   { textKeys: [0, 4], imageQueries: [4, 20] },
 *   guidanceScalars({ mode: "gag" }),
 * );
 * ```
 */
export function jointGuidedAttention(
  operands: AttentionOperands,
  tokens: JointTokens,
  scalars: GuidanceScalars = NONE,
): Float32Array {
  const { q, k, v, heads, queries, keys, headDim } = operands;
  const valueDim = operands.valueDim ?? headDim;
  const scale = operands.scale ?? 1 / Math.sqrt(headDim);
  const [t0, t1] = tokens.textKeys;
  const [i0, i1] = tokens.imageQueries;
  if (!(0 <= t0 && t0 < t1 && t1 <= keys) || !(0 <= i0 && i0 <= i1 && i1 <= queries)) {
    throw new Error(
      `Cannot compute joint attention as the token ranges must lie within ${keys} keys and ${queries} queries: current values are textKeys [${t0}, ${t1}), imageQueries [${i0}, ${i1})`,
    );
  }
  const out = new Float32Array(heads * queries * valueDim);
  const scores = new Float64Array(keys);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < queries; i++) {
      scoreRow(scores, q, k, { h, i, queries, keys, headDim, scale });
      const read = (p: ArrayLike<number>, from: number) => {
        const o = new Float64Array(valueDim);
        for (let j = 0; j < p.length; j++) {
          const vo = (h * keys + from + j) * valueDim;
          for (let c = 0; c < valueDim; c++) o[c] += p[j] * v[vo + c];
        }
        return o;
      };
      const probs = softmax(scores);
      const o = read(probs, 0);
      if (i >= i0 && i < i1) {
        const text = scores.subarray(t0, t1);
        let mass = 0;
        for (let j = t0; j < t1; j++) mass += probs[j];
        const dense = read(softmax(text), t0);
        const guided = applyGuidance(dense, read(entmax15(text), t0), scalars);
        for (let c = 0; c < valueDim; c++) o[c] += mass * (guided[c] - dense[c]);
      }
      out.set(o, (h * queries + i) * valueDim);
    }
  }
  return out;
}
