/**
 * Percentile bootstrap intervals with a seeded resampler, so reruns give the same interval.
 *
 * @module
 */

/** A seeded 32-bit generator (mulberry32), uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A statistic's value and its bootstrap interval. */
export interface Interval {
  value: number;
  low: number;
  high: number;
  /** Standard deviation of the bootstrap draws (the standard error). */
  sd?: number;
}

/** Options of {@linkcode bootstrapInterval}. */
export interface BootstrapOptions {
  resamples?: number;
  /** Coverage (default 0.95). */
  level?: number;
  seed?: number;
}

/**
 * The percentile bootstrap interval (Efron 1979) of `statistic` over `n` items: `statistic` gets the row
 * indices of one resample (with repeats) and the identity resample gives `value`.
 *
 * @example
 * ```ts
 * const xs = [1, 2, 3, 4];
 * bootstrapInterval(xs.length, (rows) => rows.reduce((s, i) => s + xs[i], 0) / rows.length);
 * ```
 */
export function bootstrapInterval(
  n: number,
  statistic: (rows: Uint32Array) => number,
  { resamples = 200, level = 0.95, seed = 1 }: BootstrapOptions = {},
): Interval {
  const value = statistic(Uint32Array.from({ length: n }, (_, i) => i));
  const random = mulberry32(seed);
  const draws = new Float64Array(resamples);
  const rows = new Uint32Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) rows[i] = Math.floor(random() * n);
    draws[r] = statistic(rows);
  }
  const mean = draws.reduce((s, v) => s + v, 0) / resamples;
  const sd = Math.sqrt(draws.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, resamples - 1));
  draws.sort();
  const at = (q: number) => draws[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))];
  return { value, low: at((1 - level) / 2), high: at((1 + level) / 2), sd };
}
