/**
 * Rows of one batch with different guidance modes and scales, run as one call of a patched model on
 * onnxruntime-web's wasm provider, each against the TypeScript reference of its own setting.
 *
 * @module
 */
import assert from "@std/assert";
import onnx from "onnx-proto";
import { guidanceFeeds, type GuidanceRow, guidanceScalars, patchAttention } from "../../guidance/mod.ts";
import {
  type AttentionFixture,
  attrs,
  buildMultiHeadAttentionModel,
  buildTorchAttentionModel,
  createRandom,
  GraphBuilder,
  int64Tensor,
  randomInputs,
  referenceForward,
  valueInfo,
} from "../fixtures/attention_models.ts";
import { buildMmditModel, randomMmditInputs, referenceMmdit } from "../fixtures/mmdit_models.ts";
import { fixtureFeeds, maxAbsoluteError, maxRelativeError, runY } from "./_ort_check.ts";
import { options, ort } from "./_wasm.ts";

/** One setting per row: unguided, PLADIS on both kinds, GAG clipped on cross only. */
const ROWS: GuidanceRow[] = [
  {},
  {
    cross: guidanceScalars({ mode: "pladis", scale: 3 }),
    self: guidanceScalars({ mode: "pladis", scale: 3 }),
  },
  { cross: guidanceScalars({ mode: "gag", scale: 10, eta: 0.2, zeta: 0.5 }) },
];

function tensors(feeds: Record<string, { data: Float32Array; dims: number[] }>) {
  return Object.fromEntries(
    Object.entries(feeds).map(([name, f]) => [name, new ort.Tensor("float32", f.data, f.dims)]),
  );
}

async function checkRows(fixture: AttentionFixture): Promise<number[]> {
  const c = fixture.config;
  const inputs = randomInputs(c, 11);
  const { model, report } = patchAttention(fixture.model, { layers: "all" });
  const session = await ort.InferenceSession.create(model, options);
  try {
    const y = await runY(session, {
      ...fixtureFeeds(ort, fixture, inputs),
      ...tensors(guidanceFeeds(report.inputs, ROWS)),
    });
    const size = c.tokens * c.channels;
    return ROWS.map((row, r) => {
      const want = referenceForward(fixture, inputs, row).subarray(r * size, (r + 1) * size);
      return maxRelativeError(y.subarray(r * size, (r + 1) * size), want);
    });
  } finally {
    await session.release();
  }
}

const FIXTURES: [string, () => AttentionFixture][] = [
  ["torch-style attention of unknown rank", () => buildTorchAttentionModel({ batch: 3, seed: 2 })],
  [
    "torch-style attention of rank 4",
    () => buildTorchAttentionModel({ batch: 3, seed: 3, declareShapes: true, dynamicShapes: true }),
  ],
  ["fused MultiHeadAttention", () => buildMultiHeadAttentionModel({ batch: 3, seed: 4 })],
];

for (const [name, build] of FIXTURES) {
  Deno.test(`patchAttention() guides each row of one call by its own inputs on wasm: ${name}`, async () => {
    const errors = await checkRows(build());
    errors.forEach((error, r) => assert.ok(error <= 1e-4, `row ${r}: relative error ${error}`));
  });
}

Deno.test("patchAttention() feeds one row to every row of a batch alike", async () => {
  const fixture = buildTorchAttentionModel({ batch: 3, seed: 5, declareShapes: true });
  const inputs = randomInputs(fixture.config, 12);
  const { model, report } = patchAttention(fixture.model, { layers: "all" });
  const session = await ort.InferenceSession.create(model, options);
  try {
    const base = fixtureFeeds(ort, fixture, inputs);
    const one = await runY(session, { ...base, ...tensors(guidanceFeeds(report.inputs, ROWS[2])) });
    const each = await runY(session, {
      ...base,
      ...tensors(guidanceFeeds(report.inputs, [ROWS[2], ROWS[2], ROWS[2]])),
    });
    assert.deepEqual(one, each);
  } finally {
    await session.release();
  }
});

Deno.test("patchAttention() guides each row of one call by its own inputs on wasm: joint attention", async () => {
  const fixture = buildMmditModel({ seed: 3, batch: 3 });
  const c = fixture.config;
  const inputs = randomMmditInputs(c, 7);
  const { model, report } = patchAttention(fixture.model);
  const rows: GuidanceRow[] = ROWS.map((row) => (row.cross ? { joint: row.cross } : {}));
  const session = await ort.InferenceSession.create(model, options);
  try {
    const out = await session.run({
      hidden_states: new ort.Tensor("float32", inputs.image, [c.batch, c.imageTokens, c.channels]),
      encoder_hidden_states: new ort.Tensor("float32", inputs.text, [c.batch, c.textTokens, c.textChannels]),
      ...tensors(guidanceFeeds(report.inputs, rows)),
    });
    const y = out.y.data as Float32Array;
    const size = c.imageTokens * c.channels;
    rows.forEach((row, r) => {
      const want = referenceMmdit(fixture, inputs, row.joint ?? guidanceScalars({ mode: "none" }));
      const error = maxRelativeError(
        y.subarray(r * size, (r + 1) * size),
        want.y.subarray(r * size, (r + 1) * size),
      );
      assert.ok(error <= 1e-4, `row ${r}: relative error ${error}`);
    });
    // The unguided row is the unpatched model's, bit for bit.
    const original = await ort.InferenceSession.create(fixture.model, options);
    const plain = (await original.run({
      hidden_states: new ort.Tensor("float32", inputs.image, [c.batch, c.imageTokens, c.channels]),
      encoder_hidden_states: new ort.Tensor("float32", inputs.text, [c.batch, c.textTokens, c.textChannels]),
    })).y.data as Float32Array;
    await original.release();
    assert.equal(maxAbsoluteError(y.subarray(0, size), plain.subarray(0, size)), 0);
  } finally {
    await session.release();
  }
});

