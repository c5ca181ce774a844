/**
 * Per-row guidance scalars. The patched graph reads a, b, η and ζ as float32 [rows, 1, 1, 1]: one value
 * per batch row, or a single row for the whole batch. This broadcasts them against a site's tensors.
 *
 * @module
 */
import type { Emitter } from "./_emitter.ts";
import { attr, int64Tensor } from "./_onnx.ts";

/** The names of the guidance inputs a site reads, float32 [rows, 1, 1, 1]. */
export interface RuleScalars {
  a: string;
  b: string;
  eta: string;
  zeta: string;
}

function mapScalars(scalars: RuleScalars, f: (name: string) => string): RuleScalars {
  return { a: f(scalars.a), b: f(scalars.b), eta: f(scalars.eta), zeta: f(scalars.zeta) };
}

/**
 * The scalars in a form that broadcasts over `reference` (a rank-`rank` tensor of the rule): one value
 * per row of its leading axis.
 *
 * - Rank 4 ([batch, heads, ·, ·], as torch exports and the unfused MultiHeadAttention have it): the
 *   inputs broadcast as they are, so the common layout costs no op.
 * - Rank 5 or more: reshaped to [rows, 1, …, 1].
 * - Rank 3 or unknown: the leading axis may fold batch and heads batch-major ([batch·heads, ·, ·], as
 *   torch's `reshape(B * H, …)` does), so each row's value is repeated heads times, the count read off
 *   the tensor at run time.
 * - Rank 2 or less has no batch axis: a single row only.
 */
export function rowScalars(
  e: Emitter,
  scalars: RuleScalars,
  reference: string,
  rank: number | undefined,
): RuleScalars {
  if (rank === 4) return scalars;
  const ones = (n: number) => Array<number>(n).fill(1);
  if (rank !== undefined && rank !== 3) {
    const shape = e.int64(rank > 4 ? [-1, ...ones(rank - 1)] : ones(rank));
    return mapScalars(scalars, (s) => e.op("Reshape", [s, shape]));
  }
  return e.scoped("Rows", () => {
    const first = (name: string) => e.op("Slice", [name, e.int64([0]), e.int64([1])]);
    const shape = e.op("Shape", [reference]);
    const lead = first(shape);
    const rows = first(e.op("Shape", [scalars.a]));
    const widen = e.op("Concat", [rows, e.op("Div", [lead, rows])], { attributes: [attr.int("axis", 0)] });
    const target = rank === 3 ? e.int64([-1, 1, 1]) : e.op("Concat", [
      lead,
      e.op("ConstantOfShape", [e.op("Sub", [e.op("Shape", [shape]), e.int64([1])])], {
        attributes: [attr.tensor("value", int64Tensor("", [1], [1]))],
      }),
    ], { attributes: [attr.int("axis", 0)] });
    const column = e.int64([-1, 1]);
    return mapScalars(
      scalars,
      (s) => e.op("Reshape", [e.op("Expand", [e.op("Reshape", [s, column]), widen]), target]),
    );
  });
}
