import assert from "@std/assert";
import onnx from "onnx-proto";
import {
  findAttentionSites,
  guidanceScalars,
  guidedAttention,
  jointGuidedAttention,
  layerKinds,
  patchAttention,
} from "../../guidance/mod.ts";
import { createRandom } from "../fixtures/attention_models.ts";
import { buildMmditModel, type MmditConfig } from "../fixtures/mmdit_models.ts";
import { assertThrowsWith } from "./_assert.ts";
import { maxAbsoluteError } from "./_ort_check.ts";

const P = onnx.onnx;

function operands(seed: number, queries: number, keys: number) {
  const rng = createRandom(seed);
  const [heads, headDim] = [2, 8];
  return {
    q: rng.normals(heads * queries * headDim, 1.5),
    k: rng.normals(heads * keys * headDim, 1.5),
    v: rng.normals(heads * keys * headDim),
    heads,
    queries,
    keys,
    headDim,
  };
}

const GAG = guidanceScalars({ mode: "gag", zeta: 0.5 });

Deno.test("jointGuidedAttention() equals guidedAttention() when every key is text and every query an image token", () => {
  const ops = operands(1, 7, 5);
  const joint = jointGuidedAttention(ops, { textKeys: [0, 5], imageQueries: [0, 7] }, GAG);
  assert.ok(maxAbsoluteError(joint, guidedAttention(ops, GAG)) < 1e-6);
});

Deno.test("jointGuidedAttention() is plain softmax attention over all keys when a = b = 0", () => {
  const ops = operands(2, 9, 9);
  const none = jointGuidedAttention(ops, { textKeys: [0, 4], imageQueries: [4, 9] });
  assert.deepEqual(none, guidedAttention(ops));
});

Deno.test("jointGuidedAttention() changes image queries only, by the text block's softmax mass", () => {
  const ops = operands(3, 10, 10);
  const tokens = { textKeys: [6, 10], imageQueries: [0, 6] } as const;
  const none = jointGuidedAttention(ops, tokens);
  const gag = jointGuidedAttention(ops, tokens, GAG);
  const d = ops.headDim;
  for (let h = 0; h < ops.heads; h++) {
    for (let i = 0; i < ops.queries; i++) {
      const at = (h * ops.queries + i) * d;
      const change = maxAbsoluteError(gag.subarray(at, at + d), none.subarray(at, at + d));
      if (i >= 6) assert.equal(change, 0, `text query ${i} changed`);
      else assert.ok(change > 1e-4, `image query ${i} did not change`);
    }
  }
  assertThrowsWith(
    () => jointGuidedAttention(ops, { textKeys: [6, 11], imageQueries: [0, 6] }),
    "Cannot compute joint attention as the token ranges must lie within 10 keys and 10 queries: current values are textKeys [6, 11), imageQueries [0, 6)",
  );
});

const VARIANTS: Partial<MmditConfig>[] = [
  {},
  { textFirst: false },
  { concat: "tokens" },
  { rope: true },
  { imageQueriesOnly: true },
  { dynamicShapes: true, blocks: 2 },
  { blocks: 3, rope: true, textFirst: false, concat: "tokens" },
  { fused: true, blocks: 2 },
];

Deno.test("findAttentionSites() finds joint attention in MMDiT blocks of every export variant, later blocks too", () => {
  for (const variant of VARIANTS) {
    const fixture = buildMmditModel(variant);
    const { sites, skipped } = findAttentionSites(fixture.model, { layers: "all" });
    assert.deepEqual(
      sites.map((s) => [s.node, s.kind, s.selected]),
      fixture.sites.map((node) => [node, "joint", true]),
      JSON.stringify(variant),
    );
    assert.deepEqual(skipped, []);
  }
});

Deno.test("patchAttention() guides joint sites under layers 'cross', 'joint' and 'all' through guidance_a_joint and guidance_b_joint", () => {
  const { model, sites } = buildMmditModel({ blocks: 2 });
  for (const layers of ["cross", "joint", "all"] as const) {
    const { report } = patchAttention(model, { layers });
    assert.deepEqual(report.patched, sites.map((node) => ({ node, kind: "joint", form: "matmul_softmax" })));
    assert.deepEqual(report.inputs, [
      "guidance_a_joint",
      "guidance_b_joint",
      "guidance_eta",
      "guidance_zeta",
    ]);
  }
  assertThrowsWith(
    () => patchAttention(model, { layers: "self" }),
    "Cannot patch attention as no site matches the selection: current sites are " +
      "/transformer_blocks.0/attn/Softmax (joint), /transformer_blocks.1/attn/Softmax (joint)",
  );
});

Deno.test("layerKinds() lets 'cross' cover joint attention and keeps 'self' to self-attention", () => {
  assert.deepEqual(layerKinds("cross"), ["cross", "joint"]);
  assert.deepEqual(layerKinds("self"), ["self"]);
  assert.deepEqual(layerKinds("joint"), ["joint"]);
  assert.deepEqual(layerKinds("all"), ["cross", "self", "joint"]);
});

Deno.test("findAttentionSites() skips a joint site whose keys do not trace back to the concatenation, saying why", () => {
  const decoded = P.ModelProto.decode(buildMmditModel({ concat: "tokens" }).model);
  const nodes = decoded.graph!.node!;
  // An op the tracer does not look through (a norm over tokens) between the keys' Concat and the heads.
  const concat = nodes.filter((n) => n.opType === "Concat" && n.name!.includes("/attn/"))[1];
  const reader = nodes.find((n) => n.input!.includes(concat.output![0]))!;
  reader.input = reader.input!.map((i) => (i === concat.output![0] ? "keys_normed" : i));
  nodes.splice(nodes.indexOf(reader), 0, {
    name: "/norm_k",
    opType: "LpNormalization",
    input: [concat.output![0]],
    output: ["keys_normed"],
    attribute: [],
  });
  const { sites, skipped } = findAttentionSites(P.ModelProto.encode(decoded).finish(), { layers: "all" });
  assert.deepEqual(sites, []);
  assert.deepEqual(skipped, [{
    node: "/transformer_blocks.0/attn/Softmax",
    reason: "values concatenate text and image tokens but keys do not trace back to such a concatenation",
  }]);
});
