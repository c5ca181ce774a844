import assert from "@std/assert";
import onnx from "onnx-proto";
import { patchAttention } from "../../guidance/mod.ts";
import {
  attrs,
  buildMultiHeadAttentionModel,
  buildNoAttentionModel,
  buildTorchAttentionModel,
  GraphBuilder,
  int64Tensor,
  SELF_AND_CROSS_INPUTS,
  valueInfo,
} from "../fixtures/attention_models.ts";
import { assertThrowsWith } from "./_assert.ts";

const P = onnx.onnx;
const decode = (model: Uint8Array) => P.ModelProto.decode(model);

Deno.test("patchAttention() patches cross-attention by default and reports the inputs it added", () => {
  const fixture = buildTorchAttentionModel();
  const { model, report } = patchAttention(fixture.model);
  assert.deepEqual(report.patched, [{ node: "/cross_attn/Softmax", kind: "cross", form: "matmul_softmax" }]);
  assert.deepEqual(report.skipped, [{
    node: "/self_attn/Softmax",
    reason: "self-attention is not selected by layers 'cross'",
  }]);
  assert.deepEqual(report.inputs, ["guidance_a_cross", "guidance_b_cross", "guidance_eta", "guidance_zeta"]);
  assert.equal(report.textInput, "encoder_hidden_states");
  const inputs = decode(model).graph!.input!.map((v) => [
    v.name,
    v.type!.tensorType!.elemType,
    v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue)),
  ]);
  assert.deepEqual(inputs.slice(2), report.inputs.map((name) => [name, 1, ["guidance_rows", 1, 1, 1]]));
});

Deno.test("patchAttention() adds per-kind a and b inputs when self-attention is patched too", () => {
  const { report } = patchAttention(buildMultiHeadAttentionModel().model, { layers: "all" });
  assert.deepEqual(report.inputs, SELF_AND_CROSS_INPUTS);
  assert.deepEqual(report.patched.map((p) => p.kind), ["self", "cross"]);
});

Deno.test("patchAttention() keeps node and tensor names unique and the graph topologically sorted", () => {
  for (
    const fixture of [buildTorchAttentionModel({ blocks: 2 }), buildMultiHeadAttentionModel({ fp16: true })]
  ) {
    const graph = decode(patchAttention(fixture.model, { layers: "all" }).model).graph!;
    // The rule sits in If branches, which read the outer graph's tensors by name.
    const nodes = (g: typeof graph): typeof graph.node => [
      ...g.node!,
      ...g.node!.flatMap((n) => (n.attribute ?? []).flatMap((a) => (a.g ? nodes(a.g)! : []))),
    ];
    const names = nodes(graph)!.map((n) => n.name ?? "");
    assert.equal(new Set(names).size, names.length, "node names are unique");
    const outputs = nodes(graph)!.flatMap((n) => n.output!);
    assert.equal(new Set(outputs).size, outputs.length, "each tensor has one producer");
    const initializers = graph.initializer!.map((t) => t.name ?? "");
    assert.equal(new Set(initializers).size, initializers.length, "initializer names are unique");
    const sorted = (g: typeof graph, known: Set<string>) => {
      for (const node of g.node!) {
        for (const input of node.input!) {
          assert.ok(known.has(input), `${node.name} reads ${input} before it is produced`);
        }
        for (const a of node.attribute ?? []) if (a.g) sorted(a.g, new Set(known));
        for (const output of node.output!) known.add(output);
      }
      for (const output of g.output!) {
        assert.ok(known.has(output.name ?? ""), `graph output ${output.name} is produced`);
      }
    };
    sorted(graph, new Set<string>([...graph.input!.map((v) => v.name ?? ""), ...initializers, ""]));
    const added = names.filter((n) => n.startsWith("GAG_"));
    assert.ok(added.some((n) => n.startsWith("GAG_cross_0/Entmax15/Newton_0/")));
    assert.ok(added.some((n) => n.startsWith("GAG_self_0/Rule/")));
  }
});

