/**
 * Patched fixtures on onnxruntime-web's wasm execution provider against the TypeScript reference.
 *
 * @module
 */
import assert from "@std/assert";
import { entmax15, patchAttention, softmax } from "../../guidance/mod.ts";
import {
  buildBareMultiHeadAttentionModel,
  buildMultiHeadAttentionModel,
  buildProbabilityProbeModel,
  buildTorchAttentionModel,
  createRandom,
} from "../fixtures/attention_models.ts";
import {
  assertCheck,
  caseFeeds,
  checkFixture,
  maxAbsoluteError,
  maxRelativeError,
  report,
  runY,
} from "./_ort_check.ts";
import { options, ort } from "./_wasm.ts";

for (const scaleForm of ["mul", "div", "folded", "none"] as const) {
  Deno.test(`patchAttention() output matches the reference on wasm for torch-style attention with scale form ${scaleForm}`, async () => {
    const check = await checkFixture(ort, buildTorchAttentionModel({ scaleForm, seed: 2 }), {
      sessionOptions: options,
    });
    report(scaleForm, check);
    assertCheck(check);
  });
}

Deno.test("patchAttention() output matches the reference on wasm when only cross-attention is patched", async () => {
  const check = await checkFixture(ort, buildTorchAttentionModel({ seed: 3, declareShapes: true }), {
    sessionOptions: options,
    patch: { layers: "cross" },
  });
  report("cross only", check);
  assertCheck(check);
});

Deno.test("patchAttention() output matches the reference on wasm for float16 torch-style attention", async () => {
  // The rule runs in float32 on the float16 scores, values and softmax output and casts back. It runs
  // inside an If (mode none skips it), which keeps the CPU provider from fusing the float16 round trip
  // of S and o_d away, so it reads them rounded to float16 as the graph defines them (as WebGPU always
  // did): against the reference (float64 on float16-rounded q, k, v) that rounding, scaled by λ or w,
  // gives up to about 2e-2.
  for (const declareShapes of [false, true]) {
    const check = await checkFixture(ort, buildTorchAttentionModel({ seed: 5, fp16: true, declareShapes }), {
      sessionOptions: options,
    });
    report(`float16 torch-style, declared shapes ${declareShapes}`, check);
    assertCheck(check, { tolerance: 3e-2 });
  }
});

Deno.test("patchAttention() output matches the reference on wasm for com.microsoft MultiHeadAttention", async () => {
  for (const variant of [{}, { mhaScale: 0.3 }, { mhaBias: true }]) {
    const check = await checkFixture(ort, buildMultiHeadAttentionModel({ seed: 4, ...variant }), {
      sessionOptions: options,
    });
    report(`MultiHeadAttention ${JSON.stringify(variant)}`, check);
    assertCheck(check);
  }
});

Deno.test("patchAttention() output matches the reference on wasm for float16 MultiHeadAttention", async () => {
  // q, k, v and the attention output are float16 in the graph; the unfused rule runs in float32 on
  // the float16 values, as the reference does, so the residual error is float16 output rounding.
  for (const variant of [{}, { mhaBias: true }]) {
    const check = await checkFixture(ort, buildMultiHeadAttentionModel({ seed: 5, fp16: true, ...variant }), {
      sessionOptions: options,
    });
    report(`float16 MultiHeadAttention ${JSON.stringify(variant)}`, check);
    assertCheck(check, { none: 1e-2, tolerance: 5e-3 });
  }
});

Deno.test("patchAttention() handles a MultiHeadAttention whose head size is only known at run time", async () => {
  const bare = buildBareMultiHeadAttentionModel({ heads: 2 });
  const { model, report } = patchAttention(bare);
  const rng = createRandom(6);
  const [B, N, M, C] = [2, 5, 3, 8];
  const x = rng.normals(B * N * C);
  const text = rng.normals(B * M * C, 2);
  const feeds = {
    x: new ort.Tensor("float32", x, [B, N, C]),
    encoder_hidden_states: new ort.Tensor("float32", text, [B, M, C]),
  };
  const original = await ort.InferenceSession.create(bare, options);
  const patched = await ort.InferenceSession.create(model, options);
  const expected = await runY(original, feeds);
  const none = await runY(patched, { ...feeds, ...caseFeeds(ort, report.inputs, {}) });
  assert.ok(maxAbsoluteError(none, expected) <= 1e-6);
  const pladis = await runY(patched, {
    ...feeds,
    ...caseFeeds(ort, report.inputs, { cross: { a: 2, b: 0, eta: 15, zeta: 0 } }),
  });
  assert.ok(maxAbsoluteError(pladis, expected) > 1e-3, "PLADIS changes the output");
  await Promise.all([original.release(), patched.release()]);
});

