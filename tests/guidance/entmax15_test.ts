import assert from "@std/assert";
import { entmax15 } from "../../guidance/mod.ts";
import { createRandom } from "../fixtures/attention_models.ts";

const sum = (p: ArrayLike<number>) => Array.from(p).reduce((s, v) => s + v, 0);

/** Independent check: bisection on τ in float64 for Σ max(z/2 − τ, 0)² = 1. */
function entmaxByBisection(z: number[]): number[] {
  const y = z.map((v) => v / 2);
  let lo = Math.max(...y) - 1;
  let hi = Math.max(...y);
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    const mass = y.reduce((s, v) => s + Math.max(v - mid, 0) ** 2, 0);
    if (mass > 1) lo = mid;
    else hi = mid;
  }
  return y.map((v) => Math.max(v - lo, 0) ** 2);
}

Deno.test("entmax15() sums to 1 on random rows of many sizes", () => {
  const rng = createRandom(11);
  for (const n of [1, 2, 3, 7, 64, 500]) {
    for (let t = 0; t < 5; t++) {
      const p = entmax15(rng.normals(n, 3));
      assert(Math.abs(sum(p) - 1) < 1e-12, `n=${n}: sum ${sum(p)}`);
      assert(p.every((v) => v >= 0));
    }
  }
});

Deno.test("entmax15() matches the closed form on a hand-checked two-score row", () => {
  // z = [1, 0]: y = [0, -1/2], both in the support, τ = -1/4 - √(1/2 - 1/16).
  const tau = -0.25 - Math.sqrt(0.4375);
  const p = entmax15([1, 0]);
  assert(Math.abs(p[0] - tau ** 2) < 1e-15);
  assert(Math.abs(p[1] - (-0.5 - tau) ** 2) < 1e-15);
});

Deno.test("entmax15() gives exact zeros to scores far below the maximum", () => {
  // y = [0, -1.5, -3]: τ = -1 on the support {0}, so the others are exactly 0.
  assert.deepEqual([...entmax15([3, 0, -3])], [1, 0, 0]);
  const p = entmax15([2, 1.9, -4, -5]);
  assert.deepEqual([p[2], p[3]], [0, 0]);
  assert(p[0] > p[1] && p[1] > 0);
});

Deno.test("entmax15() is uniform for equal scores and one-hot for one dominant score", () => {
  for (const v of entmax15([0.3, 0.3, 0.3, 0.3, 0.3])) assert(Math.abs(v - 0.2) < 1e-15);
  assert.deepEqual([...entmax15([0, 10, 0, 0])], [0, 1, 0, 0]);
});

Deno.test("entmax15() ignores a constant shift and gives probability 0 to -Infinity scores", () => {
  const a = entmax15([100.5, 100, 99, 97]);
  const b = entmax15([3.5, 3, 2, 0]);
  a.forEach((v, i) => assert(Math.abs(v - b[i]) < 1e-12));
  const masked = entmax15([0.2, -Infinity, 0.1]);
  assert.deepEqual(masked[1], 0);
  assert(Math.abs(sum(masked) - 1) < 1e-12);
});

Deno.test("entmax15() agrees with a float64 bisection on random rows", () => {
  const rng = createRandom(12);
  for (let t = 0; t < 20; t++) {
    const z = Array.from(rng.normals(40, 1 + t / 4));
    const exact = entmax15(z);
    entmaxByBisection(z).forEach((v, i) => assert(Math.abs(v - exact[i]) < 1e-12));
  }
});
