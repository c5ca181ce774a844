/**
 * The engine's own path for the embedded model (its tokenizer, the guidance-patched denoiser) against the
 * PyTorch sample in reference.json; the ONNX files alone are checked in reference_test.ts.
 *
 * @module
 */
import assert from "node:assert/strict";
import { testEngine } from "../_engine.ts";

const dir = new URL("../../models/digits/", import.meta.url);
const ref = JSON.parse(await Deno.readTextFile(new URL("reference.json", dir)));

Deno.test({
  name: "the engine's tokenizer and guidance-patched model in mode none give the same sample",
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
      // What GAG gives is checked against PyTorch in digits_guided_reference_test.ts.
      assert.ok(gag.some((v, i) => Math.abs(v - ref.sample[i]) > 1e-3), "GAG changes the sample");
    } finally {
      await engine.close();
    }
  },
});
