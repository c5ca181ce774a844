/**
 * Proportions with a Wilson score interval, for accuracies of a few hundred samples.
 *
 * @module
 */

/** A proportion k / n with its 95 % Wilson score interval. */
export interface Proportion {
  k: number;
  n: number;
  /** k / n (NaN when n = 0). */
  rate: number;
  low: number;
  high: number;
}

/**
 * The proportion `k / n` with its Wilson score interval (E. B. Wilson 1927), which stays inside [0, 1]
 * and behaves at 0 % and 100 %, unlike the normal approximation.
 *
 * @param z the normal quantile (1.96 for 95 %)
 * @example
 * ```ts
 * proportion(180, 200); // { rate: 0.9, low: 0.851…, high: 0.934… }
 * ```
 */
export function proportion(k: number, n: number, z = 1.96): Proportion {
  if (!(n >= 0 && k >= 0 && k <= n)) {
    throw new RangeError(
      `Cannot compute a proportion as k must be between 0 and n: current values are ${k}, ${n}`,
    );
  }
  if (n === 0) return { k, n, rate: NaN, low: NaN, high: NaN };
  const p = k / n, z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n));
  return { k, n, rate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}
