/**
 * The work of a model and the machine's limit: FLOPs per call counted from the ONNX graph with the shapes
 * a real run produces, and a matmul roof measured on the same runtime.
 *
 * @module
 */
import onnx from "onnx-proto";
import type { Backend, TensorValue } from "../sampler/mod.ts";

const proto = onnx.onnx;
const FLOAT = 1;
/** Ops whose multiply-adds are counted; the rest (norms, softmax, element-wise) are memory-bound and small. */
const COUNTED = new Set(["MatMul", "Gemm", "Conv", "ConvTranspose"]);

/** FLOPs (2 per multiply-add) of one call, by op type. */
export interface FlopCount {
  total: number;
  byOp: Record<string, number>;
  nodes: number;
}

const toNum = (v: number | { toNumber(): number } | null | undefined) =>
  v === null || v === undefined ? 0 : typeof v === "number" ? v : v.toNumber();
const prod = (dims: readonly number[]) => dims.reduce((p, d) => p * d, 1);

/**
 * Counts the MatMul / Gemm / Conv / ConvTranspose FLOPs of one call of `model` with `feeds`: every operand
 * that is not a weight is made a graph output, the model is run once, and the FLOPs follow from the
 * shapes the run produced (so dynamic shapes need no shape inference).
 */
export async function countFlops(
  backend: Backend,
  model: Uint8Array,
  feeds: Record<string, TensorValue>,
): Promise<FlopCount> {
  const m = proto.ModelProto.decode(model);
  const g = m.graph!;
  const weights = new Map<string, number[]>();
  for (const t of g.initializer ?? []) weights.set(t.name!, (t.dims ?? []).map(toNum));
  const counted = (g.node ?? []).filter((n) => COUNTED.has(n.opType!));
  const outputs = new Set((g.output ?? []).map((o) => o.name!));
  const wanted = new Set<string>();
  for (const n of counted) {
    for (const name of [...(n.input ?? []).slice(0, 2), n.output![0]]) {
      if (name && !weights.has(name) && !outputs.has(name)) wanted.add(name);
    }
  }
  for (const name of wanted) {
    g.output!.push(proto.ValueInfoProto.create({ name, type: { tensorType: { elemType: FLOAT } } }));
  }
  const session = await backend.createSession(proto.ModelProto.encode(m).finish(), "FLOP probe");
  let shapes: Record<string, TensorValue>;
  try {
    shapes = await session.run(feeds);
  } finally {
    await session.release();
  }
  const dims = (name: string): number[] => {
    const d = weights.get(name) ?? shapes[name]?.dims;
    if (!d) throw new Error(`Cannot count FLOPs as the shape of '${name}' is unknown`);
    return [...d];
  };
  const attr = (n: typeof counted[number], name: string) => n.attribute?.find((x) => x.name === name);
  const byOp: Record<string, number> = {};
  for (const n of counted) {
    const [a, b] = n.input!;
    const out = dims(n.output![0]);
    let f = 0;
    switch (n.opType) {
      case "MatMul": {
        const da = dims(a);
        f = 2 * prod(out) * da[da.length - 1];
        break;
      }
      case "Gemm": {
        const da = dims(a);
        f = 2 * prod(out) * (toNum(attr(n, "transA")?.i) ? da[0] : da[1]);
        break;
      }
      case "Conv": {
        // W is [Cout, Cin/group, kh, kw]: each output element takes Cin/group × kh × kw multiply-adds.
        f = 2 * prod(out) * prod(dims(b).slice(1));
        break;
      }
      case "ConvTranspose": {
        // Each input element scatters into Cout/group × kh × kw outputs (W is [Cin, Cout/group, kh, kw]).
        f = 2 * prod(dims(a)) * prod(dims(b).slice(1));
        break;
      }
    }
    byOp[n.opType!] = (byOp[n.opType!] ?? 0) + f;
  }
  return { total: Object.values(byOp).reduce((s, v) => s + v, 0), byOp, nodes: counted.length };
}

/** A one-node model Y = A·B with A, B float [n, n]. */
export function matmulModel(n: number): Uint8Array {
  const info = (name: string) =>
    proto.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: n }, { dimValue: n }] } } },
    });
  return proto.ModelProto.encode(proto.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "matmul_roof",
      node: [{ opType: "MatMul", input: ["A", "B"], output: ["Y"], name: "mm" }],
      input: [info("A"), info("B")],
      output: [info("Y")],
    },
  })).finish();
}

/**
 * The sustained fp32 matmul rate of a backend in GFLOP/s: the best of `runs` products of two n×n matrices
 * (the best, not the median, as a roof is what the hardware can do).
 */
export async function matmulRoof(backend: Backend, { n = 1024, runs = 8 } = {}): Promise<{
  n: number;
  gflops: number;
  medianGflops: number;
}> {
  const session = await backend.createSession(matmulModel(n), `matmul ${n}`);
  const data = Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const feeds = { A: { data, dims: [n, n] }, B: { data, dims: [n, n] } };
  const times: number[] = [];
  try {
    await session.run(feeds);
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t0);
    }
  } finally {
    await session.release();
  }
  const flops = 2 * n ** 3;
  times.sort((a, b) => a - b);
  return {
    n,
    gflops: flops / times[0] / 1e6,
    medianGflops: flops / times[Math.floor(times.length / 2)] / 1e6,
  };
}
