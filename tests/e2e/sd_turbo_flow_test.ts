/**
 * The README's SD-Turbo flow on the miniature of the public export: the files in place, `deno task
 * fetch-model sd-turbo DIR --manifest-only`, then the real server with `MODELS=digits,sd-turbo`, on WebGPU
 * (float16 weights; Mesa llvmpipe has `shader-f16`) and, with `float32File` added, on wasm.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FLOAT32_FILES, writeSdModel } from "../fixtures/sd_model.ts";
import { imageSize } from "../_image.ts";
import { startServer } from "../_server.ts";
import { openSocket } from "../_client.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A models folder as a user has it: the shipped digits model and the SD-Turbo files, no manifest yet. */
async function modelsFolder(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "sd-turbo-flow-" });
  await Deno.symlink(join(ROOT, "models/digits"), join(dir, "digits"));
  await writeSdModel(dir, "sd-turbo", { manifest: false });
  const fetch = await new Deno.Command(Deno.execPath(), {
    args: ["task", "fetch-model", "sd-turbo", join(dir, "sd-turbo"), "--manifest-only"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const said = new TextDecoder().decode(fetch.stdout) + new TextDecoder().decode(fetch.stderr);
  assert.equal(fetch.code, 0, said);
  assert.match(said, /wrote .*sd-turbo\/manifest\.json/);
  return dir;
}

/** One 1-step GAG image over HTTP, then the same seed over the socket with previews: the same bytes. */
async function generateBoth(env: Record<string, string>): Promise<Uint8Array> {
  await using server = await startServer({ env });
  const models = await (await fetch(`${server.url}/api/models`)).json();
  assert.deepEqual(models.models.map((m: { id: string }) => m.id), ["digits", "sd-turbo"]);
  const body = {
    model: "sd-turbo",
    prompt: "a photo of a red cat",
    steps: 2,
    seed: 9,
    guidance: { mode: "gag" },
  };
  const res = await fetch(`${server.url}/api/generate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.clone().text().catch(() => ""));
  const http = new Uint8Array(await res.arrayBuffer());
  assert.deepEqual(imageSize(http), { width: 512, height: 512, format: "png" });
  await using ws = await openSocket(server.wsUrl);
  ws.send({ type: "generate", id: "sd", ...body, previews: { every: 1, format: "png", size: 64 } });
  const frames = (await ws.job("sd", 120_000)).flatMap((m) => (m.kind === "frame" ? [m.frame] : []));
  assert.deepEqual(frames.filter((f) => f.kind === "preview").map((f) => f.step), [1]);
  assert.deepEqual(frames.find((f) => f.kind === "final")?.image, http, "HTTP and WS give the same bytes");
  return http;
}

Deno.test({
  name: "SD-Turbo files placed by hand, fetch-model --manifest-only and the server give an image on WebGPU",
  async fn() {
    // Mesa complains on every adapter request without a runtime folder; one made here is removed after.
    const runtimeDir = Deno.env.get("XDG_RUNTIME_DIR") ? null : await Deno.makeTempDir({ prefix: "xdg-" });
    if (runtimeDir) Deno.env.set("XDG_RUNTIME_DIR", runtimeDir);
    try {
      assert.ok(
        await navigator.gpu?.requestAdapter(),
        "No WebGPU adapter: apt-get install -y mesa-vulkan-drivers libvulkan1",
      );
      const dir = await modelsFolder();
      try {
        await generateBoth({ MODELS_DIR: dir, MODELS: "digits,sd-turbo", BACKEND: "webgpu" });
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    } finally {
      if (runtimeDir) {
        Deno.env.delete("XDG_RUNTIME_DIR");
        await Deno.remove(runtimeDir, { recursive: true });
      }
    }
  },
});

Deno.test({
  name: "the same SD-Turbo folder with float32 variants as 'float32File' gives an image on wasm",
  async fn() {
    const dir = await modelsFolder();
    try {
      const path = join(dir, "sd-turbo/manifest.json");
      const manifest = JSON.parse(await Deno.readTextFile(path));
      for (const [c, file] of Object.entries(FLOAT32_FILES)) manifest[c].float32File = file;
      await Deno.writeTextFile(path, JSON.stringify(manifest, null, 2));
      await generateBoth({ MODELS_DIR: dir, MODELS: "digits,sd-turbo", BACKEND: "wasm" });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
