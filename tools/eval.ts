/**
 * `deno task eval`: does attention guidance help the digits model?
 *
 * For guidance none / PLADIS / GAG / CFG / CFG+GAG × 1, 2 and 4 steps it samples fixed prompts and seeds
 * (`Pipeline.sampleBatch`) and reports prompt adherence (the judge reads the named digit), attribute
 * adherence (thickness / slant / size measured as training captioned them) and the Fréchet distance of
 * judge features to the real held-out digits, each with a 95 % interval. Each mode's scale is first tuned
 * on a dev set of prompts and seeds, then reported on a separate test set.
 *
 * ```sh
 * deno task eval               # N = 200 per test cell, 100 per dev point, native backend
 * deno task eval --quick       # N = 50, a small sweep: a smoke run in about a minute
 * deno task eval --no-sweep    # skip tuning, report the manifest defaults
 * ```
 *
 * Options: --n, --dev-n, --batch (samples per sampleBatch call), --backend native|wasm|webgpu|auto
 * (default native, falling back to wasm), --steps 1,2,4, --out (file base, default docs/results/eval).
 * Writes `<out>.md`, `<out>.json` and `<out>_grid.png`.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Image } from "imagescript";
import {
  type BackendChoice,
  createEngine,
  type Engine,
  type FlowManifest,
  guidancePatch,
  type GuidanceRequest,
  type Pipeline,
} from "../sampler/mod.ts";
import {
  type AttributeThresholds,
  type DigitJudge,
  type EvalPrompt,
  frechetDistance,
  type FrechetReference,
  frechetReference,
  gaussianStats,
  judgeAccuracy,
  loadDigitJudge,
  loadSplits,
  pairedDifference,
  promptSet,
  type SampleScores,
  scoreSamples,
} from "./eval/mod.ts";
import { describeModel, fmt, markdownTable, pct, pp, writeReport } from "./_report.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const MODEL_ID = "digits";
const MODEL_DIR = join(ROOT, "models", MODEL_ID);

/** The guidance settings of one eval column. */
interface ModeSpec {
  mode: string;
  guidance?: GuidanceRequest;
  cfg?: number;
  /** Adaptive projected guidance in place of CFG (its defaults: η = 0, β = −0.5, no norm threshold). */
  apg?: { eta?: number; beta?: number; r?: number };
}

/** Candidate scales per mode; CFG+GAG tries fractions of the tuned GAG scale at the tuned CFG scale. */
const SWEEP = {
  full: {
    pladis: [1.1, 1.25, 1.5, 2, 3],
    /** w = 0 is the sparse (1.5-entmax) attention alone; w > 0 adds the clipped guidance term. */
    gag: [0, 0.25, 0.5, 1, 2, 4],
    /** η tried at the best w besides the manifest's. */
    gagEta: [5, 50],
    cfg: [1.25, 1.5, 2.5, 4],
    cfgGag: [0.5, 1],
    /** APG scales: it is built to allow higher scales than CFG. */
    apg: [1.5, 2.5, 4, 6],
  },
  quick: { pladis: [1.5, 3], gag: [1, 4], gagEta: [], cfg: [2, 4], cfgGag: [1], apg: [4] },
} as const;

/** A point may win only when its mean FD stays within this factor of the unguided one (a quality guard). */
const FD_GUARD = 1.25;

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    n: { type: "string" },
    "dev-n": { type: "string" },
    batch: { type: "string", default: "50" },
    backend: { type: "string", default: "native" },
    steps: { type: "string", default: "1,2,4" },
    out: { type: "string", default: join(ROOT, "docs", "results", "eval") },
    quick: { type: "boolean", default: false },
    "no-sweep": { type: "boolean", default: false },
    "fd-resamples": { type: "string", default: "100" },
  },
});

function intArg(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(
      `Cannot evaluate as --${name} must be an integer of at least ${min}: current value is ${value}`,
    );
  }
  return n;
}

const quick = a.quick!;
const N = intArg("n", a.n, quick ? 50 : 200, 10);
const DEV_N = intArg("dev-n", a["dev-n"], quick ? 50 : 100, 10);
const BATCH = intArg("batch", a.batch, 50);
const FD_RESAMPLES = intArg("fd-resamples", a["fd-resamples"], 100, 0);
const STEPS = a.steps!.split(",").map((s) => intArg("steps", s, 1));
const sweepGrid = quick ? SWEEP.quick : SWEEP.full;

