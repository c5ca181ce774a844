/**
 * Patch cache entries that pass the checksum but cannot be used, and writes that fail half-way.
 */
import { deepStrictEqual, equal } from "@std/assert";
import { join } from "node:path";
import onnx from "onnx-proto";
import { cachedPatch, type CacheOutcome, decodesAsPatchedOnnx, type PatchFn } from "../../sampler/mod.ts";

const req = { layers: "cross" as const, textInput: "text_states", path: "denoiser.onnx" };

/** A tiny ONNX model with one node and a `guidance_eta` input, as a patch result. */
function onnxModel(): Uint8Array {
  // protobufjs gives a Node Buffer: copy it into a plain Uint8Array like the ones read from disk.
  return Uint8Array.from(
    onnx.onnx.ModelProto.encode({
      irVersion: 8,
      graph: {
        name: "g",
        input: [{ name: "x" }, { name: "guidance_eta" }],
        output: [{ name: "y" }],
        node: [{ opType: "Identity", input: ["x"], output: ["y"] }],
      },
    }).finish(),
  );
}

function counting(model: () => Uint8Array) {
  let calls = 0;
  const patch: PatchFn = () => {
    calls++;
    return Promise.resolve({ model: model(), kinds: ["cross"], inputs: ["guidance_eta"] });
  };
  return { patch, calls: () => calls };
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("decodesAsPatchedOnnx() accepts a patched graph and refuses garbage or a graph without the inputs", () => {
  equal(decodesAsPatchedOnnx({ model: onnxModel(), kinds: ["cross"], inputs: ["guidance_eta"] }), true);
  equal(decodesAsPatchedOnnx({ model: onnxModel(), kinds: ["cross"], inputs: ["guidance_zeta"] }), false);
  equal(decodesAsPatchedOnnx({ model: new Uint8Array(4096).fill(7), kinds: ["cross"], inputs: [] }), false);
});

Deno.test("an entry whose checksum matches but which fails verify is discarded and the model re-patched", async () => {
  await using dir = await tempDir();
  const outcomes: CacheOutcome[] = [];
  const { patch, calls } = counting(onnxModel);
  const cached = cachedPatch(patch, dir.path, {
    version: "1",
    verify: decodesAsPatchedOnnx,
    onOutcome: (_p, o) => void outcomes.push(o),
  });
  const good = await cached(Uint8Array.of(1, 2), req);
  const onnxFile = [...Deno.readDirSync(dir.path)].find((e) => e.name.endsWith(".onnx"))!.name;
  const metaFile = join(dir.path, onnxFile.replace(/\.onnx$/, ".json"));
  // Bad bytes with a record that matches them: only the verify check can tell.
  const garbage = new Uint8Array(4096).fill(7);
  await Deno.writeFile(join(dir.path, onnxFile), garbage);
  const meta = JSON.parse(await Deno.readTextFile(metaFile));
  await Deno.writeTextFile(metaFile, JSON.stringify({ ...meta, sha256: await sha256(garbage) }));
  const rebuilt = await cached(Uint8Array.of(1, 2), req);
  const again = await cached(Uint8Array.of(1, 2), req);
  deepStrictEqual(outcomes, ["miss", "rebuilt", "hit"]);
  equal(calls(), 2);
  deepStrictEqual(rebuilt.model, good.model);
  deepStrictEqual(again.model, good.model);
});

Deno.test("a failed rename leaves no temporary file behind and the patch is still returned", async () => {
  await using dir = await tempDir();
  const outcomes: CacheOutcome[] = [];
  const { patch } = counting(onnxModel);
  const cached = cachedPatch(patch, dir.path, { version: "1", onOutcome: (_p, o) => void outcomes.push(o) });
  await cached(Uint8Array.of(3), req);
  const names = [...Deno.readDirSync(dir.path)].map((e) => e.name);
  deepStrictEqual(
    names.map((n) => n.replace(/^.*\./, "")).sort(),
    ["json", "onnx"],
    "the first call wrote the entry",
  );
  // A folder (not empty) where the entry's file goes makes the rename fail.
  for (const name of names) {
    await Deno.remove(join(dir.path, name));
    await Deno.mkdir(join(dir.path, name, "blocker"), { recursive: true });
  }
  const result = await cached(Uint8Array.of(3), req);
  deepStrictEqual(result.model, onnxModel());
  deepStrictEqual([...Deno.readDirSync(dir.path)].map((e) => e.name).sort(), [...names].sort());
  deepStrictEqual(outcomes, ["miss", "rebuilt"]);
});

async function tempDir(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix: "gag-patch-cache-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}
