/**
 * Patched fixtures on onnxruntime-web's WebGPU execution provider (Mesa llvmpipe in CI) against the
 * TypeScript reference. CPU fallback is disabled, so session creation fails if any node of the
 * patched graph has no WebGPU kernel.
 *
 * @module
 */
import assert from "@std/assert";
import { destroyDeviceAfterTests, options, ort, requireAdapter } from "./_webgpu.ts";
import { entmax15, patchAttention } from "../../guidance/mod.ts";
import {
  type AttentionFixture,
  buildMultiHeadAttentionModel,
  buildProbabilityProbeModel,
  buildTorchAttentionModel,
  createRandom,
} from "../fixtures/attention_models.ts";
import { assertCheck, caseFeeds, checkFixture, maxAbsoluteError, report, runY } from "./_ort_check.ts";

/** Checks a patched fixture on WebGPU against the reference, reports its errors and asserts them. */
async function checkOnWebGpu(
  name: string,
  fixture: AttentionFixture,
  limits?: Parameters<typeof assertCheck>[1],
): Promise<void> {
  await requireAdapter();
  const check = await checkFixture(ort, fixture, { sessionOptions: options });
  report(name, check);
  assertCheck(check, limits);
}

Deno.test("a WebGPU adapter is available for the WebGPU execution provider", requireAdapter);

Deno.test("patchAttention() output matches the reference on WebGPU for torch-style attention", async () => {
  await checkOnWebGpu("torch-style", buildTorchAttentionModel({ seed: 2 }));
});

Deno.test("patchAttention() output matches the reference on WebGPU for com.microsoft MultiHeadAttention", async () => {
  // The unpatched model runs WebGPU's fused attention kernel, the patched one plain MatMul/Softmax:
  // their float32 rounding differs by ~2e-6 here (on wasm both agree exactly).
  await checkOnWebGpu("MultiHeadAttention", buildMultiHeadAttentionModel({ seed: 4, mhaBias: true }), {
    none: 1e-5,
  });
});

Deno.test("patchAttention() output matches the reference on WebGPU for float16 MultiHeadAttention", async () => {
  await checkOnWebGpu("float16 MultiHeadAttention", buildMultiHeadAttentionModel({ seed: 5, fp16: true }), {
    none: 1e-2,
    tolerance: 5e-3,
  });
});

Deno.test("patchAttention() keeps float16 torch-style attention on WebGPU and reproduces it in mode none", async () => {
  // WebGPU runs the model's own float16 MatMul/Softmax in half precision: the unpatched model is
  // already ~6e-3 from the float64 reference, and λ or w amplify that error in o_s − o_d.
  await checkOnWebGpu("float16 torch-style", buildTorchAttentionModel({ seed: 5, fp16: true }), {
    tolerance: 1e-1,
  });
});

Deno.test("the in-graph 1.5-entmax matches the sort-based reference to 1e-5 on WebGPU", async () => {
  await requireAdapter();
  const width = 64;
  const rng = createRandom(8);
  const rows = [0.01, 0.3, 1, 3, 10, 100].map((std) => rng.normals(width, std));
  rows.push(new Float32Array(width).fill(0.7));
  rows.push(Float32Array.from({ length: width }, (_, i) => (i % 3 === 0 ? -1e9 : rng.normal())));
  const { model, report } = patchAttention(buildProbabilityProbeModel(rows.length, width));
  const session = await ort.InferenceSession.create(model, options);
  const x = new Float32Array(rows.length * width);
  rows.forEach((row, r) => x.set(row, r * width));
  const identity = new Float32Array(width * width).map((_, i) => (i % (width + 1) === 0 ? 1 : 0));
  const y = await runY(session, {
    x: new ort.Tensor("float32", x, [rows.length, width]),
    encoder_hidden_states: new ort.Tensor("float32", identity, [width, width]),
    ...caseFeeds(ort, report.inputs, { cross: { a: 1, b: 0, eta: 15, zeta: 0 } }),
  });
  const worst = Math.max(
    ...rows.map((row, r) => maxAbsoluteError(y.subarray(r * width, (r + 1) * width), entmax15(row))),
  );
  console.log(`  width ${width}: max |entmax graph − reference| ${worst.toExponential(2)}`);
  assert.ok(worst <= 1e-5, `entmax error ${worst}`);
  await session.release();
});

destroyDeviceAfterTests();
