/**
 * Faults the real server meets at start or on first use: a model that cannot load in lazy mode, and a
 * patched-model cache entry that matches its checksum but is not a model.
 */
import { equal, match, ok } from "@std/assert";
import { join } from "node:path";
import { startServer } from "../_server.ts";
import { postGenerate } from "../_client.ts";

const DIGITS = new URL("../../models/digits/", import.meta.url).pathname;

/** A models folder holding a copy of the embedded model, removed on dispose. */
async function digitsCopy(): Promise<
  { modelsDir: string; dir: string; [Symbol.asyncDispose](): Promise<void> }
> {
  const modelsDir = await Deno.makeTempDir({ prefix: "gag-models-" });
  const dir = join(modelsDir, "digits");
  await Deno.mkdir(dir);
  for await (const e of Deno.readDir(DIGITS)) {
    if (e.isFile) await Deno.copyFile(join(DIGITS, e.name), join(dir, e.name));
  }
  return { modelsDir, dir, [Symbol.asyncDispose]: () => Deno.remove(modelsDir, { recursive: true }) };
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test({
  name: "in lazy mode a model that cannot load gives 500 without server paths and /healthz turns 503",
  async fn() {
    await using copy = await digitsCopy();
    await Deno.writeFile(join(copy.dir, "denoiser.onnx"), new Uint8Array(4096).fill(7));
    await using server = await startServer({
      env: { BACKEND: "wasm", LOAD_MODELS: "lazy", MODELS_DIR: copy.modelsDir },
    });
    const before = await fetch(`${server.url}/healthz`);
    await before.body?.cancel();
    equal(before.status, 200, "nothing is loaded before the first job");
    const res = await postGenerate(server.url, { prompt: "a one", steps: 1 });
    equal(res.status, 500);
    const { error } = await res.json();
    equal(error.code, "internal");
    match(error.message, /digits\/denoiser\.onnx/);
    ok(!error.message.includes(copy.modelsDir), error.message);
    ok(!/(^|[\s'"(])\/\w+\/\w+/.test(error.message), `no absolute path: ${error.message}`);
    const health = await fetch(`${server.url}/healthz`);
    equal(health.status, 503);
    const body = await health.json();
    equal(body.status, "failed");
    ok(
      typeof body.failed?.digits === "string" && !body.failed.digits.includes(copy.modelsDir),
      JSON.stringify(body),
    );
  },
});

Deno.test({
  name: "a cached patched model that matches its checksum but is not a model is rebuilt at start",
  async fn(t) {
    const cacheDir = await Deno.makeTempDir({ prefix: "gag-cache-" });
    try {
      const env = { BACKEND: "wasm", CACHE_DIR: cacheDir };
      await t.step("a first start fills the cache", async () => {
        await using _server = await startServer({ env });
      });
      const patched = join(cacheDir, "patched");
      const entries = [...Deno.readDirSync(patched)].map((e) => e.name);
      const onnxFile = entries.find((n) => n.endsWith(".onnx")) ?? "";
      ok(onnxFile, entries.join(" "));
      const garbage = new Uint8Array(4096).fill(7);
      await Deno.writeFile(join(patched, onnxFile), garbage);
      const metaFile = join(patched, onnxFile.replace(/\.onnx$/, ".json"));
      const meta = JSON.parse(await Deno.readTextFile(metaFile));
      await Deno.writeTextFile(metaFile, JSON.stringify({ ...meta, sha256: await sha256(garbage) }));

      await t.step("the next start discards the entry, patches again and serves", async () => {
        await using server = await startServer({ env });
        const res = await postGenerate(server.url, { prompt: "a one", steps: 1 });
        equal(res.status, 200);
        await res.body?.cancel();
        const bytes = await Deno.readFile(join(patched, onnxFile));
        ok(bytes.length > garbage.length, "the entry holds a patched model again");
        equal([...Deno.readDirSync(patched)].filter((e) => e.name.endsWith(".tmp")).length, 0);
      });
    } finally {
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});
