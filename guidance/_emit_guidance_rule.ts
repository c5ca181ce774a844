import { GUIDANCE_EPSILON } from "./apply_guidance.ts";
import type { Emitter } from "./_emitter.ts";
import { emitEntmax15 } from "./_emit_entmax15.ts";
import { attr, DataType } from "./_onnx.ts";

/** Tensors the rule reads and writes. */
export interface RuleTensors {
  /** Attention scores S (the Softmax input), [..., queries, keys]. */
  scores: string;
  /** Values V, [..., keys, valueDim]. */
  value: string;
  /** The softmax output o_d = softmax(S)V, [..., queries, valueDim]. */
  dense: string;
  /** Name the guided output must take. */
  output: string;
  /** Element types of scores, value and dense when not float32; the output takes dense's type. */
  types?: { scores?: number; value?: number; dense?: number };
}

/** The scalar graph inputs the rule reads. */
export interface RuleScalars {
  a: string;
  b: string;
  eta: string;
  zeta: string;
}

/**
 * Emits o = o_d + a·Δ + b·min(1, η/‖g‖)·g with o_s = entmax₁.₅(S)V, Δ = o_s − o_d and
 * g = Δ∥ + ζΔ⊥ over the last (head) axis, in float32: inputs of other types are cast to float32
 * and the output back to the type of o_d, so the bisection keeps float32 resolution in fp16 graphs.
 */
export function emitGuidanceRule(
  e: Emitter,
  tensors: RuleTensors,
  scalars: RuleScalars,
  iterations?: number,
): void {
  const types = tensors.types ?? {};
  const toFloat = (name: string, type = DataType.FLOAT as number) =>
    type === DataType.FLOAT ? name : e.op("Cast", [name], { attributes: [attr.int("to", DataType.FLOAT)] });
  const scores = toFloat(tensors.scores, types.scores);
  const value = toFloat(tensors.value, types.value);
  const dense = toFloat(tensors.dense, types.dense);
  const probs = emitEntmax15(e, scores, iterations);
  e.scoped("Rule", () => {
    const eps = e.float(GUIDANCE_EPSILON);
    const sparse = e.op("MatMul", [probs, value], { name: "SparseOutput" });
    const delta = e.op("Sub", [sparse, dense], { name: "Delta" });
    const dot = e.reduce("ReduceSum", e.op("Mul", [delta, sparse]), [-1]);
    const norm2 = e.reduce("ReduceSum", e.op("Mul", [sparse, sparse]), [-1]);
    const parallel = e.op("Mul", [e.op("Div", [dot, e.op("Max", [norm2, eps])]), sparse], {
      name: "Parallel",
    });
    const orthogonal = e.op("Sub", [delta, parallel], { name: "Orthogonal" });
    const g = e.op("Add", [parallel, e.op("Mul", [scalars.zeta, orthogonal])], { name: "G" });
    const gNorm = e.op("Sqrt", [e.reduce("ReduceSum", e.op("Mul", [g, g]), [-1])]);
    const clip = e.op("Min", [e.float(1), e.op("Div", [scalars.eta, e.op("Max", [gNorm, eps])])], {
      name: "Clip",
    });
    const guided = e.op("Add", [
      e.op("Add", [dense, e.op("Mul", [scalars.a, delta])]),
      e.op("Mul", [e.op("Mul", [scalars.b, clip]), g]),
    ], types.dense === undefined || types.dense === DataType.FLOAT ? { outputs: [tensors.output] } : {});
    if (types.dense !== undefined && types.dense !== DataType.FLOAT) {
      e.op("Cast", [guided], { attributes: [attr.int("to", types.dense)], outputs: [tensors.output] });
    }
  });
}
