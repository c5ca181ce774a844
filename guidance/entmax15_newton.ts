/**
 * How many Newton steps the patched graph spends on the 1.5-entmax threshold, by key count.
 *
 * @module
 */
/**
 * Newton steps the patched graph spends on the 1.5-entmax threshold for rows of at most `keys`
 * entries (undefined: not known statically), enough that |τ − τ*| ≤ 10⁻⁶ and so every probability
 * is within 2·10⁻⁶ of the exact one.
 *
 * Measured, not proven: after k steps from τ₀ = −1 the worst |τ − τ*| over 30,000 adversarial
 * float64 rows per size (Gaussian, heavy-tailed, clustered, tied, geometric, one peak over a flat
 * tail) was 6·10⁻⁷ at k = 4 for n = 16, 8·10⁻⁹ at k = 5 for n = 64, 6·10⁻⁹ at k = 6 for n = 4,096,
 * and each further step squares it. `tests/guidance/entmax15_newton_test.ts` keeps checking the table.
 *
 * @example
 * ```ts
 * entmaxNewtonSteps(12); // 4
 * entmaxNewtonSteps(undefined); // 8
 * ```
 */
export function entmaxNewtonSteps(keys: number | undefined): number {
  if (keys === undefined) return 8;
  if (keys <= 3) return 3;
  if (keys <= 16) return 4;
  if (keys <= 128) return 5;
  if (keys <= 4096) return 6;
  if (keys <= 16384) return 7;
  return 8;
}

/**
 * 1.5-entmax of one row by the fixed-step Newton iteration the patched graph runs, in float64: with
 * y = (z − max z)/2, τ solves ‖(y − τ)₊‖₂ = 1, and each step is τ ← τ + ‖r‖(‖r‖ − 1)/Σr with
 * r = (y − τ)₊, from τ₀ = −1 (the threshold of the top entry alone, so τ₀ ≤ τ).
 *
 * The function H(τ) = ‖(y − τ)₊‖₂ − 1 is convex (a norm of non-negative convex functions of τ) and
 * decreasing, so the iterates rise to τ monotonically and never overshoot, quadratically near it; on a
 * row of equal scores H is linear and one step is exact (Newton on the squared norm, Σr² = 1, needs
 * ⌈log₂√n⌉ + 4 steps there).
 *
 * @param scores attention scores of one query; `-Infinity` entries get probability 0
 * @param steps Newton steps (default {@linkcode entmaxNewtonSteps} of the row length)
 * @returns the probabilities and the threshold τ reached
 *
 * @example
 * ```ts
 * const { probs } = entmax15Newton([2, 1, -3]); // ≈ entmax15([2, 1, -3])
 * ```
 */
export function entmax15Newton(
  scores: ArrayLike<number>,
  steps: number = entmaxNewtonSteps(scores.length),
): { probs: Float64Array; tau: number } {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) max = Math.max(max, scores[i]);
  const y = Float64Array.from({ length: scores.length }, (_, i) => (scores[i] - max) / 2);
  let tau = -1;
  for (let k = 0; k < steps; k++) {
    let squares = 0;
    let sum = 0;
    for (const v of y) {
      const r = Math.max(v - tau, 0);
      squares += r * r;
      sum += r;
    }
    const norm = Math.sqrt(squares);
    tau += (squares - norm) / sum;
  }
  return { probs: y.map((v) => Math.max(v - tau, 0) ** 2), tau };
}
