/**
 * Turns a clean-sample estimate into an RGBA image with the manifest's preview method (`encode_image.ts`
 * encodes it; an SD model's TAESD decoder lives in `preview_decoder.ts`).
 *
 * @module
 */
import type { PreviewMethod } from "./manifest.ts";

/** An 8-bit RGBA image. */
export interface Rgba {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** Maps a value in [-1, 1] to a byte: clamp, +1, ×127.5, round (not truncate). */
function toByte(v: number): number {
  return Math.round((Math.min(1, Math.max(-1, v)) + 1) * 127.5);
}

/**
 * Renders a planar image `x` of shape [channels, height, width] with values in [-1, 1] as RGBA: one channel
 * is grey, three are RGB.
 */
export function planarToRgba(x: Float32Array, channels: number, width: number, height: number): Rgba {
  const n = width * height;
  const data = new Uint8ClampedArray(n * 4);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) data[p * 4 + c] = toByte(x[(channels === 1 ? 0 : c) * n + p]);
    data[p * 4 + 3] = 255;
  }
  return { width, height, data };
}

/**
 * The linear latent → RGB preview: `rgb = Σ_c latent[c]·factors[c] + bias` per pixel, as ComfyUI does.
 */
export function latentToRgba(
  x: Float32Array,
  factors: readonly (readonly number[])[],
  bias: readonly number[],
  width: number,
  height: number,
): Rgba {
  const n = width * height;
  const data = new Uint8ClampedArray(n * 4);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) {
      let v = bias[c];
      for (let k = 0; k < factors.length; k++) v += x[k * n + p] * factors[k][c];
      data[p * 4 + c] = toByte(v);
    }
    data[p * 4 + 3] = 255;
  }
  return { width, height, data };
}

/** Inputs of {@linkcode decodePreview}. */
export interface DecodeInput {
  /** The sample, planar [channels, height, width] (batch 1). */
  x: Float32Array;
  channels: number;
  width: number;
  height: number;
  method: PreviewMethod;
}

/** Decodes a sample with a manifest preview method (an SD model's TAESD decoder, when present, replaces it). */
export function decodePreview({ x, channels, width, height, method }: DecodeInput): Promise<Rgba> {
  return Promise.resolve(
    method.method === "identity"
      ? planarToRgba(x, channels, width, height)
      : latentToRgba(x, method.factors, method.bias, width, height),
  );
}
