/**
 * `deno task eval`: does attention guidance help, and at which settings? A study of the GAG paper's claims on
 * each shipped digits model.
 *
 * Per model: norm statistics of the rule's vectors (η's scale), scales tuned on a dev set of prompts and
 * seeds, then on a separate test set, paired and with 95 % intervals: GAG against none and PLADIS at 1, 2
 * and 4 steps; quality against w for PLADIS, unclipped GAG and GAG at η tied to the measured ‖g‖; ζ; layers;
 * GAG with CFG and with APG. Writes `<out>.md`, `<out>.json`, `<out>_stability.svg` and `<out>_strip.svg`.
 *
 * ```sh
 * deno task eval                      # both models, N = 200 per test cell and per dev point
 * deno task eval --quick              # N = 50, a small sweep: a smoke run of a few minutes
 * deno task eval --update-manifests   # also write the tuned defaults into each model's manifest.json
 * ```
 *
 * Options: --models digits,digits-base, --n, --dev-n, --batch, --backend native|wasm|webgpu|auto (default
 * native, falling back to wasm), --out (file base, default docs/results/eval).
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  type BackendChoice,
  createEngine,
  type Engine,
  guidancePatch,
  type PatchFn,
} from "../../sampler/mod.ts";
import { describeModel, writeReport } from "../_report.ts";
import { attentionNorms } from "./attention_norms.ts";
import { type DigitJudge, loadDigitJudge } from "./digit_judge.ts";
import { frechetDistance, frechetReference, gaussianStats } from "./frechet_distance.ts";
import { judgeAccuracy } from "./judge_accuracy.ts";
import type { AttributeThresholds } from "./measure_digits.ts";
import { loadSplits } from "./mnist_digits.ts";
import { promptSet } from "./prompt_set.ts";
import {
  type CurvePoint,
  pngDataUrl,
  renderSvg,
  stabilitySpec,
  type StripImage,
  stripSpec,
} from "./plots.ts";
import { type ModelStudy, pickStripPrompt, stripSamples, studyModel, type StudyPlan } from "./study_model.ts";
import { modelSection, summarySection } from "./study_report.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    models: { type: "string", default: "digits,digits-base" },
    n: { type: "string" },
    "dev-n": { type: "string" },
    batch: { type: "string", default: "50" },
    backend: { type: "string", default: "native" },
    out: { type: "string", default: join(ROOT, "docs", "results", "eval") },
    quick: { type: "boolean", default: false },
    "update-manifests": { type: "boolean", default: false },
    "strip-only": { type: "boolean", default: false },
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
/** The sweep: full, or a smoke run that still exercises every section. */
const PLAN: StudyPlan = quick
  ? {
    n: intArg("n", a.n, 50, 10),
    devN: intArg("dev-n", a["dev-n"], 50, 10),
    normN: 16,
    scales: [1, 10],
    gagExtra: [],
    pladisExtra: [],
    cfg: [2],
    apg: [4],
    tuneSteps: [4],
    testSteps: [1, 4],
    curveSteps: 4,
    etaOff: 100,
  }
  : {
    n: intArg("n", a.n, 200, 10),
    devN: intArg("dev-n", a["dev-n"], 200, 10),
    normN: 32,
    scales: [0.5, 1, 2, 5, 10, 20],
    gagExtra: [],
    pladisExtra: [1.5],
    cfg: [1.5, 2, 3],
    apg: [2, 4],
    tuneSteps: [1, 4],
    testSteps: [1, 2, 4],
    curveSteps: 4,
    etaOff: 100,
  };
const BATCH = intArg("batch", a.batch, 50);
const MODELS = a.models!.split(",").map((s) => s.trim()).filter(Boolean);

const started = performance.now();
const log = (msg: string) =>
  console.log(`[eval ${((performance.now() - started) / 1000).toFixed(1)} s] ${msg}`);

/** Every site kind patched, so one engine serves the layers comparison too. */
const patchAll: PatchFn = (model, options) => guidancePatch(model, { ...options, layers: "all" });

