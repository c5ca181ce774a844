/**
 * The product of two row-major matrices, shared by the Fréchet distance and the test fixtures' reference
 * passes.
 *
 * @module
 */

/**
 * Adds the row-major product [rows, inner] × [inner, cols] into `out` and returns it. Each sum is kept in
 * `out`'s own precision, so a `Float32Array` gives what float32 code computes.
 *
 * @example
 * ```ts
 * const ab = matrixProduct(new Float64Array(4), a, 2, 2, b, 2);
 * ```
 */
export function matrixProduct<T extends Float32Array | Float64Array>(
  out: T,
  a: ArrayLike<number>,
  rows: number,
  inner: number,
  b: ArrayLike<number>,
  cols: number,
): T {
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < inner; i++) {
      const x = a[r * inner + i];
      if (x === 0) continue;
      for (let c = 0; c < cols; c++) out[r * cols + c] += x * b[i * cols + c];
    }
  }
  return out;
}
