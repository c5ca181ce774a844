/**
 * Prompt adherence: how often the judge reads the digit a prompt named.
 *
 * @module
 */
import { type Proportion, proportion } from "./proportion.ts";

/** Index of the largest of `classes` logits of row `i`. */
export function argmaxRow(logits: ArrayLike<number>, i: number, classes: number): number {
  let best = 0;
  for (let c = 1; c < classes; c++) {
    if (logits[i * classes + c] > logits[i * classes + best]) best = c;
  }
  return best;
}

/**
 * The judge's accuracy on the named digits: the share of rows of `logits` ([n, classes], row-major) whose
 * argmax is the row's label, with its Wilson interval.
 *
 * @example
 * ```ts
 * judgeAccuracy(Float32Array.of(0, 5, 9, 1), [1, 0], 2).rate; // 1
 * ```
 */
export function judgeAccuracy(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes = 10,
): Proportion {
  const n = labels.length;
  if (logits.length !== n * classes) {
    throw new RangeError(
      `Cannot score the judge as logits must hold ${n}×${classes} values: current length is ${logits.length}`,
    );
  }
  let k = 0;
  for (let i = 0; i < n; i++) if (argmaxRow(logits, i, classes) === labels[i]) k++;
  return proportion(k, n);
}
