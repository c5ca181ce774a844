import type { Emitter } from "./_emitter.ts";

/** Default bisection steps; with the exact refinement after them, 1.5-entmax is exact to float32. */
export const ENTMAX_ITERATIONS = 16;

/**
 * Emits 1.5-entmax over the last axis of `scores` (float32) with ops that onnxruntime-web's wasm and
 * WebGPU execution providers both run, and returns the probabilities.
 *
 * With y = (z − max z)/2 the threshold τ of Σ relu(y − τ)² = 1 lies in [−1, 0): the top entry alone
 * gives Σ ≥ 1 at τ = −1 and every entry is ≤ 0. A fixed number of bisection steps from lo = −1 with
 * halving widths (constants, so no per-row upper bound is needed) keeps lo ≤ τ, hence the support
 * {y > lo} holds the true support plus entries within 2^−k of τ. One exact step then solves
 * Σ_S (y − τ)² = 1 on that support, τ = μ − √(1/|S| − var_S); the extra entries shift τ by at most
 * |S|·4^−k/2, far below float32 resolution for k = 16. Masked (−∞) scores stay at probability 0.
 */
export function emitEntmax15(e: Emitter, scores: string, iterations = ENTMAX_ITERATIONS): string {
  return e.scoped("Entmax15", () => {
    const max = e.reduce("ReduceMax", scores, [-1]);
    const y = e.op("Mul", [e.op("Sub", [scores, max]), e.float(0.5)], { name: "HalfShifted" });
    const one = e.float(1);
    let lo = e.float(-1);
    for (let k = 0; k < iterations; k++) {
      lo = e.scoped(`Bisect_${k}`, () => {
        const mid = e.op("Add", [lo, e.float(2 ** -(k + 1))]);
        const r = e.op("Relu", [e.op("Sub", [y, mid])]);
        const mass = e.reduce("ReduceSum", e.op("Mul", [r, r]), [-1]);
        // Mass above 1 means τ is right of mid.
        return e.op("Where", [e.op("Greater", [mass, one]), mid, lo]);
      });
    }
    const tau = e.scoped("Refine", () => {
      const zero = e.float(0);
      const support = e.op("Greater", [y, lo]);
      const count = e.reduce("ReduceSum", e.op("Where", [support, one, zero]), [-1]);
      const sum = e.reduce("ReduceSum", e.op("Where", [support, y, zero]), [-1]);
      const mean = e.op("Div", [sum, count], { name: "Mean" });
      const centered = e.op("Where", [support, e.op("Sub", [y, mean]), zero]);
      const variance = e.op("Div", [e.reduce("ReduceSum", e.op("Mul", [centered, centered]), [-1]), count]);
      const delta = e.op("Relu", [e.op("Sub", [e.op("Div", [one, count]), variance])]);
      return e.op("Sub", [mean, e.op("Sqrt", [delta])], { name: "Tau" });
    });
    const p = e.op("Relu", [e.op("Sub", [y, tau])]);
    return e.op("Mul", [p, p], { name: "Probs" });
  });
}
