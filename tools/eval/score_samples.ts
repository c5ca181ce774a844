/**
 * Scores generated digits against their prompts: prompt adherence (the judge reads the named digit),
 * attribute adherence (measured thickness / slant / size match the named ones) and the Fréchet distance of
 * judge features to real held-out digits.
 *
 * @module
 */
import { bootstrapInterval, type Interval } from "./bootstrap.ts";
import type { DigitJudge } from "./digit_judge.ts";
import { frechetDistance, type FrechetReference, gaussianStats } from "./frechet_distance.ts";
import { argmaxRow } from "./judge_accuracy.ts";
import {
  type AttributeThresholds,
  classifyAttributes,
  measureDigits,
  toUnitRange,
} from "./measure_digits.ts";
import { type Proportion, proportion } from "./proportion.ts";
import type { EvalPrompt } from "./prompt_set.ts";

/** The attributes a prompt can name. */
export const ATTRIBUTES = ["thickness", "slant", "size"] as const;

/** Per-sample outcomes, kept for paired comparisons between modes on the same prompts and seeds. */
export interface SampleHits {
  /** 1 when the judge read the named digit. */
  digit: Uint8Array;
  /** Named attributes matched and named, per sample. */
  attrHits: Uint8Array;
  attrNamed: Uint8Array;
}

/** The scores of one set of samples. */
export interface SampleScores {
  n: number;
  digit: Proportion;
  /** Pooled over every attribute named by a prompt. */
  attributes: Proportion;
  byAttribute: Record<typeof ATTRIBUTES[number], Proportion>;
  /**
   * Fréchet distance to the reference; with resamples, `low`/`high` are value ∓ 1.96 bootstrap standard
   * errors (FD is biased upwards in the sample size, and resamples with repeats are more so, so percentile
   * intervals would sit above the value).
   */
  fd: Interval;
  hits: SampleHits;
}

/** Options of {@linkcode scoreSamples}. */
export interface ScoreOptions {
  judge: DigitJudge;
  thresholds: AttributeThresholds;
  reference: FrechetReference;
  /** Bootstrap resamples for the FD interval; 0 gives the point value only. */
  fdResamples?: number;
}

/** Scores `samples` ([n, 1, 28, 28] in [-1, 1]) generated for `prompts`. */
export async function scoreSamples(
  samples: Float32Array,
  prompts: readonly EvalPrompt[],
  { judge, thresholds, reference, fdResamples = 0 }: ScoreOptions,
): Promise<SampleScores> {
  const n = prompts.length;
  const { logits, features, classes, dim } = await judge.judge(samples, n);
  const digits = prompts.map((p) => p.digit);
  const attrs = classifyAttributes(measureDigits(toUnitRange(samples), n), digits, thresholds);
  const hits: SampleHits = {
    digit: new Uint8Array(n),
    attrHits: new Uint8Array(n),
    attrNamed: new Uint8Array(n),
  };
  const per = { thickness: [0, 0], slant: [0, 0], size: [0, 0] };
  for (let i = 0; i < n; i++) {
    hits.digit[i] = argmaxRow(logits, i, classes) === digits[i] ? 1 : 0;
    for (const a of ATTRIBUTES) {
      const want = prompts[i][a];
      if (want === undefined) continue;
      const ok = attrs[a][i] === want ? 1 : 0;
      per[a][0] += ok;
      per[a][1]++;
      hits.attrHits[i] += ok;
      hits.attrNamed[i]++;
    }
  }
  const sum = (a: Uint8Array) => a.reduce((s, v) => s + v, 0);
  const fdOf = (rows: Uint32Array) => frechetDistance(reference, gaussianStats(features, dim, rows));
  const fd = fdResamples > 0 ? bootstrapInterval(n, fdOf, { resamples: fdResamples }) : (() => {
    const v = frechetDistance(reference, gaussianStats(features, dim));
    return { value: v, low: NaN, high: NaN };
  })();
  return {
    n,
    digit: proportion(sum(hits.digit), n),
    attributes: proportion(sum(hits.attrHits), sum(hits.attrNamed)),
    byAttribute: {
      thickness: proportion(per.thickness[0], per.thickness[1]),
      slant: proportion(per.slant[0], per.slant[1]),
      size: proportion(per.size[0], per.size[1]),
    },
    fd,
    hits,
  };
}

/**
 * The paired difference `b − a` of a per-sample rate between two modes scored on the same prompts and
 * seeds, with a bootstrap interval over prompts (pairing removes the prompt-to-prompt variance).
 */
export function pairedDifference(
  a: { hits: Uint8Array; named?: Uint8Array },
  b: { hits: Uint8Array; named?: Uint8Array },
  resamples = 1000,
): Interval {
  const n = a.hits.length;
  return bootstrapInterval(n, (rows) => {
    let ha = 0, hb = 0, na = 0, nb = 0;
    for (const i of rows) {
      ha += a.hits[i];
      hb += b.hits[i];
      na += a.named ? a.named[i] : 1;
      nb += b.named ? b.named[i] : 1;
    }
    return hb / Math.max(1, nb) - ha / Math.max(1, na);
  }, { resamples, seed: 7 });
}
