/**
 * An on-disk cache of guidance-patched models, so a cold start does not re-patch.
 *
 * An entry is keyed by the SHA-256 of the source model, the patch options and a patcher version; it holds
 * the patched bytes and a JSON record with their own SHA-256. An entry whose bytes do not match the
 * record (truncated, corrupted) is rebuilt, never served.
 *
 * @module
 */
import { join } from "node:path";
import type { PatchedModel, PatchFn, PatchRequest } from "./guidance_patch.ts";

/** What the cache did for the last patch, for logs and tests. */
export type CacheOutcome = "hit" | "miss" | "rebuilt" | "off";

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Options of {@linkcode cachedPatch}. */
export interface PatchCacheOptions {
  /** Bumped whenever the patcher's output changes, so old entries are not reused. */
  version: string;
  /** Told what happened for each model. */
  onOutcome?: (path: string, outcome: CacheOutcome) => void;
}

/** Wraps a patch function with the on-disk cache in `dir` (`null` turns caching off). */
export function cachedPatch(
  patch: PatchFn,
  dir: string | null,
  { version, onOutcome }: PatchCacheOptions,
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
      if (meta.sha256 === await sha256(bytes) && Array.isArray(meta.kinds) && Array.isArray(meta.inputs)) {
        onOutcome?.(req.path, "hit");
        return { model: bytes, kinds: meta.kinds, inputs: meta.inputs };
      }
      outcome = "rebuilt";
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) outcome = "rebuilt";
    }
    const patched = await patch(model, req);
    try {
      await Deno.mkdir(dir, { recursive: true });
      // Write the bytes, then the record: a crash in between leaves an entry that fails the check.
      const tmp = `${onnxPath}.${crypto.randomUUID()}.tmp`;
      await Deno.writeFile(tmp, patched.model);
      await Deno.rename(tmp, onnxPath);
      const meta = {
        kinds: patched.kinds,
        inputs: patched.inputs,
        sha256: await sha256(patched.model as Uint8Array<ArrayBuffer>),
        source: req.path,
      };
      await Deno.writeTextFile(metaPath, JSON.stringify(meta));
    } catch {
      // A read-only disk must not stop the server: it only loses the cache.
    }
    onOutcome?.(req.path, outcome);
    return patched;
  };
}
