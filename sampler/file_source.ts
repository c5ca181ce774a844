/**
 * Models in folders on the server's file system: a {@linkcode ModelSource} per folder, and the folders of
 * a models directory.
 *
 * @module
 */
import { basename, join } from "node:path";
import type { ModelSource } from "./model_source.ts";

/** The model in folder `dir`; its id is the folder name. */
export function fileSource(dir: string): ModelSource {
  const path = (file: string) => join(dir, file);
  return {
    id: basename(dir),
    path,
    readBytes: (file) => Deno.readFile(path(file)),
    readText: (file) => Deno.readTextFile(path(file)),
    exists: (file) => Deno.stat(path(file)).then(() => true, () => false),
  };
}

/** The ids of the folders in `modelsDir` that hold a `manifest.json`, sorted. */
export async function modelFolders(modelsDir: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const e of Deno.readDir(modelsDir)) {
    if (e.isDirectory && (await Deno.stat(join(modelsDir, e.name, "manifest.json")).catch(() => null))) {
      ids.push(e.name);
    }
  }
  return ids.sort();
}
