/**
 * Softmax of one row of scores, in float64 (the reference for the dense attention path).
 *
 * @module
 */
/**
 * Softmax of one row of scores, computed in float64.
 *
 * @param scores attention scores of one query; `-Infinity` entries get probability 0
 * @returns probabilities that sum to 1
 *
 * @example
 * ```ts
 * softmax([0, 0]); // Float64Array [0.5, 0.5]
 * ```
 */
export function softmax(scores: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) max = Math.max(max, scores[i]);
  const out = new Float64Array(scores.length);
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    out[i] = Math.exp(scores[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}
