/**
 * One model's study: dev sweep → tuned defaults → test sections, plus the data of the plots.
 *
 * @module
 */
import type { Interval } from "./bootstrap.ts";
import type { AttentionNorms } from "./attention_norms.ts";
import type { CurvePoint } from "./plots.ts";
import { promptSet } from "./prompt_set.ts";
import type { Proportion } from "./proportion.ts";
import {
  type DevPoint,
  devPoint,
  label,
  type ModeSpec,
  sample,
  type StudyContext,
  TestCells,
} from "./study.ts";
import type { EvalPrompt } from "./prompt_set.ts";
import { bestPoint, chooseGag, etaCandidates, FD_GUARD, overGuidingFrom, twoDigits } from "./tuning.ts";

/** What to sweep and sample. */
export interface StudyPlan {
  n: number;
  devN: number;
  /** Prompts the norm statistics are measured on. */
  normN: number;
  /** w (GAG) and λ (PLADIS) of the stability curves. */
  scales: number[];
  /** Extra GAG / PLADIS scales tried when tuning. */
  gagExtra: number[];
  pladisExtra: number[];
  cfg: number[];
  apg: number[];
  /** Step counts the dev adherence averages over. */
  tuneSteps: number[];
  testSteps: number[];
  /** Step count of the stability, ζ and layers sections. */
  curveSteps: number;
  /** The η that stands for "no clip": above every ‖g‖ measured. */
  etaOff: number;
}

/** One reported test cell. */
export interface CellRow {
  label: string;
  mode: string;
  steps: number;
  spec: ModeSpec;
  digit: Proportion;
  attributes: Proportion;
  fd: Interval;
  dDigit?: Interval;
  dAttributes?: Interval;
  seconds: number;
}

/** Tuned defaults of one model, as its manifest takes them. */
export interface TunedDefaults {
  layers: "cross" | "self" | "all";
  pladis: number;
  gag: { scale: number; eta: number; zeta: number };
  etaRange: [number, number];
  overGuiding: { gag?: number; pladis?: number };
  cfg: number;
  cfgGag: ModeSpec;
  apg: number;
  apgGag: ModeSpec;
}

/** Everything measured on one model. */
export interface ModelStudy {
  id: string;
  model: { training: string; denoiserSha256: string };
  norms: AttentionNorms;
  etas: number[];
  etaOff: number;
  dev: { none: DevPoint; points: DevPoint[]; stableEtas: number[]; fdLimit: number };
  defaults: TunedDefaults;
  sections: Record<"headline" | "stability" | "zeta" | "layers" | "combined", CellRow[]>;
  curves: CurvePoint[];
  curveNone: { model: string; metric: string; value: number }[];
  strip: { method: string; scale: number; pixels: Float32Array }[];
  /** The prompt and seed of the strip. */
  stripPrompt: { prompt: string; seed: number };
}

/** What the stability plot shows of a test cell: one point per metric, with its 95 % interval. */
function curvePoints(r: CellRow): { metric: string; value: number; low: number; high: number }[] {
  const sd = 1.96 * (r.fd.sd ?? 0);
  return [
    { metric: "digit adherence", value: r.digit.rate, low: r.digit.low, high: r.digit.high },
    {
      metric: "attribute adherence",
      value: r.attributes.rate,
      low: r.attributes.low,
      high: r.attributes.high,
    },
    { metric: "FD (lower is better)", value: r.fd.value, low: r.fd.value - sd, high: r.fd.value + sd },
  ];
}

const gag = (scale: number, eta: number, zeta = 0, layers: "cross" | "self" | "all" = "cross"): ModeSpec => ({
  mode: "gag",
  guidance: { mode: "gag", scale, eta, zeta, layers },
});
const pladis = (scale: number): ModeSpec => ({ mode: "pladis", guidance: { mode: "pladis", scale } });

