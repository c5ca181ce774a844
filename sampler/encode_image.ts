/**
 * Encodes RGBA images as PNG or JPEG with imagescript (the server's side: a page draws RGBA to a canvas).
 *
 * @module
 */
import { Image } from "imagescript";
import type { Rgba } from "./preview.ts";

/** Options of {@linkcode encodeImage}. */
export interface EncodeOptions {
  format: "png" | "jpeg";
  /** Longest side in pixels; nearest-neighbour scaling keeps tiny images crisp. Default: the image's own. */
  size?: number;
  /** JPEG quality 1–100. */
  quality?: number;
}

/** Encodes an RGBA image as PNG or JPEG, scaled so its longest side is `size`. */
export async function encodeImage(
  rgba: Rgba,
  { format, size, quality = 90 }: EncodeOptions,
): Promise<Uint8Array<ArrayBuffer>> {
  let image = new Image(rgba.width, rgba.height);
  image.bitmap.set(rgba.data);
  if (size && size !== Math.max(rgba.width, rgba.height)) {
    const k = size / Math.max(rgba.width, rgba.height);
    image = image.resize(
      Math.max(1, Math.round(rgba.width * k)),
      Math.max(1, Math.round(rgba.height * k)),
      Image.RESIZE_NEAREST_NEIGHBOR,
    );
  }
  // imagescript stamps PNGs with the encoding time; a fixed one keeps the bytes a function of the pixels,
  // so the same seed gives the same file over HTTP and WS.
  const bytes = format === "png"
    ? await image.encode(1, { creationTime: 0 })
    : await image.encodeJPEG(quality as 90);
  return bytes as Uint8Array<ArrayBuffer>;
}
