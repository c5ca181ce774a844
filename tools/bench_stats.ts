/**
 * Timing helpers of `deno task bench`: summaries and interleaved runs whose per-round ratios cancel drift
 * (other processes, thermal and frequency changes) between the things compared.
 *
 * @module
 */

/** Median and spread of a set of timings. */
export interface Summary {
  n: number;
  median: number;
  p10: number;
  p90: number;
  mean: number;
  min: number;
}

/** The q-quantile of `xs` (linear between order statistics). */
export function quantile(xs: readonly number[], q: number): number {
  if (!xs.length) return NaN;
  const v = [...xs].sort((a, b) => a - b);
  const pos = q * (v.length - 1), lo = Math.floor(pos);
  return lo + 1 < v.length ? v[lo] + (v[lo + 1] - v[lo]) * (pos - lo) : v[lo];
}

/** Summarises timings (or any samples). */
export function summarize(xs: readonly number[]): Summary {
  return {
    n: xs.length,
    median: quantile(xs, 0.5),
    p10: quantile(xs, 0.1),
    p90: quantile(xs, 0.9),
    mean: xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length),
    min: Math.min(...xs),
  };
}

/** Options of {@linkcode interleave}. */
export interface InterleaveOptions {
  /** Measured rounds (each runs every variant once). */
  rounds: number;
  /** Unmeasured rounds first. */
  warmup?: number;
  /** Stops measuring after this long (ms), keeping the rounds done; at least 3 rounds run. */
  budgetMs?: number;
}

/** Per-variant timings (ms) of an interleaved run; `times[v][r]` is variant v in round r. */
export type Interleaved<K extends string> = Record<K, number[]>;

/**
 * Runs each variant once per round, rotating the order every round (A B C, B C A, C A B, …) so no variant
 * always runs first or after the same neighbour, and returns the time of every run.
 */
export async function interleave<K extends string>(
  variants: Record<K, () => Promise<unknown>>,
  { rounds, warmup = 2, budgetMs = Infinity }: InterleaveOptions,
): Promise<Interleaved<K>> {
  const keys = Object.keys(variants) as K[];
  const times = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Interleaved<K>;
  for (let w = 0; w < warmup; w++) for (const k of keys) await variants[k]();
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < keys.length; j++) {
      const k = keys[(r + j) % keys.length];
      const s = performance.now();
      await variants[k]();
      times[k].push(performance.now() - s);
    }
    if (r >= 2 && performance.now() - t0 > budgetMs) break;
  }
  return times;
}

/** The median of per-round ratios a[r] / b[r] with its 10th–90th percentile range. */
export function pairedRatio(
  a: readonly number[],
  b: readonly number[],
): { median: number; p10: number; p90: number } {
  const r = a.map((x, i) => x / b[i]);
  return { median: quantile(r, 0.5), p10: quantile(r, 0.1), p90: quantile(r, 0.9) };
}
