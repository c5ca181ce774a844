/**
 * An on-disk cache of guidance-patched models, so a cold start does not re-patch.
 *
 * An entry is keyed by the SHA-256 of the source model, the patch options and a patcher version; it holds
 * the patched bytes and a JSON record with their own SHA-256. An entry whose bytes do not match the
 * record (truncated, corrupted) is rebuilt, never served; so is one whose bytes match but fail the
 * `verify` check (a record written over bad bytes), since serving it would stop the server at session
 * creation. Writes go through a temporary file that never outlives a failed write.
 *
 * @module
 */
import { join } from "node:path";
import onnx from "onnx-proto";
import type { PatchedModel, PatchFn, PatchRequest } from "./guidance_patch.ts";

/** What the cache did for the last patch, for logs and tests. */
export type CacheOutcome = "hit" | "miss" | "rebuilt" | "off";

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Whether a cached entry decodes as an ONNX model whose graph has nodes and every recorded guidance input:
 * the `verify` check of {@linkcode cachedPatch} for the server.
 */
export function decodesAsPatchedOnnx({ model, inputs }: PatchedModel): boolean {
  try {
    const graph = onnx.onnx.ModelProto.decode(model).graph;
    const names = new Set(graph?.input?.map((i) => i.name) ?? []);
    return !!graph?.node?.length && inputs.every((name) => names.has(name));
  } catch {
    return false;
  }
}

/** Writes `bytes` to `path` through a temporary file in the same folder, removed when the write fails. */
async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Options of {@linkcode cachedPatch}. */
export interface PatchCacheOptions {
  /** Bumped whenever the patcher's output changes, so old entries are not reused. */
  version: string;
  /** Told what happened for each model. */
  onOutcome?: (path: string, outcome: CacheOutcome) => void;
  /** Checks an entry whose checksum matches before it is served; `false` discards and rebuilds it. */
  verify?: (entry: PatchedModel) => boolean;
}

/** Wraps a patch function with the on-disk cache in `dir` (`null` turns caching off). */
export function cachedPatch(
  patch: PatchFn,
  dir: string | null,
  { version, onOutcome, verify = () => true }: PatchCacheOptions,
): PatchFn {
  if (!dir) {
    return async (model, req) => {
      onOutcome?.(req.path, "off");
      return await patch(model, req);
    };
  }
  return async (model: Uint8Array, req: PatchRequest): Promise<PatchedModel> => {
    const key = await sha256(
      new TextEncoder().encode(
        JSON.stringify([version, req.layers, req.textInput, await sha256(model as Uint8Array<ArrayBuffer>)]),
      ),
    );
    const onnxPath = join(dir, `${key}.onnx`), metaPath = join(dir, `${key}.json`);
    let outcome: CacheOutcome = "miss";
    try {
      const meta = JSON.parse(await Deno.readTextFile(metaPath)) as PatchedModel & { sha256: string };
      const bytes = await Deno.readFile(onnxPath);
      const entry = { model: bytes, kinds: meta.kinds, inputs: meta.inputs };
      if (
        meta.sha256 === await sha256(bytes) && Array.isArray(meta.kinds) && Array.isArray(meta.inputs) &&
        verify(entry)
      ) {
        onOutcome?.(req.path, "hit");
        return entry;
      }
      outcome = "rebuilt";
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) outcome = "rebuilt";
    }
    if (outcome === "rebuilt") {
      // Discard the bad entry first: should the new one not be written, it is not tried again either.
      await Promise.all([onnxPath, metaPath].map((p) => Deno.remove(p).catch(() => {})));
    }
    const patched = await patch(model, req);
    try {
      await Deno.mkdir(dir, { recursive: true });
      // Write the bytes, then the record: a crash in between leaves an entry that fails the check.
      await writeAtomic(onnxPath, patched.model);
      const meta = {
        kinds: patched.kinds,
        inputs: patched.inputs,
        sha256: await sha256(patched.model as Uint8Array<ArrayBuffer>),
        source: req.path,
      };
      await writeAtomic(metaPath, new TextEncoder().encode(JSON.stringify(meta)));
    } catch {
      // A read-only disk must not stop the server: it only loses the cache.
    }
    onOutcome?.(req.path, outcome);
    return patched;
  };
}
