import assert from "node:assert/strict";
import { gaussianNoise } from "../../sampler/mod.ts";

Deno.test("gaussianNoise() is a pure function of seed, stream and index", () => {
  assert.deepEqual(gaussianNoise(7, 101), gaussianNoise(7, 101));
  assert.deepEqual(gaussianNoise(7, 10), gaussianNoise(7, 101).subarray(0, 10));
  assert.notDeepEqual(gaussianNoise(7, 10), gaussianNoise(8, 10));
  assert.notDeepEqual(gaussianNoise(7, 10), gaussianNoise(7, 10, 1));
});

Deno.test("gaussianNoise() has standard-normal moments", () => {
  const x = gaussianNoise(123, 200_000);
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length;
  assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.02, `variance ${variance}`);
});

Deno.test("gaussianNoise() matches the numpy port used for the model's reference output", () => {
  // tools/train/export.py gaussian_noise(1, 5)
  const expected = [0.54832214, -1.9032937, -0.5760027, 0.3424548, -2.1774204];
  gaussianNoise(1, 5).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6));
});
