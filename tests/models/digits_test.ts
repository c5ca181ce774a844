import assert from "node:assert/strict";
import { createBackend, flowTimes, gaussianNoise, sampleFlowEuler } from "../../sampler/mod.ts";
import { testEngine } from "../_engine.ts";

const dir = new URL("../../models/digits/", import.meta.url);
const ref = JSON.parse(await Deno.readTextFile(new URL("reference.json", dir)));

Deno.test({
  name: "the committed ONNX files reproduce PyTorch's 4-step sample for a fixed prompt and seed",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const backend = await createBackend("wasm");
    const te = await backend.createSession(
      await Deno.readFile(new URL("text_encoder.onnx", dir)),
      "text encoder",
    );
    const dn = await backend.createSession(await Deno.readFile(new URL("denoiser.onnx", dir)), "denoiser");
    const text =
      (await te.run({ input_ids: { data: BigInt64Array.from(ref.input_ids, BigInt), dims: [1, 12] } }))
        .text_states;
    const x = await sampleFlowEuler(
      async (x, t, dt) => {
        const out = await dn.run({
          x: { data: x, dims: [1, 1, 28, 28] },
          t: { data: Float32Array.of(t), dims: [1] },
          dt: { data: Float32Array.of(dt), dims: [1] },
          text_states: text,
        });
        return out.velocity.data as Float32Array;
      },
      gaussianNoise(ref.seed, 784),
      flowTimes(ref.steps),
    );
    const worst = x.reduce((m, v, i) => Math.max(m, Math.abs(v - ref.sample[i])), 0);
    assert.ok(worst <= 1e-4, `ONNX and PyTorch differ by ${worst}`);
  },
});

Deno.test({
  name: "the engine's tokenizer and guidance-patched model in mode none give the same sample",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const engine = await testEngine("wasm");
    try {
      const p = engine.pipeline("digits");
      const x = await p.sampleBatch({
        prompts: [ref.prompt],
        seeds: [ref.seed],
        steps: ref.steps,
        guidance: { mode: "none" },
      });
      const worst = x.reduce((m, v, i) => Math.max(m, Math.abs(v - ref.sample[i])), 0);
      assert.ok(worst <= 1e-4, `patched (mode none) and PyTorch differ by ${worst}`);
      const gag = await p.sampleBatch({
        prompts: [ref.prompt],
        seeds: [ref.seed],
        steps: ref.steps,
        guidance: { mode: "gag" },
      });
      assert.ok(gag.some((v, i) => Math.abs(v - ref.sample[i]) > 1e-3), "GAG changes the sample");
    } finally {
      await engine.close();
    }
  },
});
