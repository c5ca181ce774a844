/**
 * Test helper: the width and height of a PNG (IHDR) or baseline/progressive JPEG (SOFn) from its header.
 *
 * @module
 */
export function imageSize(bytes: Uint8Array): { width: number; height: number; format: "png" | "jpeg" } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] === 0x89 && bytes[1] === 0x50) {
    return { width: view.getUint32(16), height: view.getUint32(20), format: "png" };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    let i = 2;
    while (i < bytes.length) {
      const marker = bytes[i + 1];
      const length = view.getUint16(i + 2);
      if (marker >= 0xc0 && marker <= 0xc2) {
        return { height: view.getUint16(i + 5), width: view.getUint16(i + 7), format: "jpeg" };
      }
      i += 2 + length;
    }
  }
  throw new Error(
    `Cannot read the image size as the bytes are neither PNG nor JPEG: ${Array.from(bytes.subarray(0, 4))}`,
  );
}
