import { GUIDANCE_EPSILON } from "./apply_guidance.ts";
import type { Emitter } from "./_emitter.ts";
import { emitEntmax15 } from "./_emit_entmax15.ts";
import { attr, DataType } from "./_onnx.ts";
import { rowScalars, type RuleScalars } from "./_row_scalars.ts";

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
  /** The softmax probabilities softmax(S), where the form has them. */
  probs?: string;
  /** Element types of the tensors when not float32; the output takes dense's type. */
  types?: { scores?: number; value?: number; dense?: number; probs?: number };
  /** Rank of scores, value and dense where the graph fixes it; it enables the transposed layout. */
  rank?: number;
}

/**
 * Emits the guidance term a·Δ + b·min(1, η/‖g‖)·g of two float32 attention outputs over `axis` (their
 * head axis), with Δ = o_s − o_d and g = Δ∥ + ζΔ⊥ (Δ split along o_s), and returns it.
 *
 * min(1, η/‖g‖) is computed as 1/max(1, ‖g‖/η): the same number without a guard at ‖g‖ = 0, and 1
 * for η = ∞. With a = b = 0 the term is exactly 0, so o_d plus it is o_d to the bit.
 */
export function emitGuidanceTerm(
  e: Emitter,
  dense: string,
  sparse: string,
  scalars: RuleScalars,
  axis = -1,
): string {
  const delta = e.op("Sub", [sparse, dense], { name: "Delta" });
  const dot = e.reduce("ReduceSum", e.op("Mul", [delta, sparse]), [axis]);
  const norm2 = e.reduce("ReduceSumSquare", sparse, [axis]);
  const coef = e.op("Div", [dot, e.op("Max", [norm2, e.float(GUIDANCE_EPSILON)])]);
  const parallel = e.op("Mul", [coef, sparse], { name: "Parallel" });
  const orthogonal = e.op("Sub", [delta, parallel], { name: "Orthogonal" });
  const g = e.op("Add", [parallel, e.op("Mul", [scalars.zeta, orthogonal])], { name: "G" });
  const gNorm = e.op("Sqrt", [e.reduce("ReduceSumSquare", g, [axis])]);
  const shrink = e.op("Max", [e.float(1), e.op("Div", [gNorm, scalars.eta])], { name: "Shrink" });
  return e.op("Add", [
    e.op("Mul", [scalars.a, delta]),
    e.op("Mul", [e.op("Div", [scalars.b, shrink]), g]),
  ], { name: "Term" });
}

/** `name` as float32: itself when it already is, else a Cast. */
export function castToFloat(e: Emitter, name: string, type: number = DataType.FLOAT): string {
  return type === DataType.FLOAT
    ? name
    : e.op("Cast", [name], { attributes: [attr.int("to", DataType.FLOAT)] });
}

/**
 * The rule's operands S, V and o_d in float32 (inputs of other types cast in, in that order), and how
 * its float32 result becomes the site's output: the op making the result takes `resultOptions` (the
 * output's name when no Cast follows), then `finish` casts it back to o_d's type where that is not
 * float32.
 */
export function floatOperands(e: Emitter, tensors: RuleTensors) {
  const types = tensors.types ?? {};
  const castBack = types.dense !== undefined && types.dense !== DataType.FLOAT;
  return {
    scores: castToFloat(e, tensors.scores, types.scores),
    value: castToFloat(e, tensors.value, types.value),
    dense: castToFloat(e, tensors.dense, types.dense),
    castBack,
    resultOptions: castBack ? {} : { outputs: [tensors.output] },
    finish(result: string): void {
      if (castBack) {
        e.op("Cast", [result], { attributes: [attr.int("to", types.dense!)], outputs: [tensors.output] });
      }
    },
  };
}

/** The permutation that swaps the last two axes of a rank-`rank` tensor. */
export function swapLastTwo(rank: number): number[] {
  return [...Array(rank - 2).keys(), rank - 1, rank - 2];
}

/**
 * Emits o = o_d + a·Δ + b·min(1, η/‖g‖)·g with o_s = entmax₁.₅(S)V, Δ = o_s − o_d and
 * g = Δ∥ + ζΔ⊥ over the head axis, in float32: inputs of other types are cast to float32 and the
 * output back to the type of o_d, so the threshold keeps float32 resolution in fp16 graphs. o_d is the
 * model's own softmax output, never recomputed.
 *
 * Where the rank is known the rule runs on transposed tensors (Sᵀ, o_sᵀ = VᵀPᵀ, o_dᵀ), so that every
 * per-query value broadcasts over a trailing axis of queries, which onnxruntime's CPU kernels do in
 * whole spans; four Transposes of small tensors cost less than the element-wise broadcasts they
 * replace (the site's subgraph runs about 20 % faster on wasm at the digits model's sizes).
 */
export function emitGuidanceRule(
  e: Emitter,
  tensors: RuleTensors,
  scalars: RuleScalars,
  steps: number,
): void {
  const { scores, value, dense, resultOptions, finish } = floatOperands(e, tensors);
  const rank = tensors.rank;
  const rows = rowScalars(e, scalars, dense, rank);
  if (rank === undefined || rank < 2) {
    const probs = emitEntmax15(e, scores, steps);
    e.scoped("Rule", () => {
      const sparse = e.op("MatMul", [probs, value], { name: "SparseOutput" });
      const term = emitGuidanceTerm(e, dense, sparse, rows);
      finish(e.op("Add", [dense, term], resultOptions));
    });
    return;
  }
  const perm = [attr.ints("perm", swapLastTwo(rank))];
  const transpose = (name: string, options = {}) =>
    e.op("Transpose", [name], { attributes: perm, ...options });
  const probsT = emitEntmax15(e, transpose(scores), steps, -2);
  e.scoped("Rule", () => {
    const sparseT = e.op("MatMul", [transpose(value), probsT], { name: "SparseOutput" });
    const denseT = transpose(dense);
    const term = emitGuidanceTerm(e, denseT, sparseT, rows, -2);
    const guidedT = e.op("Add", [denseT, term]);
    finish(transpose(guidedT, resultOptions));
  });
}
