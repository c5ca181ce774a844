import { equal, ok, throws } from "@std/assert";
import {
  bootstrapInterval,
  frechetDistance,
  frechetReference,
  gaussianStats,
  judgeAccuracy,
  mulberry32,
  proportion,
  symmetricEigen,
} from "../../tools/eval/mod.ts";

const close = (a: number, b: number, tol: number, what = "") =>
  ok(Math.abs(a - b) <= tol, `${what} expected ${b} ± ${tol}, got ${a}`);

/** n rows of `dim` correlated Gaussian-ish features from a seed. */
function features(n: number, dim: number, seed: number, shift = 0): Float32Array {
  const r = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const z = gauss();
    for (let j = 0; j < dim; j++) out[i * dim + j] = z * (j % 3 === 0 ? 1 : 0.5) + gauss() + shift;
  }
  return out;
}

function oneHot(labels: number[], classes = 10): Float32Array {
  const out = new Float32Array(labels.length * classes);
  labels.forEach((l, i) => out[i * classes + l] = 5);
  return out;
}

Deno.test("judgeAccuracy() is 1 on a perfect set and near chance on the same logits with shuffled labels", () => {
  const labels = Array.from({ length: 1000 }, (_, i) => i % 10);
  const logits = oneHot(labels);
  const perfect = judgeAccuracy(logits, labels);
  equal(perfect.rate, 1);
  equal(perfect.k, 1000);
  ok(perfect.low > 0.99 && perfect.high === 1);
  const r = mulberry32(3);
  const shuffled = labels.slice();
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  const chance = judgeAccuracy(logits, shuffled);
  ok(chance.rate > 0.05 && chance.rate < 0.15, `shuffled accuracy ${chance.rate}`);
  ok(chance.low < 0.1 && chance.high > 0.1, `interval ${chance.low}–${chance.high} holds chance`);
});

Deno.test("judgeAccuracy() refuses logits whose size does not match the labels", () => {
  throws(() => judgeAccuracy(new Float32Array(15), [1, 2]), /2×10 values: current length is 15/);
});

Deno.test("proportion() gives the Wilson interval of a textbook case", () => {
  const p = proportion(81, 263);
  close(p.rate, 0.30798, 1e-5);
  close(p.low, 0.25528, 1e-4, "low");
  close(p.high, 0.36621, 1e-4, "high");
  equal(proportion(0, 50).low, 0);
});

Deno.test("symmetricEigen() finds the eigenvalues and orthonormal eigenvectors of a symmetric matrix", () => {
  const n = 24, r = mulberry32(11);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = r() - 0.5;
  }
  const { values, vectors } = symmetricEigen(a, n, { vectors: true });
  const onlyValues = symmetricEigen(a, n).values;
  let trace = 0, frob = 0, sum = 0, sq = 0;
  for (let i = 0; i < n; i++) {
    trace += a[i * n + i];
    sum += values[i];
    sq += values[i] ** 2;
    close(onlyValues[i], values[i], 1e-10, `value ${i}`);
    if (i) ok(values[i] >= values[i - 1]);
    for (let j = 0; j < n; j++) frob += a[i * n + j] ** 2;
  }
  close(sum, trace, 1e-10, "trace");
  close(sq, frob, 1e-10, "Frobenius norm");
  const V = vectors!;
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      let av = 0;
      for (let j = 0; j < n; j++) av += a[i * n + j] * V[j * n + k];
      close(av, values[k] * V[i * n + k], 1e-10, `A·v = λ·v for ${k}`);
    }
  }
  const diag = symmetricEigen(Float64Array.of(3, 0, 0, 0, 1, 0, 0, 0, 2), 3).values;
  equal([...diag].join(), "1,2,3");
});

Deno.test("frechetDistance() of a feature set with itself is 0", () => {
  const f = features(400, 32, 1);
  const s = gaussianStats(f, 32);
  close(frechetDistance(frechetReference(s), s), 0, 1e-6);
});

Deno.test("frechetDistance() is positive for shifted sets and grows with the shift", () => {
  const a = gaussianStats(features(400, 32, 1), 32);
  const ref = frechetReference(a);
  const same = frechetDistance(ref, gaussianStats(features(400, 32, 2), 32));
  const shifted = frechetDistance(ref, gaussianStats(features(400, 32, 2, 1), 32));
  const further = frechetDistance(ref, gaussianStats(features(400, 32, 2, 2), 32));
  ok(same > 0 && same < shifted && shifted < further, `${same} < ${shifted} < ${further}`);
  // A shift of every coordinate by s adds about dim·s² to the mean term.
  close(shifted - same, 32, 8, "mean term of a unit shift");
});

Deno.test("frechetDistance() matches the closed form for diagonal Gaussians", () => {
  // 1-D: d² = (μ₁ − μ₂)² + (σ₁ − σ₂)²; here means 0 and 3, variances 2 and 8.
  const a = gaussianStats(Float64Array.of(-1, 1), 1), b = gaussianStats(Float64Array.of(1, 5), 1);
  close(frechetDistance(frechetReference(a), b), 9 + (Math.sqrt(2) - Math.sqrt(8)) ** 2, 1e-9);
});

Deno.test("bootstrapInterval() brackets the mean and is reproducible", () => {
  const xs = Array.from({ length: 200 }, (_, i) => i % 2);
  const mean = (rows: Uint32Array) => rows.reduce((s, i) => s + xs[i], 0) / rows.length;
  const a = bootstrapInterval(xs.length, mean, { seed: 5 });
  const b = bootstrapInterval(xs.length, mean, { seed: 5 });
  equal(a.value, 0.5);
  ok(a.low < 0.5 && a.high > 0.5 && a.high - a.low < 0.2);
  equal(a.low, b.low);
});
