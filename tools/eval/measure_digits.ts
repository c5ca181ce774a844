/**
 * The attribute measurements of `tools/train/common.py` (`measure`, `attributes`), ported so eval judges
 * generated digits by the rule the captions were made with.
 *
 * @module
 */

/** Side of the square digit images. */
export const DIGIT_SIZE = 28;

/** A pixel counts as stroke for the bounding box above this value (images in [0, 1]). */
const ON_THRESHOLD = 0.3;

/** Per-image measurements, as `measure()` returns them. */
export interface DigitMeasures {
  /** Sum of pixel values: stroke thickness relative to the class. */
  ink: Float64Array;
  /** −μ₁₁ / μ₀₂ of the intensity moments: positive when the top leans right. */
  slant: Float64Array;
  /** Bounding-box area (rows × columns) of pixels above 0.3. */
  area: Float64Array;
}

/**
 * Measures ink, slant and bounding-box area of `n` 28×28 images with values in [0, 1]
 * (row-major, concatenated), exactly as `measure()` in `tools/train/common.py` does.
 *
 * @example
 * ```ts
 * const { ink } = measureDigits(new Float32Array(784).fill(1), 1); // ink[0] === 784
 * ```
 */
export function measureDigits(images: ArrayLike<number>, n: number): DigitMeasures {
  const px = DIGIT_SIZE * DIGIT_SIZE;
  if (images.length !== n * px) {
    throw new RangeError(
      `Cannot measure digits as the data must hold ${n}×${px} values: current length is ${images.length}`,
    );
  }
  const ink = new Float64Array(n), slant = new Float64Array(n), area = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const o = k * px;
    let sum = 0, sx = 0, sy = 0;
    for (let y = 0; y < DIGIT_SIZE; y++) {
      for (let x = 0; x < DIGIT_SIZE; x++) {
        const v = images[o + y * DIGIT_SIZE + x];
        sum += v;
        sx += v * x;
        sy += v * y;
      }
    }
    const m = Math.max(sum, 1e-6);
    const cx = sx / m, cy = sy / m;
    let mu11 = 0, mu02 = 0;
    let top = -1, bottom = -1, left = DIGIT_SIZE, right = -1;
    for (let y = 0; y < DIGIT_SIZE; y++) {
      for (let x = 0; x < DIGIT_SIZE; x++) {
        const v = images[o + y * DIGIT_SIZE + x];
        mu11 += v * (x - cx) * (y - cy);
        mu02 += v * (y - cy) * (y - cy);
        if (v > ON_THRESHOLD) {
          if (top < 0) top = y;
          bottom = y;
          if (x < left) left = x;
          if (x > right) right = x;
        }
      }
    }
    ink[k] = sum;
    // Image rows grow downwards: a top leaning right has x decreasing with y, so negate.
    slant[k] = -(mu11 / m) / Math.max(mu02 / m, 1e-6);
    area[k] = top < 0 ? 0 : (bottom - top + 1) * (right - left + 1);
  }
  return { ink, slant, area };
}

/** `models/digits/attributes.json`: global slant cuts, per-class ink terciles and area median. */
export interface AttributeThresholds {
  slant: [number, number];
  classes: Record<string, { ink: [number, number]; area: number }>;
}

/** Attribute classes per image, as `attributes()` returns them. */
export interface DigitAttributes {
  /** 0 thin, 1 regular, 2 thick. */
  thickness: Int8Array;
  /** 0 slanted left, 1 upright, 2 slanted right. */
  slant: Int8Array;
  /** 0 small, 1 large. */
  size: Int8Array;
}

/**
 * Classifies measured digits into thickness, slant and size with the thresholds of their class
 * (`labels`: the digit each image shows or was asked to show).
 */
export function classifyAttributes(
  m: DigitMeasures,
  labels: ArrayLike<number>,
  th: AttributeThresholds,
): DigitAttributes {
  const n = labels.length;
  const thickness = new Int8Array(n), slant = new Int8Array(n), size = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const t = th.classes[String(labels[i])];
    if (!t) {
      throw new RangeError(`Cannot classify attributes as class '${labels[i]}' has no thresholds`);
    }
    thickness[i] = m.ink[i] < t.ink[0] ? 0 : m.ink[i] > t.ink[1] ? 2 : 1;
    size[i] = m.area[i] > t.area ? 1 : 0;
    slant[i] = m.slant[i] < th.slant[0] ? 0 : m.slant[i] > th.slant[1] ? 2 : 1;
  }
  return { thickness, slant, size };
}

/** Maps generated samples in [-1, 1] to the [0, 1] range the measurements and MNIST use (clamped). */
export function toUnitRange(x: ArrayLike<number>): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (Math.min(1, Math.max(-1, x[i])) + 1) / 2;
  return out;
}
