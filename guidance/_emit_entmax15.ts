import type { Emitter } from "./_emitter.ts";

/**
 * Emits 1.5-entmax over `axis` of `scores` (float32) with ops that onnxruntime-web's wasm and
 * WebGPU execution providers both run, and returns the probabilities: the fixed-step Newton iteration
 * of `entmax15Newton` (see there for why it converges from the left and how many steps suffice).
 *
 * Cost is what matters here: at the sizes of text cross-attention every op costs about the same
 * (10–20 µs on wasm whatever its size), so the graph is kept to few ops. Each step is 7 (Relu, two
 * reductions, 3 ops on one value per row, and the update), and the graph carries d = y − τ rather
 * than τ, which saves a subtraction per step; the rounding of those subtractions moves each
 * probability by a few 10⁻⁷ at most. A bisection step was also 7 ops but gained one bit, so 16 of
 * them and an exact refinement came to 126 ops where 4 Newton steps are 34. Masked (−∞) scores stay
 * at probability 0.
 *
 * Callers pass scores with the keys on axis −2 where they can: onnxruntime's CPU kernels broadcast a
 * per-row value over a trailing axis of 12 keys element by element (30–60 µs for 4,704 floats),
 * while the same op over a trailing axis of queries runs as whole spans (about 5 µs).
 */
export function emitEntmax15(e: Emitter, scores: string, steps: number, axis = -1): string {
  return e.scoped("Entmax15", () => {
    // d = y − τ₀ with y = z/2 and τ₀ = max y − 1
    const y = e.op("Mul", [scores, e.float(0.5)], { name: "Half" });
    let d = e.op("Sub", [y, e.op("Sub", [e.reduce("ReduceMax", y, [axis]), e.float(1)])], {
      name: "Shifted",
    });
    for (let k = 0; k < steps; k++) {
      d = e.scoped(`Newton_${k}`, () => {
        const r = e.op("Relu", [d]);
        const squares = e.reduce("ReduceSumSquare", r, [axis]);
        const step = e.op("Div", [
          e.op("Sub", [squares, e.op("Sqrt", [squares])]),
          e.reduce("ReduceSum", r, [axis]),
        ]);
        return e.op("Sub", [d, step]);
      });
    }
    const r = e.op("Relu", [d]);
    return e.op("Mul", [r, r], { name: "Probs" });
  });
}
