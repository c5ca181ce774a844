/**
 * Exact 1.5-entmax of one row of scores (the reference for the graph's Newton threshold).
 *
 * @module
 */
/**
 * Exact 1.5-entmax of one row of scores (α-entmax with α = 1.5), computed in float64 with the
 * sort-based threshold of Peters, Niculae and Martins, "Sparse Sequence-to-Sequence Models" (ACL 2019):
 * entmax₁.₅(z)ᵢ = max(zᵢ/2 − τ, 0)², with τ chosen so that the result sums to 1.
 *
 * @param scores attention scores of one query; `-Infinity` entries get probability 0
 * @returns probabilities that sum to 1, with exact zeros outside the support
 *
 * @example
 * ```ts
 * entmax15([0, 0, -10]); // Float64Array [0.5, 0.5, 0]
 * ```
 */
export function entmax15(scores: ArrayLike<number>): Float64Array {
  const n = scores.length;
  if (n === 0) return new Float64Array(0);
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, scores[i]);
  // Shifting by the max keeps the threshold in [-1, 0] and the sums small.
  const y = Float64Array.from({ length: n }, (_, i) => (scores[i] - max) / 2);
  const sorted = y.slice().sort().reverse();
  let tau = sorted[0] - 1;
  let sum = 0;
  let sumSq = 0;
  for (let k = 1; k <= n; k++) {
    const yk = sorted[k - 1];
    if (yk === -Infinity) break;
    sum += yk;
    sumSq += yk * yk;
    const mean = sum / k;
    const variance = sumSq / k - mean * mean;
    const tauK = mean - Math.sqrt(Math.max((1 - k * variance) / k, 0));
    // The support is the longest prefix of the sorted scores that stays above its own threshold.
    if (tauK > yk) break;
    tau = tauK;
  }
  return y.map((v) => (v > tau ? (v - tau) ** 2 : 0));
}