/** Starts the engine on the asked backend; `native` falls back to wasm when onnxruntime-node cannot load. */
async function startEngine(choice: string): Promise<{ engine: Engine; note: string }> {
  if (!["native", "wasm", "webgpu", "auto"].includes(choice)) {
    throw new Error(
      `Cannot evaluate as --backend must be native, wasm, webgpu or auto: current value is ${choice}`,
    );
  }
  const start = (backend: BackendChoice) =>
    createEngine({
      modelsDir: join(ROOT, "models"),
      models: MODELS,
      backend,
      patch: patchAll,
      log: () => {},
    });
  try {
    const engine = await start(choice as BackendChoice);
    return { engine, note: `${engine.backend.name} (${engine.backend.reason})` };
  } catch (e) {
    if (choice !== "native") throw e;
    const engine = await start("wasm");
    return { engine, note: `wasm (native failed to start: ${(e as Error).message.split("\n")[0]})` };
  }
}

/** Writes the tuned defaults, η range and over-guiding scales into a model's manifest. */
async function updateManifest(dir: string, study: ModelStudy) {
  const path = join(dir, "manifest.json");
  const m = JSON.parse(await Deno.readTextFile(path));
  const d = study.defaults;
  m.guidance.layers = d.layers;
  m.guidance.defaults = {
    pladis: { scale: d.pladis },
    gag: { scale: d.gag.scale, eta: d.gag.eta, zeta: d.gag.zeta },
  };
  m.guidance.ranges.gag.eta = d.etaRange;
  m.guidance.overGuiding = d.overGuiding;
  await Deno.writeTextFile(path, JSON.stringify(m, null, 2) + "\n");
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", path] }).output();
  log(`wrote the tuned defaults into ${path}`);
}

/** Renders the strip of one prompt and seed across scales for each model, at its manifest's tuned η. */
async function writeStrip(studies: { id: string; strip: ModelStudy["strip"] }[]) {
  const path = `${a.out}_strip.svg`;
  const images: StripImage[] = [];
  for (const s of studies) {
    for (const img of s.strip) {
      images.push({
        model: s.id,
        method: img.method,
        scale: img.scale,
        url: await pngDataUrl(img.pixels, 28, 28),
      });
    }
  }
  await Deno.writeTextFile(path, await renderSvg(stripSpec(images)));
  return path;
}

/** `--strip-only`: the strip alone, from the tuned η in each manifest (no sweep). */
async function stripOnly() {
  const { engine } = await startEngine(a.backend!);
  const studies = [];
  for (const id of MODELS) {
    const pipeline = engine.pipeline(id);
    const eta = pipeline.manifest.guidance.defaults.gag.eta;
    studies.push({
      id,
      strip: await stripSamples(
        { pipeline, batch: 1 },
        pickStripPrompt(promptSet("test", PLAN.n)),
        eta,
        PLAN,
      ),
    });
  }
  await engine.close();
  log(`wrote ${await writeStrip(studies)}`);
}

