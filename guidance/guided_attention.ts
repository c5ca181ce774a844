/**
 * Reference guided attention over whole operands (softmax, 1.5-entmax and the rule), in float64.
 *
 * @module
 */
import { applyGuidance } from "./apply_guidance.ts";
import { entmax15 } from "./entmax15.ts";
import type { GuidanceScalars } from "./guidance_scalars.ts";
import { softmax } from "./softmax.ts";
import { scoreRow } from "./_score_row.ts";

/** Row-major attention operands; fold the batch into `heads`. */
export interface AttentionOperands {
  /** Queries, [heads, queries, headDim]. */
  q: ArrayLike<number>;
  /** Keys, [heads, keys, headDim]. */
  k: ArrayLike<number>;
  /** Values, [heads, keys, valueDim]. */
  v: ArrayLike<number>;
  /** Heads (times batch). */
  heads: number;
  /** Queries per head. */
  queries: number;
  /** Keys per head. */
  keys: number;
  /** Size of a query or key vector. */
  headDim: number;
  /** Default: headDim. */
  valueDim?: number;
  /** Score scale; default 1/√headDim. */
  scale?: number;
}

const NONE: GuidanceScalars = { a: 0, b: 0, eta: 15, zeta: 0 };

/**
 * Reference attention with the guidance rule: S = QKᵀ·scale, o_d = softmax(S)V,
 * o_s = entmax₁.₅(S)V, then {@linkcode applyGuidance} per query and head, in float64.
 *
 * @returns the guided output, [heads, queries, valueDim]
 *
 * @example
 * ```ts
 * const o = guidedAttention(
 *   { q, k, v, heads: 2, queries: 4, keys: 3, headDim: 8 },
 *   guidanceScalars({ mode: "gag" }),
 * );
 * ```
 */
export function guidedAttention(operands: AttentionOperands, scalars: GuidanceScalars = NONE): Float32Array {
  const { q, k, v, heads, queries, keys, headDim } = operands;
  const valueDim = operands.valueDim ?? headDim;
  const scale = operands.scale ?? 1 / Math.sqrt(headDim);
  const expect = (name: string, actual: number, wanted: number) => {
    if (actual !== wanted) {
      throw new Error(
        `Cannot compute attention as '${name}' must have ${wanted} elements: current value is ${actual}`,
      );
    }
  };
  expect("q", q.length, heads * queries * headDim);
  expect("k", k.length, heads * keys * headDim);
  expect("v", v.length, heads * keys * valueDim);
  const out = new Float32Array(heads * queries * valueDim);
  const scores = new Float64Array(keys);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < queries; i++) {
      scoreRow(scores, q, k, { h, i, queries, keys, headDim, scale });
      const pd = softmax(scores);
      const ps = entmax15(scores);
      const dense = new Float64Array(valueDim);
      const sparse = new Float64Array(valueDim);
      for (let j = 0; j < keys; j++) {
        const vo = (h * keys + j) * valueDim;
        for (let c = 0; c < valueDim; c++) {
          dense[c] += pd[j] * v[vo + c];
          sparse[c] += ps[j] * v[vo + c];
        }
      }
      out.set(applyGuidance(dense, sparse, scalars), (h * queries + i) * valueDim);
    }
  }
  return out;
}
