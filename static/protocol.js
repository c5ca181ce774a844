/**
 * The `/ws` protocol as the web client sees it. The numbers are the server's (`routes/protocol.ts`);
 * `tests/static/protocol_test.ts` keeps the two in step.
 *
 * Every image the server sends is one binary WebSocket message:
 *
 * | offset | size | field                                   |
 * | ------ | ---- | --------------------------------------- |
 * | 0      | 1    | version, always {@linkcode FRAME_VERSION} |
 * | 1      | 1    | kind: 1 preview, 2 final                |
 * | 2      | 2    | step (u16, big-endian; 1-based)         |
 * | 4      | 2    | total steps (u16, big-endian)           |
 * | 6      | 1    | format: 1 PNG, 2 JPEG                   |
 * | 7      | 1    | n = byte length of the request id       |
 * | 8      | n    | request id, UTF-8                       |
 * | 8 + n  | …    | the encoded image                       |
 *
 * @module
 */

/** Version byte at offset 0 of every binary frame. */
export const FRAME_VERSION = 1;
/** Frame kinds (offset 1). */
export const FRAME_KIND = Object.freeze({ preview: 1, final: 2 });
/** Image formats (offset 6). */
export const FRAME_FORMAT = Object.freeze({ png: 1, jpeg: 2 });
/** MIME type per image format name. */
export const MIME = Object.freeze({ png: "image/png", jpeg: "image/jpeg" });
/** Bytes before the request id. */
export const FRAME_HEADER_BYTES = 8;
/** Longest request id, in UTF-8 bytes. */
export const MAX_ID_BYTES = 64;
/** Error codes the server may put in an `error` event. */
export const ERROR_CODES = Object.freeze([
  "bad_request",
  "unauthorized",
  "not_found",
  "too_large",
  "busy",
  "internal",
]);

/**
 * The fields of a binary frame, named as in `routes/protocol.ts`.
 *
 * @typedef {object} Frame
 * @property {"preview" | "final"} kind
 * @property {number} step 1-based step this image belongs to
 * @property {number} steps total steps of the job
 * @property {"png" | "jpeg"} format
 * @property {string} id the request id the client chose
 * @property {Uint8Array} image the encoded image bytes (a view into the message, not a copy)
 */

/**
 * Finds the name whose value is `code` in a table such as {@linkcode FRAME_KIND}.
 *
 * @param {Readonly<Record<string, number>>} table
 * @param {number} code
 * @returns {string | undefined}
 */
function _nameOf(table, code) {
  return Object.keys(table).find((name) => table[name] === code);
}

/**
 * Decodes one binary WebSocket message into its fields.
 *
 * @param {ArrayBuffer | Uint8Array} data the message as received (`binaryType = "arraybuffer"`)
 * @returns {Frame}
 * @throws {RangeError} when the version, kind or format is unknown or the message is too short
 * @example
 * ```js
 * socket.binaryType = "arraybuffer";
 * socket.onmessage = (e) => {
 *   if (typeof e.data === "string") return;
 *   const { id, kind, image, format } = decodeFrame(e.data);
 *   const blob = new Blob([image], { type: MIME[format] });
 * };
 * ```
 */
export function decodeFrame(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.length < FRAME_HEADER_BYTES || bytes[0] !== FRAME_VERSION) {
    throw new RangeError(`Cannot decode frame as the header is invalid: version ${bytes[0]}`);
  }
  const kind = /** @type {Frame["kind"] | undefined} */ (_nameOf(FRAME_KIND, bytes[1]));
  const format = /** @type {Frame["format"] | undefined} */ (_nameOf(FRAME_FORMAT, bytes[6]));
  if (!kind || !format) {
    throw new RangeError(`Cannot decode frame as kind ${bytes[1]} or format ${bytes[6]} is unknown`);
  }
  const n = bytes[7];
  if (bytes.length < FRAME_HEADER_BYTES + n) {
    throw new RangeError(`Cannot decode frame as it ends inside the id: ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    kind,
    step: view.getUint16(2),
    steps: view.getUint16(4),
    format,
    id: new TextDecoder().decode(bytes.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + n)),
    image: bytes.subarray(FRAME_HEADER_BYTES + n),
  };
}

/**
 * Tells whether a request id is one the server accepts: 1 to {@linkcode MAX_ID_BYTES} UTF-8 bytes.
 *
 * @param {string} id
 * @returns {boolean}
 */
export function isValidId(id) {
  const n = new TextEncoder().encode(id).length;
  return n >= 1 && n <= MAX_ID_BYTES;
}
