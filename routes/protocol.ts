/**
 * The binary frame layout of the `/ws` socket, shared with the web client (`static/protocol.js` holds the
 * same numbers; a test keeps the two in step).
 *
 * Every image the server sends is one binary WebSocket message:
 *
 * | offset | size | field                                        |
 * | ------ | ---- | -------------------------------------------- |
 * | 0      | 1    | version, always {@linkcode FRAME_VERSION}    |
 * | 1      | 1    | kind: 1 preview, 2 final                     |
 * | 2      | 2    | step (u16, big-endian; 1-based)              |
 * | 4      | 2    | total steps (u16, big-endian)                |
 * | 6      | 1    | format: 1 PNG, 2 JPEG                        |
 * | 7      | 1    | n = byte length of the request id (≤ 64)      |
 * | 8      | n    | request id, UTF-8                            |
 * | 8 + n  | …    | the encoded image                            |
 *
 * @module
 */

/** Version byte at offset 0 of every binary frame. */
export const FRAME_VERSION = 1;
/** Frame kinds (offset 1). */
export const FRAME_KIND = { preview: 1, final: 2 } as const;
/** Image formats (offset 6) and their MIME types. */
export const FRAME_FORMAT = { png: 1, jpeg: 2 } as const;
/** MIME type per image format name. */
export const MIME = { png: "image/png", jpeg: "image/jpeg" } as const;
/** Bytes before the request id. */
export const FRAME_HEADER_BYTES = 8;
/** Longest request id, in UTF-8 bytes. */
export const MAX_ID_BYTES = 64;

/** An image format name. */
export type ImageFormat = keyof typeof FRAME_FORMAT;
/** A frame kind name. */
export type FrameKind = keyof typeof FRAME_KIND;

/** The fields of a binary frame. */
export interface Frame {
  kind: FrameKind;
  step: number;
  steps: number;
  format: ImageFormat;
  id: string;
  image: Uint8Array;
}

/**
 * Encodes an image frame.
 *
 * @example
 * ```ts
 * const bytes = encodeFrame({ kind: "final", step: 4, steps: 4, format: "png", id: "a", image: png });
 * ```
 */
export function encodeFrame(frame: Frame): Uint8Array<ArrayBuffer> {
  const id = new TextEncoder().encode(frame.id);
  if (id.length > MAX_ID_BYTES) {
    throw new RangeError(`Cannot encode frame as the id is longer than ${MAX_ID_BYTES} bytes: ${id.length}`);
  }
  const out = new Uint8Array(FRAME_HEADER_BYTES + id.length + frame.image.length);
  const view = new DataView(out.buffer);
  out[0] = FRAME_VERSION;
  out[1] = FRAME_KIND[frame.kind];
  view.setUint16(2, frame.step);
  view.setUint16(4, frame.steps);
  out[6] = FRAME_FORMAT[frame.format];
  out[7] = id.length;
  out.set(id, FRAME_HEADER_BYTES);
  out.set(frame.image, FRAME_HEADER_BYTES + id.length);
  return out;
}

/** Decodes a binary frame; throws on a version or field it does not know. */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length < FRAME_HEADER_BYTES || bytes[0] !== FRAME_VERSION) {
    throw new RangeError(`Cannot decode frame as the header is invalid: version ${bytes[0]}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = (Object.keys(FRAME_KIND) as FrameKind[]).find((k) => FRAME_KIND[k] === bytes[1]);
  const format = (Object.keys(FRAME_FORMAT) as ImageFormat[]).find((k) => FRAME_FORMAT[k] === bytes[6]);
  if (!kind || !format) {
    throw new RangeError(`Cannot decode frame as kind ${bytes[1]} or format ${bytes[6]} is unknown`);
  }
  const n = bytes[7];
  return {
    kind,
    step: view.getUint16(2),
    steps: view.getUint16(4),
    format,
    id: new TextDecoder().decode(bytes.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + n)),
    image: bytes.subarray(FRAME_HEADER_BYTES + n),
  };
}
