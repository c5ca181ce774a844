/**
 * Reading a model through its {@linkcode ModelSource}: the manifest, its files, and sessions whose tensor
 * names match the manifest.
 *
 * @module
 */
import type { Backend, Session, SessionOptions } from "./backend.ts";
import { type Manifest, parseManifest } from "./manifest.ts";
import type { ModelSource } from "./model_source.ts";
import { createTextTokenizer, type TextTokenizer } from "./text.ts";

/** Reads and validates a model's `manifest.json`. */
export async function readManifest(source: ModelSource): Promise<Manifest> {
  const path = source.path("manifest.json");
  let text: string;
  try {
    text = await source.readText("manifest.json");
  } catch (e) {
    throw new Error(`Cannot load model '${source.id}' as ${path} cannot be read: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`Cannot load model manifest ${path} as it is not valid JSON: ${(e as Error).message}`);
  }
  return parseManifest(json, path);
}

/** Reads a file of a model, naming it when it is missing. */
export async function readModelFile(source: ModelSource, file: string): Promise<Uint8Array> {
  try {
    return await source.readBytes(file);
  } catch (e) {
    throw new Error(`Cannot load model file ${source.path(file)}: ${(e as Error).message}`);
  }
}

/**
 * The external data file a model has next to it by the common convention (`<file>_data`, as torch.onnx and
 * optimum write it), for onnxruntime-web's `externalData`; `undefined` when there is none.
 */
export async function readExternalData(
  source: ModelSource,
  file: string,
): Promise<{ path: string; data: Uint8Array }[] | undefined> {
  const name = `${file}_data`;
  if (!(await source.exists(name))) return undefined;
  return [{ path: name.slice(name.lastIndexOf("/") + 1), data: await readModelFile(source, name) }];
}

/**
 * Creates a session and checks that it has the named inputs and outputs with the element types the
 * manifest gives (`types`: tensor name → type), so a wrong manifest or a wrong file fails at start with
 * the file and tensor named.
 */
export async function openSession(
  backend: Backend,
  bytes: Uint8Array,
  path: string,
  inputs: readonly string[],
  outputs: readonly string[],
  types: Readonly<Record<string, string>> = {},
  options: SessionOptions = {},
): Promise<Session> {
  const session = await backend.createSession(bytes, path, options);
  const missingIn = inputs.filter((n) => !session.inputNames.includes(n));
  const missingOut = outputs.filter((n) => !session.outputNames.includes(n));
  if (missingIn.length || missingOut.length) {
    await session.release();
    const what = [
      ...missingIn.map((n) => `input '${n}'`),
      ...missingOut.map((n) => `output '${n}'`),
    ].join(", ");
    throw new Error(
      `Cannot load model file ${path} as it has no ${what} (inputs: ${session.inputNames.join(", ")}; ` +
        `outputs: ${session.outputNames.join(", ")})`,
    );
  }
  const wrong = Object.entries(types).filter(([name, type]) =>
    session.types[name] && session.types[name] !== type
  );
  if (wrong.length) {
    await session.release();
    throw new Error(
      `Cannot load model file ${path} as ` +
        wrong.map(([name, type]) =>
          `tensor '${name}' is ${session.types[name]}, not ${type} as the manifest says`
        ).join("; "),
    );
  }
  return session;
}

/** What one boundary tensor may be: the element types accepted and the one assumed where the runtime is silent. */
export interface TensorRule {
  allowed: readonly string[];
  declared: string;
}

/**
 * Creates a session and reads the element type of each named tensor from the file itself (as onnxruntime
 * reports it; `declared` where it does not), so an export whose boundary types differ from its weights' runs
 * as it is. Missing tensors or a type outside `allowed` fail with the file and tensor named.
 *
 * @param tensors tensor name → rule, inputs and outputs alike
 * @returns the session and each tensor's element type
 */
export async function openTypedSession(
  backend: Backend,
  bytes: Uint8Array,
  path: string,
  tensors: Readonly<Record<string, TensorRule>>,
  outputs: readonly string[],
  options: SessionOptions = {},
): Promise<{ session: Session; types: Record<string, string> }> {
  const inputs = Object.keys(tensors).filter((n) => !outputs.includes(n));
  const session = await openSession(backend, bytes, path, inputs, outputs, {}, options);
  const types = Object.fromEntries(
    Object.entries(tensors).map(([name, rule]) => [name, session.types[name] ?? rule.declared]),
  );
  const wrong = Object.entries(tensors).filter(([name, rule]) => !rule.allowed.includes(types[name]));
  if (wrong.length) {
    await session.release();
    throw new Error(
      `Cannot load model file ${path} as ` +
        wrong.map(([name, rule]) => `tensor '${name}' is ${types[name]}, not ${rule.allowed.join(" or ")}`)
          .join("; "),
    );
  }
  return { session, types };
}

/** Reads a model's tokenizer (a `tokenizer.json`) as its manifest describes it. */
export async function readTokenizer(
  source: ModelSource,
  options: Manifest["tokenizer"],
): Promise<TextTokenizer> {
  const bytes = await readModelFile(source, options.file);
  try {
    return createTextTokenizer(JSON.parse(new TextDecoder().decode(bytes)), options);
  } catch (e) {
    throw new Error(`Cannot load tokenizer ${source.path(options.file)}: ${(e as Error).message}`);
  }
}