Deno.test("patchAttention() unfuses float16 MultiHeadAttention into float32 math with float16 at its boundary", () => {
  const graph = decode(patchAttention(buildMultiHeadAttentionModel({ fp16: true }).model).model).graph!;
  assert.ok(!graph.node!.some((n) => n.name === "/cross_attn/MultiHeadAttention"), "the fused node is gone");
  assert.ok(graph.node!.some((n) => n.name === "/self_attn/MultiHeadAttention"), "the unselected node stays");
  const casts = graph.node!.filter((n) => n.opType === "Cast" && n.name!.startsWith("GAG_cross_0/"));
  const to = casts.map((n) => Number(n.attribute!.find((a) => a.name === "to")!.i));
  assert.deepEqual(to, [1, 1, 1, 10], "q, k, v cast to float32, the output back to float16");
  assert.equal(casts.at(-1)!.output![0], "/cross_attn/MultiHeadAttention_output_0");
});

Deno.test("patchAttention() leaves the input model bytes untouched", () => {
  const { model } = buildTorchAttentionModel();
  const copy = model.slice();
  patchAttention(model, { layers: "all" });
  assert.deepEqual(model, copy);
});

Deno.test("patchAttention() refuses to patch a model twice", () => {
  const { model } = patchAttention(buildTorchAttentionModel().model);
  assertThrowsWith(
    () => patchAttention(model),
    "Cannot patch attention as the model is already patched: current guidance inputs are " +
      "guidance_a_cross, guidance_b_cross, guidance_eta, guidance_zeta",
  );
});

Deno.test("patchAttention() refuses a model with no attention", () => {
  assertThrowsWith(() => patchAttention(buildNoAttentionModel()), "Cannot find attention as no node matches");
});

Deno.test("patchAttention() throws when the selection matches no site, listing the sites", () => {
  assertThrowsWith(
    () => patchAttention(buildTorchAttentionModel().model, { layers: /up_blocks/ }),
    "Cannot patch attention as no site matches the selection: current sites are " +
      "/self_attn/Softmax (self), /cross_attn/Softmax (cross)",
  );
});

Deno.test("patchAttention() refuses opsets older than 13 and bad iteration counts", () => {
  const old = decode(buildTorchAttentionModel().model);
  old.opsetImport = [{ domain: "", version: 12 }];
  assertThrowsWith(
    () => patchAttention(P.ModelProto.encode(old).finish()),
    "Cannot patch attention as opset 13 or newer is required: current value is 12",
  );
  assertThrowsWith(
    () => patchAttention(buildTorchAttentionModel().model, { entmaxIterations: 1.5 }),
    "Cannot patch attention as 'entmaxIterations' must be an integer from 0 to 64: current value is 1.5",
  );
});

Deno.test("patchAttention() rejects bytes that are not an ONNX model", () => {
  assertThrowsWith(
    () => patchAttention(new Uint8Array([0xff, 0xff, 0xff])),
    "Cannot read the ONNX model as it is not a valid ModelProto: current size is 3 bytes",
  );
});

Deno.test("patchAttention() never takes a Reshape's int64 shape for the type of the query it reshapes", () => {
  // x → HardSigmoid (an op the type inference does not know) → Reshape(shape: int64) → Q.
  const b = new GraphBuilder();
  const activated = b.node("/q", "HardSigmoid", ["x"]);
  const q = b.node("/q", "Reshape", [activated, b.constant("/q", int64Tensor("", [1, 4, 8]))]);
  const kt = b.node("/attn", "Transpose", ["encoder_hidden_states"], [attrs.ints("perm", [0, 2, 1])]);
  const p = b.node("/attn", "Softmax", [b.node("/attn", "MatMul", [q, kt])], [attrs.int("axis", -1)]);
  b.nodes.push({
    name: "/Identity",
    opType: "Identity",
    input: [b.node("/attn", "MatMul", [p, "encoder_hidden_states"])],
    output: ["y"],
  });
  const model = b.model(
    [valueInfo("x", 1, [1, 1, 4, 8]), valueInfo("encoder_hidden_states", 1, [1, 3, 8])],
    [valueInfo("y", 1, [1, 4, 8])],
  );
  const { report } = patchAttention(model);
  assert.equal(report.patched.length, 1, JSON.stringify(report.skipped));
  assert.equal(report.patched[0].kind, "cross");
});
