/**
 * The guidance study of one model: scales tuned on the dev set, then the paper's claims measured on the
 * test set (GAG against none and PLADIS; stability against w with and without the norm clip; ζ; layers;
 * with CFG and APG). Every test cell uses the same prompts and seeds, so differences are paired.
 *
 * @module
 */
import type { GuidanceRequest, Pipeline } from "../../sampler/mod.ts";
import type { AttributeThresholds } from "./measure_digits.ts";
import type { DigitJudge } from "./digit_judge.ts";
import type { FrechetReference } from "./frechet_distance.ts";
import type { EvalPrompt } from "./prompt_set.ts";
import { pairedDifference, type SampleScores, scoreSamples } from "./score_samples.ts";
import type { Interval } from "./bootstrap.ts";

/** The guidance settings of one eval point. */
export interface ModeSpec {
  /** Column name: none, pladis, gag, cfg, cfg+gag, apg, apg+gag. */
  mode: string;
  guidance?: GuidanceRequest;
  cfg?: number;
  /** Adaptive projected guidance in place of CFG (its defaults: η = 0, β = −0.5, no norm threshold). */
  apg?: { eta?: number; beta?: number; r?: number };
}

/** A short label: `gag w=10 η=0.3 ζ=0 cross`. */
export function label(s: ModeSpec): string {
  const g = s.guidance;
  const parts = [s.mode];
  if (g?.mode === "pladis") parts.push(`λ=${g.scale}`);
  if (g?.mode === "gag") parts.push(`w=${g.scale}`, `η=${g.eta}`, `ζ=${g.zeta}`);
  if (g?.layers && g.layers !== "cross") parts.push(g.layers);
  if (s.cfg) parts.push(`${s.apg ? "apg" : "cfg"}=${s.cfg}`);
  return parts.join(" ");
}

/** What sampling and scoring need. */
export interface StudyContext {
  pipeline: Pipeline;
  judge: DigitJudge;
  thresholds: AttributeThresholds;
  reference: FrechetReference;
  /** Samples per `sampleBatch` call. */
  batch: number;
  fdResamples: number;
  log: (message: string) => void;
}

/** Samples `prompts` with one setting at `steps`, `ctx.batch` at a time. */
export async function sample(
  ctx: Pick<StudyContext, "pipeline" | "batch">,
  prompts: readonly EvalPrompt[],
  spec: ModeSpec,
  steps: number,
) {
  const { width, height, channels } = ctx.pipeline.manifest.image;
  const pixels = width * height * channels;
  const out = new Float32Array(prompts.length * pixels);
  for (let at = 0; at < prompts.length; at += ctx.batch) {
    const part = prompts.slice(at, at + ctx.batch);
    const x = await ctx.pipeline.sampleBatch({
      prompts: part.map((q) => q.prompt),
      seeds: part.map((q) => q.seed),
      steps,
      guidance: spec.guidance,
      cfg: spec.cfg,
      apg: spec.apg,
    });
    out.set(x, at * pixels);
  }
  return out;
}

/** One dev point: a setting scored at each step count. */
export interface DevPoint {
  spec: ModeSpec;
  perSteps: { steps: number; digit: number; attributes: number; fd: number }[];
  /** Mean over step counts of (digit + attributes) / 2. */
  adherence: number;
  meanFd: number;
}

/** Scores a setting on the dev prompts at each of `steps`. */
export async function devPoint(
  ctx: StudyContext,
  prompts: EvalPrompt[],
  spec: ModeSpec,
  steps: readonly number[],
): Promise<DevPoint> {
  const perSteps: DevPoint["perSteps"] = [];
  for (const s of steps) {
    const r = await scoreSamples(await sample(ctx, prompts, spec, s), prompts, { ...ctx, fdResamples: 0 });
    perSteps.push({ steps: s, digit: r.digit.rate, attributes: r.attributes.rate, fd: r.fd.value });
  }
  const mean = (f: (x: DevPoint["perSteps"][number]) => number) =>
    perSteps.reduce((t, x) => t + f(x), 0) / perSteps.length;
  const point = {
    spec,
    perSteps,
    adherence: mean((x) => (x.digit + x.attributes) / 2),
    meanFd: mean((x) => x.fd),
  };
  ctx.log(
    `dev ${label(spec)}: adherence ${(100 * point.adherence).toFixed(1)} %, FD ${point.meanFd.toFixed(1)}`,
  );
  return point;
}

/** One test cell with its paired differences against none at the same step count. */
export interface TestCell {
  spec: ModeSpec;
  steps: number;
  scores: SampleScores;
  /** The first samples, for pictures. */
  samples: Float32Array;
  seconds: number;
  /** Paired differences against none at the same step count (absent for none itself). */
  vsNone?: { digit: Interval; attributes: Interval };
}

/** Test cells, each sampled once however many sections show it. */
export class TestCells {
  readonly #cells = new Map<string, TestCell>();
  constructor(
    readonly ctx: StudyContext,
    readonly prompts: EvalPrompt[],
    readonly keep: number,
  ) {}

  /** The cell of `spec` at `steps`, sampled and scored on first use. */
  async get(spec: ModeSpec, steps: number): Promise<TestCell> {
    const key = `${steps}|${JSON.stringify(spec)}`;
    const known = this.#cells.get(key);
    if (known) return known;
    const t0 = performance.now();
    const x = await sample(this.ctx, this.prompts, spec, steps);
    const seconds = (performance.now() - t0) / 1000;
    const scores = await scoreSamples(x, this.prompts, { ...this.ctx });
    const pixels = x.length / this.prompts.length;
    const cell: TestCell = { spec, steps, scores, samples: x.slice(0, this.keep * pixels), seconds };
    if (spec.mode !== "none") {
      const base = await this.get({ mode: "none" }, steps);
      cell.vsNone = {
        digit: pairedDifference({ hits: base.scores.hits.digit }, { hits: scores.hits.digit }),
        attributes: pairedDifference(
          { hits: base.scores.hits.attrHits, named: base.scores.hits.attrNamed },
          { hits: scores.hits.attrHits, named: scores.hits.attrNamed },
        ),
      };
    }
    this.#cells.set(key, cell);
    this.ctx.log(
      `test ${label(spec)} ${steps} step(s): digit ${(100 * scores.digit.rate).toFixed(1)} %, attributes ${
        (100 * scores.attributes.rate).toFixed(1)
      } %, FD ${scores.fd.value.toFixed(1)} (${seconds.toFixed(1)} s)`,
    );
    return cell;
  }
}
