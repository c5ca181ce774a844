/**
 * The project's committed digits denoiser (a PyTorch 1.13 export at opset 17) through the patcher.
 *
 * @module
 */
import assert from "@std/assert";
import { findAttentionSites, guidanceFeeds, guidanceScalars, patchAttention } from "../../guidance/mod.ts";
import { createRandom } from "../fixtures/attention_models.ts";
import { maxAbsoluteError } from "./_ort_check.ts";
import { options, ort } from "./_wasm.ts";

const PATH = new URL("../../models/digits/denoiser.onnx", import.meta.url);
// The model is committed: a missing file fails here rather than skipping the tests.
const model = await Deno.readFile(PATH);

Deno.test({
  name:
    "findAttentionSites() finds self- and cross-attention in every transformer block of the digits denoiser",
  fn: () => {
    const { sites, textInput } = findAttentionSites(model, { layers: "all" });
    assert.equal(textInput, "text_states");
    assert.deepEqual(
      sites.map((s) => [s.node, s.kind, s.form]),
      ["a2", "a3", "au3", "au2"].flatMap((block) => [
        [`/d/${block}/self_attn/Softmax`, "self", "matmul_softmax"],
        [`/d/${block}/cross_attn/Softmax`, "cross", "matmul_softmax"],
      ]),
    );
  },
});

Deno.test({
  name: "the patched digits denoiser reproduces the original in mode none and changes with GAG on wasm",
  fn: async () => {
    const { model: patched, report } = patchAttention(model);
    assert.equal(report.patched.length, 4);
    const rng = createRandom(1);
    const feeds = {
      x: new ort.Tensor("float32", rng.normals(2 * 28 * 28), [2, 1, 28, 28]),
      t: new ort.Tensor("float32", Float32Array.of(0, 0.5), [2]),
      dt: new ort.Tensor("float32", Float32Array.of(0.25, 0.25), [2]),
      text_states: new ort.Tensor("float32", rng.normals(2 * 12 * 64), [2, 12, 64]),
    };
    const scalars = (cross: ReturnType<typeof guidanceScalars>) =>
      Object.fromEntries(
        Object.entries(guidanceFeeds(report.inputs, { cross })).map((
          [k, v],
        ) => [k, new ort.Tensor("float32", v.data, v.dims)]),
      );
    const original = await ort.InferenceSession.create(model, options);
    const session = await ort.InferenceSession.create(patched, options);
    const output = original.outputNames[0];
    const expected = (await original.run(feeds))[output].data as Float32Array;
    const none = (await session.run({ ...feeds, ...scalars(guidanceScalars({ mode: "none" })) }))[output]
      .data as Float32Array;
    const gag = (await session.run({ ...feeds, ...scalars(guidanceScalars({ mode: "gag" })) }))[output]
      .data as Float32Array;
    assert.ok(maxAbsoluteError(none, expected) <= 1e-6);
    assert.ok(maxAbsoluteError(gag, expected) > 1e-3, "GAG changes the velocity");
    assert.ok(gag.every(Number.isFinite));
    await Promise.all([original.release(), session.release()]);
  },
});