/** Runs the dev sweep and the test sections of one model. */
export async function studyModel(
  ctx: StudyContext,
  norms: AttentionNorms,
  plan: StudyPlan,
  model: ModelStudy["model"],
): Promise<ModelStudy> {
  const id = ctx.pipeline.manifest.id;
  const g = (norms.pooled.cross ?? norms.pooled.self).g;
  const etas = etaCandidates(g);
  ctx.log(
    `${id}: ‖g‖ p10 ${g.p10.toFixed(3)}, p50 ${g.p50.toFixed(3)}, p90 ${g.p90.toFixed(3)} → η ${
      etas.join(", ")
    }`,
  );

  // ---- dev sweep
  const dev = promptSet("dev", plan.devN);
  const point = (spec: ModeSpec) => devPoint(ctx, dev, spec, plan.tuneSteps);
  const none = await point({ mode: "none" });
  const fdLimit = FD_GUARD * none.meanFd;
  const points: DevPoint[] = [none];
  const run = async (spec: ModeSpec) => {
    const p = await point(spec);
    points.push(p);
    return p;
  };
  const sorted = (xs: number[]) => [...new Set(xs)].sort((x, y) => x - y);
  const pladisPoints: DevPoint[] = [];
  for (const s of sorted([...plan.pladisExtra, ...plan.scales])) pladisPoints.push(await run(pladis(s)));
  const gagPoints: DevPoint[] = [];
  for (const eta of [...etas, plan.etaOff]) {
    for (const w of sorted([...plan.gagExtra, ...plan.scales])) gagPoints.push(await run(gag(w, eta)));
  }
  const pladisBest = bestPoint(pladisPoints, fdLimit);
  const { chosen: gagBest, stable } = chooseGag(gagPoints, none, fdLimit);
  const w = gagBest.spec.guidance!.scale!, eta = gagBest.spec.guidance!.eta!;
  const zetaPoints = [gagBest];
  for (const z of [0.5, 1]) zetaPoints.push(await run(gag(w, eta, z)));
  const zeta = bestPoint(zetaPoints, fdLimit).spec.guidance!.zeta!;
  const layerPoints = [
    gagBest.spec.guidance!.zeta === zeta ? gagBest : zetaPoints.find((p) => p.spec.guidance!.zeta === zeta)!,
  ];
  for (const l of ["self", "all"] as const) layerPoints.push(await run(gag(w, eta, zeta, l)));
  // A layer choice other than cross costs every call the self-attention rule: take it only for a clear gain.
  const layerBest = layerPoints.reduce((
    b,
    p,
  ) => (p.adherence > b.adherence + 0.01 && p.meanFd <= fdLimit ? p : b));
  const layers = (layerBest.spec.guidance!.layers ?? "cross") as TunedDefaults["layers"];
  const cfgPoints: DevPoint[] = [];
  for (const c of plan.cfg) cfgPoints.push(await run({ mode: "cfg", cfg: c }));
  const cfg = bestPoint(cfgPoints, fdLimit).spec.cfg!;
  const cfgGagPoints: DevPoint[] = [];
  for (const k of [0.5, 1]) {
    cfgGagPoints.push(await run({ ...gag(twoDigits(w * k), eta, zeta, layers), mode: "cfg+gag", cfg }));
  }
  const cfgGag = bestPoint(cfgGagPoints, fdLimit).spec;
  const apgPoints: DevPoint[] = [];
  for (const c of plan.apg) apgPoints.push(await run({ mode: "apg", cfg: c, apg: {} }));
  const apg = bestPoint(apgPoints, fdLimit).spec.cfg!;
  const apgGag: ModeSpec = { ...cfgGag, mode: "apg+gag", cfg: apg, apg: {} };
  const atEta = gagPoints.filter((p) => p.spec.guidance!.eta === eta);
  const defaults: TunedDefaults = {
    layers,
    pladis: pladisBest.spec.guidance!.scale!,
    gag: { scale: w, eta, zeta },
    // From well below the smallest ‖g‖ that matters to far above the largest measured (the clip off).
    etaRange: [Math.min(0.01, twoDigits(g.p10 / 4)), plan.etaOff],
    overGuiding: {
      gag: overGuidingFrom(atEta, none),
      pladis: overGuidingFrom(pladisPoints.filter((p) => (p.spec.guidance!.scale ?? 0) >= 1), none),
    },
    cfg,
    cfgGag,
    apg,
    apgGag,
  };
  ctx.log(
    `${id}: tuned ${label(pladisBest.spec)}; ${label(gag(w, eta, zeta, layers))}; stable η ${
      stable.join(", ") || "none"
    }`,
  );

  // ---- test sections
  const cells = new TestCells(ctx, promptSet("test", plan.n), 10);
  const row = async (spec: ModeSpec, steps: number): Promise<CellRow> => {
    const c = await cells.get(spec, steps);
    return {
      label: label(spec),
      mode: spec.mode,
      steps,
      spec,
      digit: c.scores.digit,
      attributes: c.scores.attributes,
      fd: c.scores.fd,
      dDigit: c.vsNone?.digit,
      dAttributes: c.vsNone?.attributes,
      seconds: c.seconds,
    };
  };
  const tunedGag = gag(w, eta, zeta, layers);
  const tunedPladis = pladis(defaults.pladis);
  const headline: CellRow[] = [];
  for (const steps of plan.testSteps) {
    for (const spec of [{ mode: "none" }, tunedPladis, tunedGag]) headline.push(await row(spec, steps));
  }
  // Method names are the same for every model (η is tied to each model's own ‖g‖), so the plot's lines match.
  const quantileNames = ["p10", "p50", "p90"];
  const etaName = (e: number) => {
    const q = quantileNames[etas.indexOf(e)] ?? String(e);
    return `GAG, η = ‖g‖ ${q}`;
  };
  const methods: { method: string; spec: (s: number) => ModeSpec }[] = [
    { method: "PLADIS", spec: pladis },
    { method: "GAG, no clip", spec: (s) => gag(s, plan.etaOff) },
    ...etas.map((e) => ({ method: etaName(e), spec: (s: number) => gag(s, e) })),
  ];
  const stability: CellRow[] = [];
  const curves: CurvePoint[] = [];
  for (const m of methods) {
    for (const s of plan.scales) {
      const r = await row(m.spec(s), plan.curveSteps);
      stability.push(r);
      for (const p of curvePoints(r)) curves.push({ model: id, method: m.method, scale: s, ...p });
    }
  }
  const base = await row({ mode: "none" }, plan.curveSteps);
  const stripPrompt = pickStripPrompt(cells.prompts);
  const strip = await stripSamples(ctx, stripPrompt, eta, plan);
  const curveNone = curvePoints(base).map(({ metric, value }) => ({ model: id, metric, value }));
  const zetaRows: CellRow[] = [];
  for (const z of [0, 0.5, 1]) zetaRows.push(await row(gag(w, eta, z, layers), plan.curveSteps));
  const layerRows: CellRow[] = [];
  for (const l of ["cross", "self", "all"] as const) {
    layerRows.push(await row(gag(w, eta, zeta, l), plan.curveSteps));
  }
  const combined: CellRow[] = [];
  for (const steps of [plan.testSteps[0], plan.testSteps.at(-1)!]) {
    for (
      const spec of [{ mode: "none" }, tunedGag, { mode: "cfg", cfg }, { ...cfgGag }, {
        mode: "apg",
        cfg: apg,
        apg: {},
      }, apgGag]
    ) {
      combined.push(await row(spec, steps));
    }
  }
  return {
    id,
    model,
    norms,
    etas,
    etaOff: plan.etaOff,
    dev: { none, points, stableEtas: stable, fdLimit },
    defaults,
    sections: { headline, stability, zeta: zetaRows, layers: layerRows, combined },
    curves,
    curveNone,
    strip,
    stripPrompt: { prompt: stripPrompt.prompt, seed: stripPrompt.seed },
  };
}