Deno.test("patchAttention() runs the rule only inside an If, so a call with no guided row runs no rule op", () => {
  const fixture = buildTorchAttentionModel({ blocks: 2, declareShapes: true });
  const { model } = patchAttention(fixture.model, { layers: "all" });
  const graph = onnx.onnx.ModelProto.decode(model).graph!;
  const original = new Set(onnx.onnx.ModelProto.decode(fixture.model).graph!.node!.map((n) => n.name));
  const added = graph.node!.filter((n) => !original.has(n.name));
  // A flag per kind (Concat, ReduceSumSquare, Cast) and one If per site; the renamed o_d MatMuls stay.
  assert.deepEqual(
    added.map((n) => n.opType).sort(),
    ["Cast", "Cast", "Concat", "Concat", "If", "If", "If", "If", "ReduceSumSquare", "ReduceSumSquare"],
  );
  for (const node of added.filter((n) => n.opType === "If")) {
    const branches: Record<string, onnx.onnx.INodeProto[]> = Object.fromEntries(
      node.attribute!.map((a) => [a.name, a.g!.node!]),
    );
    assert.deepEqual(branches.else_branch.map((n) => n.opType), ["Identity"]);
    assert.ok(branches.then_branch.some((n) => n.name!.includes("Entmax15")));
  }
});

/**
 * Cross-attention with batch and heads folded into one leading axis ([B·H, tokens, d], as older diffusers
 * exports have it), with declared shapes so the rule knows the rank is 3.
 */
function foldedHeadsModel(batch: number, heads: number): Uint8Array {
  const [N, M, C, Ct, d] = [5, 4, 8, 6, 8 / heads];
  const rng = createRandom(21);
  const b = new GraphBuilder();
  const fold = (t: string, n: number, name: string) => {
    const split = b.node(name, "Reshape", [t, b.constant(name, int64Tensor("", [batch, n, heads, d]))]);
    const moved = b.node(name, "Transpose", [split], [attrs.ints("perm", [0, 2, 1, 3])]);
    return b.node(name, "Reshape", [moved, b.constant(name, int64Tensor("", [batch * heads, n, d]))]);
  };
  const q = fold(b.node("/q", "MatMul", ["x", b.weight("wq", rng.normals(C * C, 0.6), [C, C])]), N, "/q");
  const k = fold(
    b.node("/k", "MatMul", ["text", b.weight("wk", rng.normals(Ct * C, 0.6), [Ct, C])]),
    M,
    "/k",
  );
  const v = fold(b.node("/v", "MatMul", ["text", b.weight("wv", rng.normals(Ct * C), [Ct, C])]), M, "/v");
  const scores = b.node("/attn", "MatMul", [
    q,
    b.node("/attn", "Transpose", [k], [attrs.ints("perm", [0, 2, 1])]),
  ]);
  const probs = b.node("/attn", "Softmax", [scores], [attrs.int("axis", -1)]);
  const out = b.node("/attn", "MatMul", [probs, v]);
  b.declare(scores, 1, [batch * heads, N, M]);
  b.declare(v, 1, [batch * heads, M, d]);
  b.declare(out, 1, [batch * heads, N, d]);
  const split = b.node("/o", "Reshape", [out, b.constant("/o", int64Tensor("", [batch, heads, N, d]))]);
  const moved = b.node("/o", "Transpose", [split], [attrs.ints("perm", [0, 2, 1, 3])]);
  const y = b.node("/o", "Reshape", [moved, b.constant("/o", int64Tensor("", [batch, N, C]))]);
  b.nodes.push({ name: "/y", opType: "Identity", domain: "", input: [y], output: ["y"], attribute: [] });
  return b.model(
    [valueInfo("x", 1, [batch, N, C]), valueInfo("text", 1, [batch, M, Ct])],
    [valueInfo("y", 1, [batch, N, C])],
  );
}

Deno.test("patchAttention() guides each row by its own inputs where batch and heads share one axis", async () => {
  const batch = 3, heads = 2;
  const { model, report } = patchAttention(foldedHeadsModel(batch, heads), { textInput: "text" });
  const rng = createRandom(22);
  const inputs = {
    x: new ort.Tensor("float32", rng.normals(batch * 5 * 8), [batch, 5, 8]),
    text: new ort.Tensor("float32", rng.normals(batch * 4 * 6), [batch, 4, 6]),
  };
  const session = await ort.InferenceSession.create(model, options);
  try {
    const run = async (rows: GuidanceRow | GuidanceRow[]) =>
      (await session.run({ ...inputs, ...tensors(guidanceFeeds(report.inputs, rows)) })).y
        .data as Float32Array;
    const mixed = await run(ROWS);
    const size = 5 * 8;
    for (const [r, row] of ROWS.entries()) {
      const alike = await run(row);
      assert.deepEqual(
        mixed.subarray(r * size, (r + 1) * size),
        alike.subarray(r * size, (r + 1) * size),
        `row ${r}`,
      );
    }
    const none = await run({});
    assert.ok(
      maxAbsoluteError(mixed.subarray(2 * size), none.subarray(2 * size)) > 1e-3,
      "GAG moved its row",
    );
  } finally {
    await session.release();
  }
});
