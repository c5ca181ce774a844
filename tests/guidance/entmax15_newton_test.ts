import assert from "@std/assert";
import { entmax15, entmax15Newton, entmaxNewtonSteps } from "../../guidance/mod.ts";
import { createRandom, type Random } from "../fixtures/attention_models.ts";

/** The exact threshold of a row, read off the sort-based reference: τ = y_i − √p_i at its top entry. */
function exactTau(z: ArrayLike<number>): number {
  const p = entmax15(z);
  let top = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[top]) top = i;
  return (z[top] - Math.max(...Array.from(z))) / 2 - Math.sqrt(p[top]);
}

/**
 * Rows that make Newton's method slow: Gaussian and heavy-tailed rows over four decades of scale,
 * clusters of near-ties, a block of equal tops over a flat tail, geometric decays.
 */
function adversarialRow(rng: Random, n: number): Float64Array {
  const z = new Float64Array(n);
  const scale = 10 ** (rng.uniform() * 4 - 2);
  switch (Math.floor(rng.uniform() * 5)) {
    case 0:
      for (let i = 0; i < n; i++) z[i] = rng.normal() * scale;
      break;
    case 1: {
      const clusters = 1 + Math.floor(rng.uniform() * 6);
      const at = Array.from({ length: clusters }, () => -rng.uniform() * 4);
      const spread = Array.from({ length: clusters }, () => 10 ** (-rng.uniform() * 4));
      for (let i = 0; i < n; i++) {
        const c = Math.floor(rng.uniform() ** 3 * clusters);
        z[i] = at[c] + rng.normal() * spread[c];
      }
      break;
    }
    case 2: {
      const top = 1 + Math.floor(rng.uniform() * n);
      const gap = rng.uniform() * 4;
      for (let i = 0; i < n; i++) z[i] = (i < top ? 0 : -gap) + rng.normal() * 10 ** (-1 - rng.uniform() * 5);
      break;
    }
    case 3: {
      const q = 1 - 10 ** (-rng.uniform() * 3);
      for (let i = 0; i < n; i++) z[i] = -4 * (1 - q ** i) + rng.normal() * 1e-6;
      break;
    }
    default:
      for (let i = 0; i < n; i++) z[i] = Math.log(Math.max(rng.uniform(), 1e-300)) * scale;
  }
  return z;
}

Deno.test("entmaxNewtonSteps() brings the threshold within 1e-6 on adversarial rows up to each size it names", () => {
  const rng = createRandom(21);
  for (const [n, rows] of [[2, 2000], [3, 2000], [16, 4000], [128, 2000], [4096, 150]] as const) {
    const steps = entmaxNewtonSteps(n);
    let worst = 0;
    for (let r = 0; r < rows; r++) {
      const z = adversarialRow(rng, n);
      worst = Math.max(worst, Math.abs(entmax15Newton(z, steps).tau - exactTau(z)));
    }
    console.log(`  n=${n}: ${steps} steps, worst |τ − τ*| ${worst.toExponential(2)}`);
    assert.ok(worst <= 1e-6, `n=${n}: ${steps} steps leave |τ − τ*| = ${worst}`);
  }
});

Deno.test("entmax15Newton() rises to the threshold from below and never passes it", () => {
  const rng = createRandom(22);
  for (let r = 0; r < 500; r++) {
    const z = adversarialRow(rng, 24);
    const exact = exactTau(z);
    let previous = -Infinity;
    for (let k = 0; k <= 6; k++) {
      const { tau } = entmax15Newton(z, k);
      assert.ok(tau <= exact + 1e-12, `step ${k} passed τ* by ${tau - exact}`);
      assert.ok(tau >= previous - 1e-12, `step ${k} went down`);
      previous = tau;
    }
  }
});

Deno.test("entmax15Newton() is exact after one step on a row of equal scores", () => {
  const { probs, tau } = entmax15Newton(new Array(9).fill(0.7), 1);
  assert.ok(Math.abs(tau + 1 / 3) < 1e-15);
  for (const p of probs) assert.ok(Math.abs(p - 1 / 9) < 1e-15);
});

Deno.test("entmax15Newton() with its default steps matches entmax15() and keeps masked scores at 0", () => {
  const rng = createRandom(23);
  for (const n of [1, 2, 5, 12, 77, 300]) {
    const z = Array.from(rng.normals(n, 2));
    if (n > 2) z[1] = -Infinity;
    const { probs } = entmax15Newton(z);
    const exact = entmax15(z);
    probs.forEach((p, i) =>
      assert.ok(Math.abs(p - exact[i]) < 2e-6, `n=${n}, entry ${i}: ${p} vs ${exact[i]}`)
    );
    if (n > 2) assert.equal(probs[1], 0);
  }
});
