/**
 * Copies of the embedded model that the fault tests break on purpose.
 *
 * @module
 */
import onnxProto from "onnx-proto";

const P = onnxProto.onnx;
const DIGITS = new URL("../../models/digits/", import.meta.url);

/** A temporary models folder holding one copy of `models/digits`, removed on dispose. */
export interface ModelCopy {
  /** The folder to pass as MODELS_DIR. */
  modelsDir: string;
  /** The copied model's folder (`<modelsDir>/digits`). */
  dir: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Copies the files of `models/digits` that the server reads into a fresh temporary MODELS_DIR. */
export async function copyDigits(): Promise<ModelCopy> {
  const modelsDir = await Deno.makeTempDir({ prefix: "gag-models-" });
  const dir = `${modelsDir}/digits`;
  await Deno.mkdir(dir);
  for await (const e of Deno.readDir(DIGITS)) {
    if (e.isFile && /\.(onnx|json)$/.test(e.name)) {
      await Deno.copyFile(new URL(e.name, DIGITS), `${dir}/${e.name}`);
    }
  }
  return { modelsDir, dir, [Symbol.asyncDispose]: () => Deno.remove(modelsDir, { recursive: true }) };
}

/**
 * Rewrites an ONNX file so that graph input `input` declares a fixed batch size: runs with that batch
 * still work, any other batch fails inside `session.run()` (onnxruntime checks declared dimensions).
 */
export async function fixBatchSize(path: string, input: string, batch: number): Promise<void> {
  const model = P.ModelProto.decode(await Deno.readFile(path));
  const value = model.graph?.input?.find((i) => i.name === input);
  const dim = value?.type?.tensorType?.shape?.dim?.[0];
  if (!dim) {
    throw new Error(`Cannot fix the batch size of ${path} as it has no input '${input}' with a shape`);
  }
  delete dim.dimParam; // a oneof: the symbolic name must go for the fixed size to count
  dim.dimValue = batch;
  await Deno.writeFile(path, P.ModelProto.encode(model).finish());
}

/** A model file replaced by a named pipe: whoever reads it waits until {@linkcode HeldFile.release}. */
export interface HeldFile {
  /**
   * Lets the reader waiting now (or the next one) go on: with `bytes` as the file's content, or with an empty
   * file (its load fails).
   */
  release(bytes?: Uint8Array): Promise<void>;
}

/**
 * Replaces `path` with a named pipe, so a server that loads it (lazily, on a job) waits on the read for as
 * long as a test wants: a job held open on any machine, however fast. Every later load waits again.
 */
export async function holdFile(path: string): Promise<HeldFile> {
  await Deno.remove(path);
  const made = await new Deno.Command("mkfifo", { args: [path], stderr: "piped" }).output();
  if (!made.success) {
    throw new Error(`Cannot make a named pipe at ${path}: ${new TextDecoder().decode(made.stderr).trim()}`);
  }
  return {
    async release(bytes = new Uint8Array()) {
      // Opening for writing waits for the reader; closing gives it end of file.
      const pipe = await Deno.open(path, { write: true });
      try {
        for (let done = 0; done < bytes.length;) done += await pipe.write(bytes.subarray(done));
      } finally {
        pipe.close();
      }
    },
  };
}

/**
 * Adds a copy of `models/digits` named `id` to a model copy, with its denoiser held on a named pipe: with
 * `LOAD_MODELS=lazy`, each job for `id` takes a slot and keeps it until the test releases the load.
 */
export async function addHeldModel(copy: ModelCopy, id = "held"): Promise<HeldFile> {
  const dir = `${copy.modelsDir}/${id}`;
  await Deno.mkdir(dir);
  for await (const e of Deno.readDir(copy.dir)) {
    if (e.isFile) await Deno.copyFile(`${copy.dir}/${e.name}`, `${dir}/${e.name}`);
  }
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
  await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify({ ...manifest, id }));
  return await holdFile(`${dir}/denoiser.onnx`);
}

/**
 * The server environment in which a model added by {@linkcode addHeldModel} holds its slot: the copy's
 * models, `digits` and `id`, loaded lazily, one job at a time.
 */
export function heldModelEnv(copy: ModelCopy, id = "held"): Record<string, string> {
  return { MODELS_DIR: copy.modelsDir, MODELS: `digits,${id}`, LOAD_MODELS: "lazy", CONCURRENCY: "1" };
}