/** Rows that stress the threshold search: spreads, ties, masks, entries right at the threshold. */
function hardRows(width: number): Float32Array[] {
  const rng = createRandom(8);
  const rows: Float32Array[] = [];
  for (const std of [0.01, 0.3, 1, 3, 10, 100]) rows.push(rng.normals(width, std));
  rows.push(new Float32Array(width).fill(0.7));
  rows.push(Float32Array.from({ length: width }, (_, i) => (i < 5 ? 4 : rng.normal())));
  rows.push(Float32Array.from({ length: width }, (_, i) => (i % 3 === 0 ? -1e9 : rng.normal())));
  rows.push(Float32Array.from({ length: width }, (_, i) => (i === 7 ? 50 : rng.normal())));
  // Entries within 1e-6 of the threshold (z = max + 2τ), on both sides, for half the zeros.
  const base = rng.normals(width, 2);
  const max = Math.max(...base);
  const p = entmax15(base);
  const smallest = p.indexOf(Math.min(...p.filter((v) => v > 0)));
  const tau = (base[smallest] - max) / 2 - Math.sqrt(p[smallest]);
  rows.push(
    base.map((v, i) => (p[i] === 0 && i % 2 === 0 ? max + 2 * tau + (i % 4 === 0 ? 1e-6 : -1e-6) : v)),
  );
  return rows;
}

Deno.test("the in-graph 1.5-entmax matches the sort-based reference on hard rows up to 4,096 keys", async () => {
  // 4,096 keys (SD self-attention at 64×64 latents) is the largest row the Newton step table was measured on.
  for (const width of [9, 64, 256, 4096]) {
    const rows = hardRows(width);
    const probe = buildProbabilityProbeModel(rows.length, width);
    const { model, report } = patchAttention(probe);
    const session = await ort.InferenceSession.create(model, options);
    const identity = new Float32Array(width * width).map((_, i) => (i % (width + 1) === 0 ? 1 : 0));
    const x = new Float32Array(rows.length * width);
    rows.forEach((row, r) => x.set(row, r * width));
    const feeds = {
      x: new ort.Tensor("float32", x, [rows.length, width]),
      encoder_hidden_states: new ort.Tensor("float32", identity, [width, width]),
    };
    const sparse = await runY(session, {
      ...feeds,
      ...caseFeeds(ort, report.inputs, { cross: { a: 1, b: 0, eta: 15, zeta: 0 } }),
    });
    const dense = await runY(session, { ...feeds, ...caseFeeds(ort, report.inputs, {}) });
    let worst = 0;
    rows.forEach((row, r) => {
      const got = sparse.subarray(r * width, (r + 1) * width);
      worst = Math.max(worst, maxAbsoluteError(got, entmax15(row)));
      assert.ok(maxRelativeError(dense.subarray(r * width, (r + 1) * width), softmax(row)) < 1e-6);
    });
    console.log(`  width ${width}: max |entmax graph − reference| ${worst.toExponential(2)}`);
    // The Newton steps reach the float64 threshold to ~1e-10 at every width; what is left is float32. At
    // 4,096 keys, the row with scores within 1e-6 of the threshold (1,036 in the support) sums float32
    // terms over the whole row and lands 1.8e-5 off; every other row stays under 1e-7.
    const tolerance = width <= 256 ? 1e-5 : 4e-5;
    assert.ok(worst <= tolerance, `width ${width}: entmax error ${worst}`);
    await session.release();
  }
});
