import assert from "node:assert/strict";
import { createCfgCombiner } from "../../sampler/mod.ts";
import { testEngine } from "../_engine.ts";

const random = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 2);
const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

Deno.test("APG with eta 1, no norm threshold and no momentum equals CFG at the same scale", () => {
  const cfg = createCfgCombiner(4, undefined), apg = createCfgCombiner(4, { eta: 1, beta: 0 });
  for (let step = 0; step < 3; step++) {
    const c = random(64, step), u = random(64, step + 10);
    assert.ok(maxDiff(cfg(c, u, 2), apg(c, u, 2)) < 1e-5);
  }
});

Deno.test("APG with eta 0 removes the update's component along the conditional prediction", () => {
  const c = random(32, 1), u = random(32, 2);
  const out = createCfgCombiner(3, { eta: 0, beta: 0 })(c, u, 1);
  const update = out.map((v, j) => v - c[j]);
  const dot = update.reduce((s, v, j) => s + v * c[j], 0);
  assert.ok(Math.abs(dot) < 1e-3, `update·cond = ${dot}`);
});

Deno.test("APG's norm threshold bounds the update by (w - 1)·r per sample", () => {
  const c = random(32, 3), u = c.map((v) => v - 100);
  const out = createCfgCombiner(5, { eta: 1, beta: 0, r: 0.5 })(c, u, 1);
  const norm = Math.sqrt(out.reduce((s, v, j) => s + (v - c[j]) ** 2, 0));
  assert.ok(norm <= 4 * 0.5 + 1e-4, `‖update‖ = ${norm}`);
});

Deno.test({
  name: "APG equals CFG end to end with neutral parameters, and APG combines with GAG",
  async fn() {
    const engine = await testEngine("wasm");
    try {
      const p = engine.pipeline();
      const base = { prompts: ["a thick seven", "2"], seeds: [3, 4], steps: 2, cfg: 3 };
      const cfg = await p.sampleBatch(base);
      const apg = await p.sampleBatch({ ...base, apg: { eta: 1, beta: 0 } });
      assert.ok(maxDiff(cfg, apg) < 1e-4, `APG(η=1, β=0) differs from CFG by ${maxDiff(cfg, apg)}`);
      const both = await engine.generate(engine.prepare({
        prompt: "a thick seven",
        steps: 2,
        seed: 3,
        cfg: 3,
        apg: {},
        guidance: { mode: "gag" },
      }));
      assert.equal(both.mode, "gag");
      assert.equal(both.image.width, 28);
    } finally {
      await engine.close();
    }
  },
});