async function main() {
  log(
    `models ${MODELS.join(", ")}; N = ${PLAN.n} per test cell, ${PLAN.devN} per dev point${
      quick ? " (quick)" : ""
    }`,
  );
  const { engine, note } = await startEngine(a.backend!);
  log(`backend: ${note}`);
  const judgeDir = join(ROOT, "models", MODELS[0]);
  const first = engine.pipeline(MODELS[0]).manifest;
  if (first.kind !== "flow" || !first.judge) {
    throw new Error(`Cannot evaluate model '${MODELS[0]}' as it has no judge: current kind is ${first.kind}`);
  }
  const judge: DigitJudge = await loadDigitJudge(engine.backend, judgeDir, first);
  const thresholds = JSON.parse(
    await Deno.readTextFile(join(judgeDir, first.attributes ?? "attributes.json")),
  ) as AttributeThresholds;
  const { heldout, train } = await loadSplits(join(ROOT, ".cache", "mnist"));
  const real = await judge.judge(heldout.images.map((v) => v * 2 - 1), heldout.n);
  const reference = frechetReference(gaussianStats(real.features, real.dim));
  const floorRows = Array.from({ length: PLAN.n }, (_, i) => Math.floor((i * train.n) / PLAN.n));
  const floorImages = new Float32Array(PLAN.n * 784);
  floorRows.forEach((r, i) => floorImages.set(train.images.subarray(r * 784, (r + 1) * 784), i * 784));
  const floor = await judge.judge(floorImages.map((v) => v * 2 - 1), PLAN.n);
  const realRef = {
    heldoutJudgeAccuracy: judgeAccuracy(real.logits, heldout.labels),
    trainFd: frechetDistance(reference, gaussianStats(floor.features, floor.dim)),
  };

  const studies: ModelStudy[] = [];
  for (const id of MODELS) {
    const pipeline = engine.pipeline(id);
    const dir = join(ROOT, "models", id);
    const norms = await attentionNorms({
      backend: engine.backend,
      pipeline,
      denoiser: await Deno.readFile(join(dir, "denoiser.onnx")),
      prompts: promptSet("dev", PLAN.normN),
      steps: 4,
    });
    const ctx = { pipeline, judge, thresholds, reference, batch: BATCH, fdResamples: quick ? 20 : 100, log };
    const study = await studyModel(ctx, norms, PLAN, await describeModel(dir));
    studies.push(study);
    if (a["update-manifests"]) await updateManifest(dir, study);
  }
  await judge.release();
  await engine.close();

  const stabilityPath = `${a.out}_stability.svg`, stripPath = `${a.out}_strip.svg`;
  const curves: CurvePoint[] = studies.flatMap((s) => s.curves);
  const noneRefs = studies.flatMap((s) => s.curveNone);
  await Deno.writeTextFile(stabilityPath, await renderSvg(stabilitySpec(curves, noneRefs)));
  await writeStrip(studies);

  const seconds = Math.round((performance.now() - started) / 1000);
  const rel = (p: string) => p.replace(ROOT, "");
  const markdown = [
    "# Does GAG help? (`deno task eval`)",
    "",
    `Backend: ${note}. Test set: ${PLAN.n} fixed prompts × seeds per cell, the same in every cell (paired). ` +
    `Scales tuned on a separate dev set (${PLAN.devN} other prompts × seeds per point). Intervals: 95 % Wilson ` +
    "for rates, paired bootstrap for differences against none, ± 1.96 bootstrap standard errors for FD.",
    "",
    `- **digit**: the judge (\`judge.onnx\`, ${
      (100 * realRef.heldoutJudgeAccuracy.rate).toFixed(1)
    } % on held-out real digits) reads the digit the prompt names.`,
    "- **attributes**: measured thickness / slant / size match those the prompt names (chance 1/3, 1/3, 1/2).",
    `- **FD**: Fréchet distance of judge features to ${heldout.n} held-out real digits (lower is better; ` +
    `${PLAN.n} real training digits score ${realRef.trainFd.toFixed(1)}).`,
    "",
    ...summarySection(studies, PLAN),
    "",
    `![Quality against scale](${rel(stabilityPath).replace("docs/results/", "")})`,
    "",
    `![One prompt and seed across scales](${rel(stripPath).replace("docs/results/", "")})`,
    "",
    `Strip: ${
      studies.map((s) => `${s.id}: "${s.stripPrompt.prompt}", seed ${s.stripPrompt.seed}`).join("; ")
    }; ` +
    `${PLAN.curveSteps} steps; columns are the scale (w for GAG, λ for PLADIS).`,
    "",
    ...studies.flatMap((s) => modelSection(s, PLAN)),
    `Runtime: ${seconds} s${quick ? " (quick)" : ""}.`,
  ].join("\n");
  await writeReport(a.out!, markdown, {
    backend: note,
    plan: PLAN,
    real: realRef,
    models: studies.map(({ strip: _strip, norms, ...s }) => ({
      ...s,
      norms: norms.pooled,
      normsBySite: norms.sites,
    })),
    seconds,
  });
  console.log(`\n${markdown}\n\nWrote ${a.out}.md, ${a.out}.json, ${stabilityPath} and ${stripPath}`);
}

try {
  await (a["strip-only"] ? stripOnly() : main());
} catch (e) {
  console.error((e as Error).stack ?? e);
  Deno.exit(1);
}
