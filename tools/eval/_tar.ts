/** Reads the regular files of a gzip-compressed tar archive (ustar and GNU long names), by path. */
export async function readTarGz(bytes: Uint8Array<ArrayBuffer>): Promise<Map<string, Uint8Array>> {
  const tar = new Uint8Array(
    await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer(),
  );
  const text = (a: Uint8Array) =>
    new TextDecoder().decode(a.subarray(0, a.indexOf(0) < 0 ? a.length : a.indexOf(0)));
  const files = new Map<string, Uint8Array>();
  let longName: string | null = null;
  for (let o = 0; o + 512 <= tar.length;) {
    const header = tar.subarray(o, o + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(text(header.subarray(124, 136)).trim() || "0", 8);
    const type = String.fromCharCode(header[156] || 48);
    const prefix = text(header.subarray(345, 500));
    const name = longName ?? (prefix ? `${prefix}/` : "") + text(header.subarray(0, 100));
    const body = tar.subarray(o + 512, o + 512 + size);
    longName = null;
    if (type === "L") longName = text(body);
    else if (type === "0" || type === "\0") files.set(name, body);
    o += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}
