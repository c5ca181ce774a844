/**
 * Where a model's files come from: {@linkcode ModelSource}, the one interface between the sampler and
 * storage, and {@linkcode urlSource}, which fetches them over HTTP (a browser page, or any runtime with
 * `fetch`). The server's folders are `fileSource` in `file_source.ts`.
 *
 * @module
 */

/** The files of one model (its `manifest.json`, ONNX files, tokenizer), by name relative to the model. */
export interface ModelSource {
  /** The model id the source holds (its folder name); the manifest's `id` must equal it. */
  readonly id: string;
  /** The full path or URL of a file, for messages and cache keys. */
  path(file: string): string;
  /** A file's bytes; rejects naming the file when it cannot be read. */
  readBytes(file: string): Promise<Uint8Array>;
  /** A file as UTF-8 text; rejects naming the file when it cannot be read. */
  readText(file: string): Promise<string>;
  /** Whether a file is there. */
  exists(file: string): Promise<boolean>;
}

/**
 * A model served over HTTP at `base` (a folder URL; a trailing slash is added).
 *
 * @param id the model id (default: the last segment of `base`)
 * @example
 * ```ts
 * const source = urlSource(new URL("/models/digits/", location.href));
 * const manifest = parseManifest(JSON.parse(await source.readText("manifest.json")), source.path("manifest.json"));
 * ```
 */
export function urlSource(
  base: string | URL,
  id?: string,
  fetchFile: typeof fetch = (input, init) => fetch(input, init),
): ModelSource {
  const root = new URL(base);
  if (!root.pathname.endsWith("/")) root.pathname += "/";
  const url = (file: string) => new URL(file, root).href;
  const get = async (file: string) => {
    const res = await fetchFile(url(file));
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`Cannot read ${url(file)} as the server answered ${res.status} ${res.statusText}`);
    }
    return res;
  };
  return {
    id: id ?? decodeURIComponent(root.pathname.split("/").filter(Boolean).at(-1) ?? ""),
    path: url,
    readBytes: async (file) => new Uint8Array(await (await get(file)).arrayBuffer()),
    readText: async (file) => await (await get(file)).text(),
    async exists(file) {
      const res = await fetchFile(url(file), { method: "HEAD" });
      await res.body?.cancel();
      return res.ok;
    },
  };
}
