import assert from "@std/assert";
import { applyGuidance, guidanceScalars } from "../../guidance/mod.ts";
import { createRandom } from "../fixtures/attention_models.ts";

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((s, x, i) => s + x * b[i], 0);
const sub = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a, (x, i) => x - b[i]);

function pairs(seed: number, count: number, d = 8): [Float32Array, Float32Array][] {
  const rng = createRandom(seed);
  return Array.from({ length: count }, () => [rng.normals(d), rng.normals(d)]);
}

Deno.test("applyGuidance() returns o_d when a = b = 0", () => {
  for (const [dense, sparse] of pairs(1, 10)) {
    const o = applyGuidance(dense, sparse, guidanceScalars({ mode: "none" }));
    o.forEach((v, i) => assert.deepEqual(v, dense[i]));
  }
});

Deno.test("applyGuidance() is PLADIS o_d + λ(o_s − o_d) when b = 0", () => {
  for (const [dense, sparse] of pairs(2, 10)) {
    const o = applyGuidance(dense, sparse, guidanceScalars({ mode: "pladis", scale: 3 }));
    o.forEach((v, i) => assert(Math.abs(v - (dense[i] + 3 * (sparse[i] - dense[i]))) < 1e-12));
  }
});

Deno.test("applyGuidance() with GAG, ζ = 1 and η = ∞ equals PLADIS with λ = w + 1", () => {
  for (const [dense, sparse] of pairs(3, 10)) {
    const gag = applyGuidance(
      dense,
      sparse,
      guidanceScalars({ mode: "gag", scale: 4, zeta: 1, eta: Infinity }),
    );
    const pladis = applyGuidance(dense, sparse, guidanceScalars({ mode: "pladis", scale: 5 }));
    gag.forEach((v, i) => assert(Math.abs(v - pladis[i]) < 1e-12));
  }
});

Deno.test("applyGuidance() with GAG and ζ = 0 moves o_s only along o_s", () => {
  for (const [dense, sparse] of pairs(4, 10)) {
    const o = applyGuidance(dense, sparse, guidanceScalars({ mode: "gag" }));
    const correction = sub(o, sparse);
    const along = dot(correction, sparse) / dot(sparse, sparse);
    const orthogonal = correction.map((c, i) => c - along * sparse[i]);
    assert(norm(orthogonal) < 1e-9 * Math.max(1, norm(correction)), `orthogonal part ${norm(orthogonal)}`);
  }
});

Deno.test("applyGuidance() bounds the GAG correction by w·η and clips only when ‖g‖ > η", () => {
  for (const zeta of [0, 0.5, 1]) {
    for (const [dense, sparse] of pairs(5, 10)) {
      const w = 10;
      const eta = 0.05;
      const o = applyGuidance(dense, sparse, guidanceScalars({ mode: "gag", scale: w, eta, zeta }));
      assert(norm(sub(o, sparse)) <= w * eta * (1 + 1e-12));
      const loose = applyGuidance(dense, sparse, guidanceScalars({ mode: "gag", scale: w, eta: 1e9, zeta }));
      assert(norm(sub(loose, sparse)) > w * eta, "with a large η the correction is not clipped");
    }
  }
});

Deno.test("applyGuidance() stays finite when o_s = 0 or o_s = o_d", () => {
  const dense = Float32Array.of(1, -2, 0.5);
  const zero = applyGuidance(dense, new Float32Array(3), guidanceScalars({ mode: "gag", zeta: 0.5 }));
  assert(zero.every(Number.isFinite));
  const same = applyGuidance(dense, dense, guidanceScalars({ mode: "gag" }));
  same.forEach((v, i) => assert.deepEqual(v, dense[i]));
});

// Hand-derived GAG vectors. o_s = (1, 2, 2), o_d = (0, 2, 1): Δ = (1, 0, 1), ⟨Δ, o_s⟩ = 3, ‖o_s‖² = 9,
// Δ∥ = (1/3, 2/3, 2/3), Δ⊥ = (2/3, −2/3, 1/3); with ζ = 1/4, g = (1/2, 1/2, 3/4) and ‖g‖ = √1.0625.
const HAND = { dense: [0, 2, 1], sparse: [1, 2, 2], g: [0.5, 0.5, 0.75], gNorm: Math.sqrt(1.0625) };

Deno.test("applyGuidance() matches hand-computed GAG vectors where the clip binds and 0 < ζ < 1", () => {
  const w = 3, eta = 0.5, zeta = 0.25;
  const clip = eta / HAND.gNorm; // 0.485…: ‖g‖ > η, so the clip binds
  const expected = HAND.sparse.map((s, i) => s + w * clip * HAND.g[i]);
  const o = applyGuidance(HAND.dense, HAND.sparse, guidanceScalars({ mode: "gag", scale: w, eta, zeta }));
  o.forEach((v, i) => assert(Math.abs(v - expected[i]) < 1e-12, `component ${i}: ${v} != ${expected[i]}`));
  // The same numbers written out, so a wrong derivation above cannot hide a wrong rule.
  [1.7276069, 2.7276069, 3.0914103].forEach((e, i) => assert(Math.abs(o[i] - e) < 1e-6, `${o[i]} != ${e}`));
});

Deno.test("applyGuidance() matches a hand-computed GAG vector where ‖g‖ < η leaves g unclipped", () => {
  const o = applyGuidance(
    HAND.dense,
    HAND.sparse,
    guidanceScalars({ mode: "gag", scale: 3, eta: 2, zeta: 0.25 }),
  );
  [2.5, 3.5, 4.25].forEach((e, i) => assert(Math.abs(o[i] - e) < 1e-12, `${o[i]} != ${e}`));
});

Deno.test("applyGuidance() matches hand-computed GAG vectors in two dimensions for ζ = 0, 1/2 and 1", () => {
  // o_s = (2, 0), o_d = (1, 1): Δ = (1, −1), Δ∥ = (1, 0), Δ⊥ = (0, −1), η = 1/2, w = 2.
  const cases = [
    { zeta: 0, expected: [3, 0] }, // g = (1, 0), ‖g‖ = 1, clip 1/2
    { zeta: 0.5, expected: [2 + 1 / Math.sqrt(1.25), -0.5 / Math.sqrt(1.25)] }, // g = (1, −1/2)
    { zeta: 1, expected: [2 + 1 / Math.SQRT2, -1 / Math.SQRT2] }, // g = Δ, ‖g‖ = √2
  ];
  for (const { zeta, expected } of cases) {
    const o = applyGuidance([1, 1], [2, 0], guidanceScalars({ mode: "gag", scale: 2, eta: 0.5, zeta }));
    o.forEach((v, i) => assert(Math.abs(v - expected[i]) < 1e-12, `ζ=${zeta}, component ${i}: ${v}`));
  }
});