/** The strip's prompt: the first test prompt that names two attributes or more (a rule, not a pick). */
export function pickStripPrompt(prompts: readonly EvalPrompt[]): EvalPrompt {
  const named = (p: EvalPrompt) => [p.thickness, p.slant, p.size].filter((v) => v !== undefined).length;
  return prompts.find((p) => named(p) >= 2) ?? prompts[0];
}

/**
 * One prompt and seed across the plan's scales for PLADIS, unclipped GAG and GAG at η, plus none: the
 * pictures of the stability claim. Sampled alone (batch 1), which gives the same pixels as in a batch.
 */
export async function stripSamples(
  ctx: Pick<StudyContext, "pipeline" | "batch">,
  prompt: EvalPrompt,
  eta: number,
  plan: Pick<StudyPlan, "scales" | "curveSteps" | "etaOff">,
): Promise<ModelStudy["strip"]> {
  const rows: { method: string; spec: (s: number) => ModeSpec }[] = [
    { method: "PLADIS λ", spec: pladis },
    { method: "GAG w, no clip", spec: (s) => gag(s, plan.etaOff) },
    { method: "GAG w, tuned η", spec: (s) => gag(s, eta) },
  ];
  const out: ModelStudy["strip"] = [];
  for (const r of rows) {
    for (const s of plan.scales) {
      out.push({
        method: r.method,
        scale: s,
        pixels: await sample(ctx, [prompt], r.spec(s), plan.curveSteps),
      });
    }
  }
  out.push({
    method: "none (any scale)",
    scale: plan.scales[0],
    pixels: await sample(ctx, [prompt], { mode: "none" }, plan.curveSteps),
  });
  return out;
}
