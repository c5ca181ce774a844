/**
 * The shipped digits model with guidance against PyTorch: `tools/train/guided_reference.py` runs the training
 * code's own modules (weights read back from the ONNX files) with the guidance rule written in PyTorch and an
 * exact 1.5-entmax, and records 4-step samples for none, PLADIS and GAG (one with the clip binding and
 * 0 < ζ < 1). The engine's guidance-patched model must reproduce each of them.
 *
 * @module
 */
import assert from "node:assert/strict";
import { testEngine } from "../_engine.ts";

interface GuidedCase {
  label: string;
  guidance: { mode: "none" | "pladis" | "gag"; scale?: number; eta?: number; zeta?: number };
  sample: number[];
}

const ref = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/digits_guided_reference.json", import.meta.url)),
) as { prompt: string; seed: number; steps: number; cases: GuidedCase[] };

/** The graph runs in float32 with a Newton-step entmax; PyTorch's reference is float64 with an exact one. */
const TOLERANCE = 1e-4;

Deno.test("the guidance-patched digits model reproduces PyTorch's samples with none, PLADIS and GAG", async () => {
  const engine = await testEngine("wasm");
  try {
    const pipeline = engine.pipeline("digits");
    assert.deepEqual(
      [...new Set(ref.cases.map((c) => c.guidance.mode))].sort(),
      ["gag", "none", "pladis"],
      "the reference has samples for none, PLADIS and GAG",
    );
    const plain = ref.cases.find((c) => c.guidance.mode === "none")!.sample;
    for (const c of ref.cases) {
      const x = await pipeline.sampleBatch({
        prompts: [ref.prompt],
        seeds: [ref.seed],
        steps: ref.steps,
        guidance: c.guidance,
      });
      assert.equal(x.length, c.sample.length);
      const worst = x.reduce((w, v, i) => Math.max(w, Math.abs(v - c.sample[i])), 0);
      const moved = c.sample.reduce((w, v, i) => Math.max(w, Math.abs(v - plain[i])), 0);
      console.log(
        `  ${c.label}: max |ONNX − PyTorch| ${worst.toExponential(2)} (guidance moves it ${
          moved.toFixed(2)
        })`,
      );
      assert.ok(worst <= TOLERANCE, `${c.label}: the patched model differs from PyTorch by ${worst}`);
    }
  } finally {
    await engine.close();
  }
});
