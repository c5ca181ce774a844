/**
 * The Fréchet distance between Gaussians fitted to two sets of features (the FID formula of Heusel et al.
 * 2017, "GANs Trained by a Two Time-Scale Update Rule…", here over the digit judge's features).
 *
 * @module
 */
import { matrixProduct } from "./matrix_product.ts";
import { symmetricEigen } from "./symmetric_eigenvalues.ts";

/** Mean and covariance (n − 1 normalised) of a feature set. */
export interface GaussianStats {
  dim: number;
  mean: Float64Array;
  /** Row-major [dim, dim]. */
  cov: Float64Array;
}

/**
 * Fits mean and covariance to the rows of `features` ([n, dim], row-major); `rows` picks (and may repeat)
 * rows, for bootstrap resamples.
 */
export function gaussianStats(
  features: ArrayLike<number>,
  dim: number,
  rows?: ArrayLike<number>,
): GaussianStats {
  const n = rows ? rows.length : features.length / dim;
  if (!Number.isInteger(n) || n < 2) {
    throw new RangeError(
      `Cannot fit a Gaussian as it needs at least 2 rows of ${dim} values: current count is ${n}`,
    );
  }
  const row = (i: number) => (rows ? rows[i] : i) * dim;
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const o = row(i);
    for (let j = 0; j < dim; j++) mean[j] += features[o + j];
  }
  for (let j = 0; j < dim; j++) mean[j] /= n;
  const cov = new Float64Array(dim * dim);
  const c = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const o = row(i);
    for (let j = 0; j < dim; j++) c[j] = features[o + j] - mean[j];
    for (let j = 0; j < dim; j++) {
      const cj = c[j];
      if (cj === 0) continue;
      for (let k = j; k < dim; k++) cov[j * dim + k] += cj * c[k];
    }
  }
  for (let j = 0; j < dim; j++) {
    for (let k = j; k < dim; k++) {
      const v = cov[j * dim + k] / (n - 1);
      cov[j * dim + k] = v;
      cov[k * dim + j] = v;
    }
  }
  return { dim, mean, cov };
}

/** The symmetric square root of a positive semi-definite matrix (negative round-off eigenvalues → 0). */
export function sqrtPsd(a: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, n, { vectors: true });
  const V = vectors!;
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(0, values[k]));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vi = V[i * n + k] * s;
      if (vi === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += vi * V[j * n + k];
    }
  }
  return out;
}

/**
 * A reference set prepared once for many distances: its statistics and the square root of its covariance,
 * so each distance costs one eigenvalue solve.
 */
export interface FrechetReference {
  stats: GaussianStats;
  sqrtCov: Float64Array;
}

/** Prepares `stats` as the fixed side of {@linkcode frechetDistance}. */
export function frechetReference(stats: GaussianStats): FrechetReference {
  return { stats, sqrtCov: sqrtPsd(stats.cov, stats.dim) };
}

/**
 * d² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2·tr (Σ₁^½ Σ₂ Σ₁^½)^½, with the symmetric form of the cross term so
 * only a symmetric eigenvalue problem is solved. Zero for a set against itself, up to round-off.
 *
 * @param reference the fixed side (`frechetReference`)
 * @example
 * ```ts
 * const ref = frechetReference(gaussianStats(realFeatures, 128));
 * frechetDistance(ref, gaussianStats(fakeFeatures, 128));
 * ```
 */
export function frechetDistance(reference: FrechetReference, other: GaussianStats): number {
  const { stats: a, sqrtCov } = reference;
  const n = a.dim;
  if (other.dim !== n) {
    throw new RangeError(
      `Cannot compare feature sets of different sizes: current sizes are ${n} and ${other.dim}`,
    );
  }
  let meanTerm = 0, trace = 0;
  for (let j = 0; j < n; j++) {
    const d = a.mean[j] - other.mean[j];
    meanTerm += d * d;
    trace += a.cov[j * n + j] + other.cov[j * n + j];
  }
  const product = (x: Float64Array, y: Float64Array) => matrixProduct(new Float64Array(n * n), x, n, n, y, n);
  const m = product(product(sqrtCov, other.cov), sqrtCov);
  // Symmetrise away round-off so the eigen solver sees an exactly symmetric matrix.
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = (m[i * n + j] + m[j * n + i]) / 2;
      m[i * n + j] = v;
      m[j * n + i] = v;
    }
  }
  let cross = 0;
  for (const v of symmetricEigen(m, n).values) cross += Math.sqrt(Math.max(0, v));
  return Math.max(0, meanTerm + trace - 2 * cross);
}
