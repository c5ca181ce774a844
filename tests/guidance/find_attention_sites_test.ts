import assert from "@std/assert";
import onnx from "onnx-proto";
import { findAttentionSites } from "../../guidance/mod.ts";
import {
  buildMultiHeadAttentionModel,
  buildNoAttentionModel,
  buildTorchAttentionModel,
} from "../fixtures/attention_models.ts";
import { assertThrowsWith } from "./_assert.ts";

const P = onnx.onnx;

/** Decodes a model, lets `edit` change it and encodes it again. */
function edited(model: Uint8Array, edit: (m: onnx.onnx.ModelProto) => void): Uint8Array {
  const decoded = P.ModelProto.decode(model);
  edit(decoded);
  return P.ModelProto.encode(decoded).finish();
}

const kinds = (model: Uint8Array, options = {}) =>
  findAttentionSites(model, { layers: "all", ...options }).sites.map((s) => [s.node, s.kind, s.form]);

Deno.test("findAttentionSites() classifies the torch-style fixture's self- and cross-attention", () => {
  assert.deepEqual(kinds(buildTorchAttentionModel().model), [
    ["/self_attn/Softmax", "self", "matmul_softmax"],
    ["/cross_attn/Softmax", "cross", "matmul_softmax"],
  ]);
});

Deno.test("findAttentionSites() classifies fused MultiHeadAttention sites", () => {
  assert.deepEqual(kinds(buildMultiHeadAttentionModel({ fp16: true }).model), [
    ["/self_attn/MultiHeadAttention", "self", "multi_head_attention"],
    ["/cross_attn/MultiHeadAttention", "cross", "multi_head_attention"],
  ]);
});

Deno.test("findAttentionSites() keeps later cross-attention cross once image tokens depend on the text", () => {
  for (const dynamicShapes of [false, true]) {
    // With dynamic shapes K is reshaped with the batch size of the image tokens, as torch exports it.
    const fixture = buildTorchAttentionModel({ blocks: 3, dynamicShapes });
    assert.deepEqual(
      findAttentionSites(fixture.model, { layers: "all" }).sites.map((s) => [s.node, s.kind]),
      fixture.sites.flatMap((s) => [[s.self, "self"], [s.cross, "cross"]]),
    );
  }
});

Deno.test("findAttentionSites() finds every scale form: Mul, Div, folded into Q and absent", () => {
  for (const scaleForm of ["mul", "div", "folded", "none"] as const) {
    assert.equal(
      findAttentionSites(buildTorchAttentionModel({ scaleForm }).model, { layers: "all" }).sites.length,
      2,
    );
  }
});

Deno.test("findAttentionSites() selects sites by kind, all, or a RegExp on node names", () => {
  const { model } = buildTorchAttentionModel({ blocks: 2 });
  const selected = (layers: "cross" | "self" | "all" | RegExp) =>
    findAttentionSites(model, { layers }).sites.filter((s) => s.selected).map((s) => s.node);
  assert.deepEqual(selected("cross"), ["/block0/cross_attn/Softmax", "/block1/cross_attn/Softmax"]);
  assert.deepEqual(selected("self"), ["/block0/self_attn/Softmax", "/block1/self_attn/Softmax"]);
  assert.equal(selected("all").length, 4);
  assert.deepEqual(selected(/block1\/.*self/g), ["/block1/self_attn/Softmax"]);
  const { skipped } = findAttentionSites(model, { layers: "cross" });
  assert.deepEqual(skipped[0], {
    node: "/block0/self_attn/Softmax",
    reason: "self-attention is not selected by layers 'cross'",
  });
});

Deno.test("findAttentionSites() rejects an unknown layers value", () => {
  assertThrowsWith(
    () => findAttentionSites(buildTorchAttentionModel().model, { layers: "some" as "all" }),
    "Cannot select attention layers as 'layers' must be cross, self, joint, all or a RegExp: current value is some",
  );
});

Deno.test("findAttentionSites() detects the text input by name and accepts an explicit one", () => {
  for (const textInput of ["text_states", "context", "encoder_hidden_states"]) {
    const { model } = buildTorchAttentionModel({ textInput });
    assert.equal(findAttentionSites(model).textInput, textInput);
  }
  const { model } = buildTorchAttentionModel({ textInput: "cond" });
  assert.deepEqual(kinds(model, { textInput: "cond" }).map((s) => s[1]), ["self", "cross"]);
});

Deno.test("findAttentionSites() fails clearly when the text input is missing, unknown or ambiguous", () => {
  assertThrowsWith(
    () => findAttentionSites(buildTorchAttentionModel({ textInput: "cond" }).model),
    "Cannot classify attention as no graph input is named like encoder_hidden_states, text or context, " +
      "pass the text input name: current inputs are x, cond",
  );
  assertThrowsWith(
    () => findAttentionSites(buildTorchAttentionModel({ extraInputs: ["text_mask"] }).model),
    "Cannot classify attention as several graph inputs look like text conditioning, pass the text input name: " +
      "current inputs are x, encoder_hidden_states, text_mask",
  );
  assertThrowsWith(
    () => findAttentionSites(buildTorchAttentionModel().model, { textInput: "prompt" }),
    "Cannot classify attention as the text input 'prompt' is not a graph input: current inputs are x, encoder_hidden_states",
  );
});

Deno.test("findAttentionSites() treats every site as self-attention when told there is no text input", () => {
  assert.deepEqual(kinds(buildTorchAttentionModel().model, { textInput: null }).map((s) => s[1]), [
    "self",
    "self",
  ]);
});

Deno.test("findAttentionSites() skips MultiHeadAttention variants it cannot unfuse, naming the node and why", () => {
  const masked = edited(buildMultiHeadAttentionModel().model, (m) => {
    const node = m.graph!.node!.find((n) => n.name === "/cross_attn/MultiHeadAttention")!;
    node.input = [...node.input!, "", "x"];
  });
  const { sites, skipped } = findAttentionSites(masked, { layers: "all" });
  assert.deepEqual(sites.map((s) => s.node), ["/self_attn/MultiHeadAttention"]);
  assert.deepEqual(skipped, [{
    node: "/cross_attn/MultiHeadAttention",
    reason: "input 4 (key_padding_mask) is not supported",
  }]);
  const packed = edited(buildMultiHeadAttentionModel().model, (m) => {
    for (const node of m.graph!.node!) {
      if (node.opType === "MultiHeadAttention") node.input = [node.input![0]];
    }
  });
  assertThrowsWith(
    () => findAttentionSites(packed),
    "Cannot find attention as no node matches a supported attention form: current candidates are " +
      "/self_attn/MultiHeadAttention: packed QKV input (no separate key and value) is not supported",
  );
});

Deno.test("findAttentionSites() fails on a model with no attention and says what it saw", () => {
  assertThrowsWith(
    () => findAttentionSites(buildNoAttentionModel()),
    "Cannot find attention as no node matches a supported attention form: current candidates are " +
      "/Softmax: the Q·Kᵀ MatMul has a constant operand",
  );
});
