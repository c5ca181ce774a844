/**
 * Seeded, counter-based Gaussian noise.
 *
 * Element `i` of stream `s` under seed `k` depends only on `(k, s, i)`: two 32-bit uniforms come from
 * hashing `(k, s, 2j)` and `(k, s, 2j + 1)` with the `lowbias32` integer hash (C. Wellons, "Hash
 * Prospector"), and the Box–Muller transform turns each pair into two normals. No state is carried between
 * calls, so the same seed gives the same noise on every backend and machine.
 *
 * @module
 */

/** Largest accepted seed (seeds are unsigned 32-bit integers). */
export const MAX_SEED = 0xffff_ffff;

function lowbias32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

function uniform(seed: number, stream: number, counter: number): number {
  const h = lowbias32(lowbias32(lowbias32(seed) ^ stream) ^ counter);
  return (h + 0.5) / 4294967296;
}

/**
 * Returns `count` standard-normal samples for `seed` (and an optional `stream` for independent draws).
 *
 * @example
 * ```ts
 * const x = gaussianNoise(42, 28 * 28);
 * ```
 */
export function gaussianNoise(seed: number, count: number, stream = 0): Float32Array {
  const out = new Float32Array(count);
  for (let j = 0; 2 * j < count; j++) {
    const u1 = uniform(seed >>> 0, stream, 2 * j);
    const u2 = uniform(seed >>> 0, stream, 2 * j + 1);
    const r = Math.sqrt(-2 * Math.log(u1));
    out[2 * j] = r * Math.cos(2 * Math.PI * u2);
    if (2 * j + 1 < count) out[2 * j + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** A fresh random seed from the platform's crypto source. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}
