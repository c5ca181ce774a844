import { deepStrictEqual, equal, ok } from "@std/assert";
import onnx from "onnx-proto";
import { createBackend } from "../../sampler/mod.ts";
import { countFlops, matmulModel } from "../../tools/model_flops.ts";
import { interleave, pairedRatio, quantile, summarize } from "../../tools/bench_stats.ts";

const proto = onnx.onnx;
const FLOAT = 1;

/** x [1,1,5,5] → Conv 3×3 (1→2 channels, pad 1) → MatMul by W [5,4] → y [1,2,5,4]. */
function convMatmulModel(): Uint8Array {
  const info = (name: string, dims: number[]) =>
    proto.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
    });
  const weight = (name: string, dims: number[]) =>
    proto.TensorProto.create({
      name,
      dims,
      dataType: FLOAT,
      floatData: Array.from({ length: dims.reduce((p, d) => p * d, 1) }, (_, i) => i / 10),
    });
  return proto.ModelProto.encode(proto.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "conv_matmul",
      node: [
        {
          opType: "Conv",
          input: ["x", "k"],
          output: ["h"],
          name: "conv",
          attribute: [{ name: "pads", type: proto.AttributeProto.AttributeType.INTS, ints: [1, 1, 1, 1] }],
        },
        { opType: "MatMul", input: ["h", "w"], output: ["y"], name: "mm" },
      ],
      initializer: [weight("k", [2, 1, 3, 3]), weight("w", [5, 4])],
      input: [info("x", [1, 1, 5, 5])],
      output: [info("y", [1, 2, 5, 4])],
    },
  })).finish();
}

Deno.test("countFlops() counts 2 FLOPs per multiply-add of Conv and MatMul from the shapes of a run", async () => {
  const backend = await createBackend("wasm", { threads: 1 });
  const count = await countFlops(backend, convMatmulModel(), {
    x: { data: new Float32Array(25), dims: [1, 1, 5, 5] },
  });
  // Conv: 50 outputs × 9 taps; MatMul: 40 outputs × 5.
  deepStrictEqual(count.byOp, { Conv: 2 * 50 * 9, MatMul: 2 * 40 * 5 });
  equal(count.total, 1300);
  equal(count.nodes, 2);
});

Deno.test("matmulModel() builds a model whose output is the matrix product", async () => {
  const backend = await createBackend("wasm", { threads: 1 });
  const s = await backend.createSession(matmulModel(2), "matmul");
  const out = await s.run({
    A: { data: Float32Array.of(1, 2, 3, 4), dims: [2, 2] },
    B: { data: Float32Array.of(5, 6, 7, 8), dims: [2, 2] },
  });
  deepStrictEqual([...out.Y.data], [19, 22, 43, 50]);
  await s.release();
});

Deno.test("interleave() rotates the order each round and pairedRatio() takes per-round ratios", async () => {
  const order: string[] = [];
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const times = await interleave({
    a: async () => (order.push("a"), await wait(1)),
    b: async () => (order.push("b"), await wait(1)),
    c: async () => (order.push("c"), await wait(1)),
  }, { rounds: 3, warmup: 0 });
  equal(order.join(""), "abcbcacab");
  equal(times.a.length, 3);
  const r = pairedRatio([2, 4, 6], [1, 2, 3]);
  deepStrictEqual(r, { median: 2, p10: 2, p90: 2 });
});

Deno.test("summarize() reports the median and spread the way numpy's linear quantiles do", () => {
  equal(quantile([4, 1, 3, 2], 0.5), 2.5);
  const s = summarize([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  equal(s.median, 5.5);
  ok(Math.abs(s.p90 - 9.1) < 1e-12);
  equal(s.min, 1);
});