const log = (msg: string) =>
  console.log(`[eval ${((performance.now() - started) / 1000).toFixed(1)} s] ${msg}`);
const started = performance.now();
const timings: Record<string, number> = {};
const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[name] = Math.round(performance.now() - t0);
  }
};

/** Starts the engine on the asked backend; `native` falls back to wasm when onnxruntime-node cannot load. */
async function startEngine(choice: string): Promise<{ engine: Engine; note: string }> {
  const start = (backend: BackendChoice) =>
    createEngine({
      modelsDir: join(ROOT, "models"),
      models: [MODEL_ID],
      backend,
      patch: guidancePatch,
      log: () => {},
    });
  if (!["native", "wasm", "webgpu", "auto"].includes(choice)) {
    throw new Error(
      `Cannot evaluate as --backend must be native, wasm, webgpu or auto: current value is ${choice}`,
    );
  }
  try {
    const engine = await start(choice as BackendChoice);
    return { engine, note: `${engine.backend.name} (${engine.backend.reason})` };
  } catch (e) {
    if (choice !== "native") throw e;
    const engine = await start("wasm");
    return { engine, note: `wasm (native failed to start: ${(e as Error).message.split("\n")[0]})` };
  }
}

/** Samples `prompts` with one mode at `steps`, `BATCH` at a time. */
async function sample(p: Pipeline, prompts: readonly EvalPrompt[], spec: ModeSpec, steps: number) {
  const pixels = p.manifest.image.width * p.manifest.image.height * p.manifest.image.channels;
  const out = new Float32Array(prompts.length * pixels);
  for (let at = 0; at < prompts.length; at += BATCH) {
    const part = prompts.slice(at, at + BATCH);
    const x = await p.sampleBatch({
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

interface Context {
  pipeline: Pipeline;
  judge: DigitJudge;
  thresholds: AttributeThresholds;
  reference: FrechetReference;
}

/** One dev-sweep point: a mode's settings scored at every step count. */
interface SweepPoint {
  spec: ModeSpec;
  label: string;
  perSteps: { steps: number; digit: number; attributes: number; fd: number }[];
  /** Mean over steps of (digit accuracy + attribute adherence) / 2. */
  adherence: number;
  meanFd: number;
  eligible: boolean;
}

async function sweepPoint(ctx: Context, prompts: EvalPrompt[], spec: ModeSpec, label: string) {
  const perSteps: SweepPoint["perSteps"] = [];
  for (const steps of STEPS) {
    const s = await scoreSamples(await sample(ctx.pipeline, prompts, spec, steps), prompts, { ...ctx });
    perSteps.push({ steps, digit: s.digit.rate, attributes: s.attributes.rate, fd: s.fd.value });
  }
  const mean = (f: (x: SweepPoint["perSteps"][number]) => number) =>
    perSteps.reduce((t, x) => t + f(x), 0) / perSteps.length;
  const point: SweepPoint = {
    spec,
    label,
    perSteps,
    adherence: mean((x) => (x.digit + x.attributes) / 2),
    meanFd: mean((x) => x.fd),
    eligible: true,
  };
  log(`dev ${label}: adherence ${(100 * point.adherence).toFixed(1)} %, mean FD ${point.meanFd.toFixed(2)}`);
  return point;
}

/**
 * The eligible point with the best adherence; on a tie the earlier point stays, so a setting (η) that makes
 * no difference keeps the manifest's value.
 */
function best(points: SweepPoint[], fdLimit: number): SweepPoint {
  for (const p of points) p.eligible = p.meanFd <= fdLimit;
  const pool = points.filter((p) => p.eligible);
  return (pool.length ? pool : points).reduce((b, p) => p.adherence > b.adherence + 1e-9 ? p : b);
}

/** Tunes each mode's scale on the dev set. */
async function tune(ctx: Context, defaults: FlowManifest["guidance"]["defaults"], cfgDefault: number) {
  const prompts = promptSet("dev", DEV_N);
  const none = await sweepPoint(ctx, prompts, { mode: "none" }, "none");
  const fdLimit = FD_GUARD * none.meanFd;
  const sweep: Record<string, SweepPoint[]> = {
    none: [none],
    pladis: [],
    gag: [],
    cfg: [],
    "cfg+gag": [],
    apg: [],
    "apg+gag": [],
  };
  for (const scale of sweepGrid.pladis) {
    sweep.pladis.push(
      await sweepPoint(
        ctx,
        prompts,
        { mode: "pladis", guidance: { mode: "pladis", scale } },
        `pladis λ=${scale}`,
      ),
    );
  }
  const { eta, zeta } = defaults.gag;
  for (const scale of sweepGrid.gag) {
    sweep.gag.push(
      await sweepPoint(
        ctx,
        prompts,
        { mode: "gag", guidance: { mode: "gag", scale, eta, zeta } },
        `gag w=${scale} η=${eta}`,
      ),
    );
  }
  const bestW = best(sweep.gag, fdLimit).spec.guidance?.scale ?? defaults.gag.scale;
  // η only matters when the guidance term is on (w > 0).
  for (const e of bestW > 0 ? sweepGrid.gagEta : []) {
    sweep.gag.push(
      await sweepPoint(
        ctx,
        prompts,
        { mode: "gag", guidance: { mode: "gag", scale: bestW, eta: e, zeta } },
        `gag w=${bestW} η=${e}`,
      ),
    );
  }
  for (const cfg of sweepGrid.cfg) {
    sweep.cfg.push(await sweepPoint(ctx, prompts, { mode: "cfg", cfg }, `cfg ${cfg}`));
  }
  const pladis = best(sweep.pladis, fdLimit), gag = best(sweep.gag, fdLimit), cfg = best(sweep.cfg, fdLimit);
  const cfgScale = cfg.spec.cfg ?? cfgDefault;
  const gagScale = gag.spec.guidance?.scale ?? defaults.gag.scale;
  const gagEta = gag.spec.guidance?.eta ?? eta;
  for (const scale of new Set(sweepGrid.cfgGag.map((k) => Math.round(gagScale * k * 100) / 100))) {
    sweep["cfg+gag"].push(
      await sweepPoint(
        ctx,
        prompts,
        { mode: "cfg+gag", cfg: cfgScale, guidance: { mode: "gag", scale, eta: gagEta, zeta } },
        `cfg ${cfgScale} + gag w=${scale}`,
      ),
    );
  }
  const cfgGag = best(sweep["cfg+gag"], fdLimit);
  for (const scale of sweepGrid.apg) {
    sweep.apg.push(await sweepPoint(ctx, prompts, { mode: "apg", cfg: scale, apg: {} }, `apg ${scale}`));
  }
  const apg = best(sweep.apg, fdLimit);
  // APG+GAG: the tuned APG scale with the GAG scale CFG+GAG chose.
  const apgGagSpec: ModeSpec = { ...cfgGag.spec, mode: "apg+gag", cfg: apg.spec.cfg, apg: {} };
  sweep["apg+gag"].push(
    await sweepPoint(ctx, prompts, apgGagSpec, `apg ${apg.spec.cfg} + gag w=${cfgGag.spec.guidance?.scale}`),
  );
  const apgGag = best(sweep["apg+gag"], fdLimit);
  return {
    sweep,
    fdLimit,
    chosen: {
      none: none.spec,
      pladis: pladis.spec,
      gag: gag.spec,
      cfg: cfg.spec,
      "cfg+gag": cfgGag.spec,
      apg: apg.spec,
      "apg+gag": apgGag.spec,
    },
  };
}

/** Lays the first rows of each cell side by side: one block per step count, one column per mode. */
async function writeGrid(
  path: string,
  cells: { mode: string; steps: number; samples: Float32Array }[],
  modes: string[],
  rows: number,
) {
  const S = 28, Z = 3, cell = S * Z, gap = 4, blockGap = 16;
  // Unlabelled: imagescript's text rendering needs Deno.core, which Deno 2 no longer has; eval.md says
  // which block and column is which.
  const blocks = STEPS.length;
  const blockWidth = modes.length * (cell + gap);
  const width = blocks * blockWidth + (blocks - 1) * blockGap;
  const height = rows * (cell + gap);
  const image = new Image(width, height);
  image.fill(0x202020ff);
  for (const [b, steps] of STEPS.entries()) {
    const bx = b * (blockWidth + blockGap);
    for (const [m, mode] of modes.entries()) {
      const x0 = bx + m * (cell + gap);
      const c = cells.find((x) => x.mode === mode && x.steps === steps);
      if (!c) continue;
      for (let r = 0; r < rows; r++) {
        const y0 = r * (cell + gap);
        for (let y = 0; y < cell; y++) {
          for (let x = 0; x < cell; x++) {
            const v = c.samples[r * S * S + Math.floor(y / Z) * S + Math.floor(x / Z)];
            const g = Math.round((Math.min(1, Math.max(-1, v)) + 1) * 127.5);
            image.setPixelAt(x0 + x + 1, y0 + y + 1, ((g << 24) | (g << 16) | (g << 8) | 0xff) >>> 0);
          }
        }
      }
    }
  }
  await Deno.writeFile(path, await image.encode(1));
}

async function main() {
  log(`N = ${N} per test cell, ${DEV_N} per dev point, batches of ${BATCH}, steps ${STEPS.join("/")}`);
  const { engine, note } = await phase("start", () => startEngine(a.backend!));
  log(`backend: ${note}`);
  const pipeline = engine.pipeline(MODEL_ID);
  const manifest = pipeline.manifest;
  if (manifest.kind !== "flow") {
    throw new Error(
      `Cannot evaluate model '${MODEL_ID}' as it is not a flow model: current kind is ${manifest.kind}`,
    );
  }
  const judge = await loadDigitJudge(engine.backend, MODEL_DIR, manifest);
  const thresholds = JSON.parse(
    await Deno.readTextFile(join(MODEL_DIR, manifest.attributes ?? "attributes.json")),
  ) as AttributeThresholds;

  const { heldout, train } = await phase("data", () => loadSplits(join(ROOT, ".cache", "mnist")));
  const real = await judge.judge(heldout.images.map((v) => v * 2 - 1), heldout.n);
  const reference = frechetReference(gaussianStats(real.features, real.dim));
  // The floor: N real training digits against the held-out ones (what a perfect generator would score).
  const floorRows = Array.from({ length: N }, (_, i) => Math.floor((i * train.n) / N));
  const floorImages = new Float32Array(N * 784);
  floorRows.forEach((r, i) => floorImages.set(train.images.subarray(r * 784, (r + 1) * 784), i * 784));
  const floor = await judge.judge(floorImages.map((v) => v * 2 - 1), N);
  const realRef = {
    heldoutJudgeAccuracy: judgeAccuracy(real.logits, heldout.labels),
    trainFd: frechetDistance(reference, gaussianStats(floor.features, floor.dim)),
    n: N,
  };
  log(
    `real digits: judge accuracy ${
      (100 * realRef.heldoutJudgeAccuracy.rate).toFixed(1)
    } % on ${heldout.n} held-out; ` +
      `FD of ${N} training digits ${realRef.trainFd.toFixed(2)}`,
  );
  const ctx: Context = { pipeline, judge, thresholds, reference };

  const defaults = manifest.guidance.defaults;
  const cfgFallback = 3;
  const tuned = a["no-sweep"] ? null : await phase("sweep", () => tune(ctx, defaults, cfgFallback));
  const chosen: Record<string, ModeSpec> = tuned?.chosen ?? {
    none: { mode: "none" },
    pladis: { mode: "pladis", guidance: { mode: "pladis", scale: defaults.pladis.scale } },
    gag: { mode: "gag", guidance: { mode: "gag", ...defaults.gag } },
    cfg: { mode: "cfg", cfg: cfgFallback },
    "cfg+gag": { mode: "cfg+gag", cfg: cfgFallback, guidance: { mode: "gag", ...defaults.gag } },
    apg: { mode: "apg", cfg: cfgFallback, apg: {} },
    "apg+gag": { mode: "apg+gag", cfg: cfgFallback, apg: {}, guidance: { mode: "gag", ...defaults.gag } },
  };
  const modes = Object.keys(chosen);

  const prompts = promptSet("test", N);
  const cells: {
    mode: string;
    steps: number;
    spec: ModeSpec;
    scores: SampleScores;
    samples: Float32Array;
    seconds: number;
  }[] = [];
  await phase("test", async () => {
    for (const steps of STEPS) {
      for (const mode of modes) {
        const t0 = performance.now();
        const samples = await sample(pipeline, prompts, chosen[mode], steps);
        const seconds = (performance.now() - t0) / 1000;
        const scores = await scoreSamples(samples, prompts, { ...ctx, fdResamples: FD_RESAMPLES });
        cells.push({ mode, steps, spec: chosen[mode], scores, samples, seconds });
        log(
          `test ${mode} ${steps} step(s): digit ${pct(scores.digit)}, attributes ${
            pct(scores.attributes)
          }, ` +
            `FD ${scores.fd.value.toFixed(2)} (${seconds.toFixed(1)} s)`,
        );
      }
    }
  });
  await judge.release();
  await engine.close();

  const rows = cells.map((c) => {
    const base = cells.find((x) => x.mode === "none" && x.steps === c.steps)!;
    const dDigit = pairedDifference({ hits: base.scores.hits.digit }, { hits: c.scores.hits.digit });
    const dAttr = pairedDifference(
      { hits: base.scores.hits.attrHits, named: base.scores.hits.attrNamed },
      { hits: c.scores.hits.attrHits, named: c.scores.hits.attrNamed },
    );
    return { c, dDigit, dAttr };
  });
  const settings = (s: ModeSpec) =>
    [
      s.guidance?.mode === "pladis" ? `λ=${s.guidance.scale}` : "",
      s.guidance?.mode === "gag" ? `w=${s.guidance.scale}, η=${s.guidance.eta}, ζ=${s.guidance.zeta}` : "",
      s.cfg ? `${s.apg ? "apg" : "cfg"}=${s.cfg}` : "",
    ].filter(Boolean).join(", ") || "–";

  const gridPath = `${a.out}_grid.png`;
  await Deno.mkdir(join(gridPath, ".."), { recursive: true });
  await writeGrid(gridPath, cells, modes, Math.min(10, N));
  const total = Math.round(performance.now() - started);
  timings.total = total;
  const model = await describeModel(MODEL_DIR);

  const md: string[] = [
    "# Guidance quality on the digits model (`deno task eval`)",
    "",
    `Model: ${model.training} (denoiser sha256 ${model.denoiserSha256}…). Backend: ${note}.`,
    `Test set: ${N} fixed prompts × seeds per cell (digits 0–9 equally, ${
      prompts.filter((p) => p.thickness !== undefined || p.slant !== undefined || p.size !== undefined).length
    } naming attributes), the same prompts and seeds in every cell, so differences between modes are paired.`,
    `Scales were tuned on a separate dev set (${DEV_N} prompts × seeds per point; other prompts and seeds).`,
    `Intervals: 95 % Wilson for rates, ± 1.96 bootstrap standard errors (${FD_RESAMPLES} resamples) for FD, paired bootstrap for Δ.`,
    "",
    "- **digit**: the judge (`judge.onnx`) reads the digit the prompt names.",
    "- **attributes**: measured thickness / slant / size (the rule of `tools/train/common.py`, thresholds in " +
    "`attributes.json`) match those the prompt names, pooled over named attributes; chance is 1/3, 1/3, 1/2.",
    "- **FD**: Fréchet distance between judge features (128-d) of the samples and of the " +
    `${heldout.n} held-out real digits. Floor: ${N} real training digits score ${
      realRef.trainFd.toFixed(2)
    }; ` +
    `the judge reads ${pct(realRef.heldoutJudgeAccuracy)} of held-out real digits right.`,
    "",
    "## Test set",
    "",
    markdownTable(
      [
        "steps",
        "mode",
        "settings",
        "digit",
        "Δ digit vs none (pp)",
        "attributes",
        "Δ attributes (pp)",
        "thickness",
        "slant",
        "size",
        "FD",
        "s / cell",
      ],
      rows.map(({ c, dDigit, dAttr }) => [
        c.steps,
        c.mode,
        settings(c.spec),
        pct(c.scores.digit),
        c.mode === "none" ? "–" : pp(dDigit),
        pct(c.scores.attributes),
        c.mode === "none" ? "–" : pp(dAttr),
        pct(c.scores.byAttribute.thickness, 0),
        pct(c.scores.byAttribute.slant, 0),
        pct(c.scores.byAttribute.size, 0),
        `${fmt(c.scores.fd.value, 1)} ± ${fmt(1.96 * (c.scores.fd.sd ?? NaN), 1)}`,
        fmt(c.seconds, 1),
      ]),
    ),
    "",
    `Grid: \`${gridPath.replace(ROOT, "")}\` — blocks of ${STEPS.join(" / ")} steps, columns ${
      modes.join(", ")
    }, ` +
    `rows the first ${Math.min(10, N)} test prompts with their seeds:`,
    "",
    ...prompts.slice(0, Math.min(10, N)).map((p, i) => `${i + 1}. "${p.prompt}" (seed ${p.seed})`),
    "",
  ];
  if (tuned) {
    md.push(
      "## Dev sweep (scale tuning)",
      "",
      `Rule: the highest adherence = mean over ${
        STEPS.join("/")
      } steps of (digit + attributes) / 2, among points ` +
        `whose mean FD is at most ${FD_GUARD}× the unguided one (${fmt(tuned.fdLimit)}); ✓ marks the choice.`,
      "",
      markdownTable(
        [
          "mode",
          "setting",
          ...STEPS.flatMap((s) => [`digit ${s}`, `attr ${s}`, `FD ${s}`]),
          "adherence",
          "mean FD",
          "ok FD",
        ],
        Object.entries(tuned.sweep).flatMap(([mode, points]) =>
          points.map((p) => [
            mode,
            (p.spec === tuned.chosen[mode as keyof typeof tuned.chosen] ? "✓ " : "") + p.label,
            ...p.perSteps.flatMap((x) => [fmt(100 * x.digit, 1), fmt(100 * x.attributes, 1), fmt(x.fd)]),
            fmt(100 * p.adherence, 1),
            fmt(p.meanFd),
            p.eligible ? "yes" : "no",
          ])
        ),
      ),
      "",
      "Tuned defaults (for `models/digits/manifest.json` `guidance.defaults` and `cfg`): " +
        `PLADIS λ = ${chosen.pladis.guidance?.scale}, GAG w = ${chosen.gag.guidance?.scale} ` +
        `(η = ${chosen.gag.guidance?.eta}, ζ = ${chosen.gag.guidance?.zeta}), CFG = ${chosen.cfg.cfg}, ` +
        `CFG+GAG: cfg ${chosen["cfg+gag"].cfg} with w = ${chosen["cfg+gag"].guidance?.scale}; ` +
        `APG: scale ${chosen.apg.cfg} (η = 0, β = −0.5); APG+GAG: scale ${chosen["apg+gag"].cfg} with w = ` +
        `${chosen["apg+gag"].guidance?.scale}.`,
      "",
    );
  } else {
    md.push("Scales: the manifest defaults (run without `--no-sweep` to tune them).", "");
  }
  md.push(
    `Runtime: ${(total / 1000).toFixed(0)} s in all (${
      Object.entries(timings).filter(([k]) => k !== "total").map(([k, v]) =>
        `${k} ${(v / 1000).toFixed(1)} s`
      ).join(", ")
    }).`,
  );
  const markdown = md.join("\n");
  await writeReport(a.out!, markdown, {
    model,
    backend: note,
    settings: {
      n: N,
      devN: DEV_N,
      batch: BATCH,
      steps: STEPS,
      fdResamples: FD_RESAMPLES,
      fdGuard: FD_GUARD,
      quick,
    },
    real: realRef,
    tuned: tuned
      ? {
        chosen: tuned.chosen,
        fdLimit: tuned.fdLimit,
        sweep: Object.fromEntries(
          Object.entries(tuned.sweep).map((
            [k, ps],
          ) => [
            k,
            ps.map(({ spec, label, perSteps, adherence, meanFd, eligible }) => ({
              spec,
              label,
              perSteps,
              adherence,
              meanFd,
              eligible,
            })),
          ]),
        ),
      }
      : null,
    test: rows.map(({ c, dDigit, dAttr }) => ({
      mode: c.mode,
      steps: c.steps,
      spec: c.spec,
      digit: c.scores.digit,
      attributes: c.scores.attributes,
      byAttribute: c.scores.byAttribute,
      fd: c.scores.fd,
      deltaDigitVsNone: dDigit,
      deltaAttributesVsNone: dAttr,
      seconds: c.seconds,
    })),
    prompts: prompts.map(({ prompt, seed }) => ({ prompt, seed })),
    timingsMs: timings,
  });
  console.log(`\n${markdown}\n\nWrote ${a.out}.md, ${a.out}.json and ${gridPath}`);
}

try {
  await main();
} catch (e) {
  console.error((e as Error).stack ?? e);
  Deno.exit(1);
}
