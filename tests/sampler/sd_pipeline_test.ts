import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type BackendName,
  createBackend,
  createTextTokenizer,
  fileSource,
  guidancePatch,
} from "../../sampler/mod.ts";
import { parseManifest, type SdManifest } from "../../sampler/manifest.ts";
import { loadSdPipeline } from "../../sampler/sd_pipeline.ts";
import { clipTokenizerJson, FLOAT32_FILES, writeSdModel } from "../fixtures/sd_model.ts";
import { imageSize } from "../_image.ts";
import type { Rgba } from "../../sampler/preview.ts";
import { startServer } from "../_server.ts";
import { openSocket } from "../_client.ts";
import { nativeTest } from "../_native_child.ts";
import { folderEngine, withFolderEngine } from "../_engine.ts";

/** One folder holds this file's model folders and goes when the test process ends. */
const TEMP = await Deno.makeTempDir({ prefix: "sd-pipeline-" });
globalThis.addEventListener("unload", () => Deno.removeSync(TEMP, { recursive: true }));

/** A new empty folder under {@linkcode TEMP}. */
const tempDir = () => Deno.makeTempDir({ dir: TEMP });

/** Reads the manifest in a model folder, lets `change` edit it, and writes it back. */
async function editManifest(root: string, change: (m: Record<string, Record<string, unknown>>) => void) {
  const m = JSON.parse(await Deno.readTextFile(join(root, "manifest.json")));
  change(m);
  await Deno.writeTextFile(join(root, "manifest.json"), JSON.stringify(m));
}

/** Writes the SD fixture into a new temporary models folder, its manifest edited by `change` when given. */
async function freshSdModel(
  change?: (m: Record<string, Record<string, unknown>>) => void,
): Promise<{ dir: string; root: string }> {
  const dir = await tempDir();
  const root = await writeSdModel(dir);
  if (change) await editManifest(root, change);
  return { dir, root };
}

Deno.test("the CLIP BPE tokenizer wraps the prompt in start/end tokens and pads to 77", () => {
  const json = clipTokenizerJson();
  const vocab = (json.model as { vocab: Record<string, number> }).vocab;
  const tok = createTextTokenizer(json, {
    length: 77,
    padToken: "!",
    bos: "<|startoftext|>",
    eos: "<|endoftext|>",
  });
  const { ids } = tok.encode("A  RED cat");
  assert.equal(ids.length, 77);
  assert.deepEqual(ids.slice(0, 6), [
    vocab["<|startoftext|>"],
    vocab["a</w>"],
    vocab["red</w>"],
    vocab["cat</w>"],
    vocab["<|endoftext|>"],
    vocab["!"],
  ]);
  assert.equal(
    tok.encode("cat ".repeat(100)).ids.at(-1),
    vocab["<|endoftext|>"],
    "a long prompt is cut, keeping the end token",
  );
});

for (const backend of ["wasm", "webgpu"] as const) {
  Deno.test({
    name:
      `an SD-Turbo-layout model runs 1 and 4 steps with GAG, latent2rgb previews and the VAE on ${backend}`,
    async fn() {
      if (backend === "webgpu") {
        assert.ok(
          await navigator.gpu?.requestAdapter(),
          "No WebGPU adapter: apt-get install -y mesa-vulkan-drivers libvulkan1",
        );
      }
      const dir = await tempDir();
      await writeSdModel(dir);
      await withFolderEngine(dir, backend, async (engine) => {
        assert.deepEqual(
          engine.pipeline("tiny-sd").patched,
          ["cross"],
          "the fp16 MultiHeadAttention cross-attention is patched",
        );
        for (const steps of [1, 4]) {
          const previews: number[] = [];
          const gen = await engine.generate(
            engine.prepare({ prompt: "a photo of a red cat", steps, seed: 5, guidance: { mode: "gag" } }),
            { onStep: async (s) => void previews.push((await s.render()).width) },
          );
          assert.deepEqual(previews, Array(steps).fill(8), "latent2rgb previews are latent-sized");
          assert.equal(gen.image.width, 64);
          assert.equal(gen.image.height, 64);
        }
        const none = await engine.generate(engine.prepare({ prompt: "a red cat", steps: 2, seed: 5 }));
        const gag = await engine.generate(engine.prepare({
          prompt: "a red cat",
          steps: 2,
          seed: 5,
          guidance: { mode: "gag", scale: 20 },
        }));
        assert.notDeepEqual(none.image.data, gag.image.data, "guidance changes the image");
      });
    },
  });
}

Deno.test({
  name: "a TAESD decoder decodes the previews at image size, the same in its [-1, 1] and [0, 1] forms",
  async fn() {
    const previews: Record<string, Uint8ClampedArray[]> = {};
    for (const taesd of ["diffusers", "original"] as const) {
      const dir = await tempDir();
      await writeSdModel(dir, "tiny-sd", { taesd });
      await withFolderEngine(dir, "wasm", async (engine) => {
        const images: Rgba[] = [];
        await engine.generate(engine.prepare({ prompt: "a dog", steps: 2, seed: 1 }), {
          onStep: async (s) => void images.push(await s.render()),
        });
        assert.deepEqual(images.map((i) => i.width), [64, 64], taesd);
        previews[taesd] = images.map((i) => i.data);
      });
    }
    assert.ok(previews.original[1].some((v, i) => i % 4 !== 3 && v !== 255 && v !== 0), "not saturated");
    assert.deepEqual(previews.original, previews.diffusers, "the [0, 1] form is mapped to [-1, 1]");
  },
});

Deno.test({
  name: "the fixture UNet has a self- and a cross-attention, and its text encoder is causal",
  async fn() {
    const { dir } = await freshSdModel((m) => {
      m.guidance.layers = "all";
    });
    await withFolderEngine(dir, "wasm", async (engine) => {
      const pipeline = engine.pipeline("tiny-sd");
      assert.deepEqual([...pipeline.patched].sort(), ["cross", "self"]);
      // A causal encoder: tokens up to the end token do not see the padding; the pad positions do.
      const states = (await pipeline.encodeText(["a red cat", "a red cat dog"])).states.data as Float32Array;
      const row = (b: number, t: number) =>
        Array.from(states.subarray((b * 77 + t) * 16, (b * 77 + t + 1) * 16));
      for (let t = 0; t < 4; t++) assert.deepEqual(row(0, t), row(1, t), `position ${t}`);
      assert.notDeepEqual(row(0, 4), row(1, 4));
      assert.notDeepEqual(row(0, 40), row(1, 40), "pad states depend on the prompt");
    });
  },
});

Deno.test({
  name: "the fixture shows a wrong pad id: padding with the end token instead of '!' changes the image",
  async fn() {
    const images: Uint8ClampedArray[] = [];
    for (const padToken of ["!", "<|endoftext|>"]) {
      const { dir } = await freshSdModel((m) => {
        m.tokenizer.padToken = padToken;
      });
      await withFolderEngine(dir, "wasm", async (engine) => {
        images.push(
          (await engine.generate(engine.prepare({ prompt: "a red cat", steps: 1, seed: 2 }))).image.data,
        );
      });
    }
    assert.notDeepEqual(images[1], images[0]);
  },
});

Deno.test({
  name: "a UNet whose weights are in external data gives the same image as with them inline",
  async fn() {
    const images: Uint8ClampedArray[] = [];
    for (const externalData of [false, true]) {
      const dir = await tempDir();
      await writeSdModel(dir, "tiny-sd", { externalData });
      assert.equal(
        await Deno.stat(join(dir, "tiny-sd/unet/model.float32.onnx_data")).then(() => true, () => false),
        externalData,
      );
      await withFolderEngine(dir, "wasm", async (engine) => {
        const job = engine.prepare({ prompt: "a red cat", steps: 2, seed: 4, guidance: { mode: "gag" } });
        images.push((await engine.generate(job)).image.data);
      });
    }
    assert.deepEqual(images[1], images[0]);
  },
});

Deno.test({
  name: "a missing, float16-only or mismatched preview decoder falls back to latent2rgb with one warning",
  async fn() {
    const backend = await createBackend("wasm");
    const cases: [string, (m: Record<string, Record<string, unknown>>) => void, boolean, RegExp][] = [
      ["missing", () => {}, false, /taesd_decoder\/model\.float32\.onnx is not there/],
      ["float16 only", (m) => delete m.previewDecoder.float32File, true, /float16/],
      ["other tensor names", (m) => m.previewDecoder.output = "image", true, /output 'image'/],
      ["not a decoder", (m) => m.previewDecoder.float32File = FLOAT32_FILES.unet, true, /input/],
    ];
    for (const [what, change, taesd, warning] of cases) {
      const dir = await tempDir();
      const root = await writeSdModel(dir, "tiny-sd", { taesd });
      const manifest = JSON.parse(await Deno.readTextFile(join(root, "manifest.json")));
      change(manifest);
      const warnings: string[] = [];
      const pipeline = await loadSdPipeline(
        fileSource(root),
        parseManifest(manifest, what) as SdManifest,
        backend,
        guidancePatch,
        (m) => warnings.push(m),
      );
      try {
        assert.equal(warnings.length, 1, `${what}: ${warnings.join(" | ")}`);
        assert.match(warnings[0], warning, what);
        const sizes: number[] = [];
        await pipeline.generate(pipeline.prepare({ prompt: "a dog", steps: 2, seed: 1 }), {
          onStep: async (s) => void sizes.push((await s.render()).width),
        });
        assert.deepEqual(sizes, [8, 8], `${what}: latent2rgb previews`);
      } finally {
        await pipeline.release();
      }
    }
  },
});

Deno.test({
  name: "an SD-Turbo-layout model is served over HTTP and WS with the same bytes for the same seed",
  async fn() {
    const dir = await tempDir();
    await writeSdModel(dir);
    await using server = await startServer({ env: { MODELS_DIR: dir, BACKEND: "wasm" } });
    const models = await (await fetch(`${server.url}/api/models`)).json();
    assert.equal(models.models[0].id, "tiny-sd");
    const body = { prompt: "a blue dog", steps: 4, seed: 77, guidance: { mode: "gag" } };
    const res = await fetch(`${server.url}/api/generate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    const http = new Uint8Array(await res.arrayBuffer());
    assert.deepEqual(imageSize(http), { width: 64, height: 64, format: "png" });
    await using ws = await openSocket(server.wsUrl);
    ws.send({ type: "generate", id: "sd", ...body, previews: { every: 1, format: "png", size: 32 } });
    const messages = await ws.job("sd", 60_000);
    const frames = messages.flatMap((m) => (m.kind === "frame" ? [m.frame] : []));
    assert.deepEqual(frames.filter((f) => f.kind === "preview").map((f) => f.step), [1, 2, 3]);
    const final = frames.find((f) => f.kind === "final")!;
    assert.deepEqual(final.image, http);
  },
});

/** Checks the boundary types onnxruntime reports for the fixture export on each backend. */
async function boundaryTypes(names: readonly BackendName[]) {
  const dir = await tempDir();
  try {
    const root = await writeSdModel(dir);
    const expected = {
      "text_encoder/model.onnx": { input_ids: "int32", last_hidden_state: "float32" },
      "unet/model.onnx": {
        sample: "float32",
        timestep: "int64",
        encoder_hidden_states: "float32",
        out_sample: "float32",
      },
      "vae_decoder/model.onnx": { latent_sample: "float32", sample: "float32" },
    };
    for (const name of names) {
      const backend = await createBackend(name);
      for (const [file, types] of Object.entries(expected)) {
        // The float16 files where float16 runs; the float32 variants (same boundary) elsewhere.
        const path = backend.float16 ? file : file.replace(".onnx", ".float32.onnx");
        const session = await backend.createSession(await Deno.readFile(join(root, path)), path);
        try {
          assert.deepEqual(session.types, types, `${name}: ${path}`);
        } finally {
          await session.release();
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "onnxruntime reports the export's boundary types on wasm and WebGPU (float16 inside)",
  fn: () => boundaryTypes(["wasm", "webgpu"]),
});

nativeTest(
  import.meta.url,
  "onnxruntime reports the export's boundary types on native (float32 variants)",
  () => boundaryTypes(["native"]),
);

Deno.test({
  name: "the manifest's sizes of symbolic dimensions reach onnxruntime",
  async fn() {
    const { dir } = await freshSdModel((m) => {
      (m.unet.dimensions as Record<string, number>).height = 16;
    });
    await withFolderEngine(dir, "wasm", async (engine) => {
      await assert.rejects(
        engine.generate(engine.prepare({ prompt: "a red cat", steps: 1, seed: 1 })),
        /sample.*Expected: 16/s,
      );
    });
  },
});

Deno.test({
  name: "boundary types come from the files, not from the manifest",
  async fn() {
    const { dir } = await freshSdModel((m) => {
      for (const c of ["textEncoder", "unet", "vae"]) m[c].io = "float16";
      m.textEncoder.inputType = "int64";
      m.unet.timestepType = "float32";
    });
    await withFolderEngine(dir, "wasm", async (engine) => {
      const gen = await engine.generate(engine.prepare({ prompt: "a red cat", steps: 2, seed: 3 }));
      assert.equal(gen.image.width, 64);
    });
  },
});

Deno.test({
  name: "a wrong SD model folder names the file and the tensor",
  async fn() {
    let f = await freshSdModel();
    await Deno.remove(join(f.root, FLOAT32_FILES.vae));
    await assert.rejects(folderEngine(f.dir), /vae_decoder\/model\.float32\.onnx/);

    f = await freshSdModel((m) => (m.unet.inputs as Record<string, string>).sample = "latents");
    await assert.rejects(
      folderEngine(f.dir),
      (e: Error) => e.message.includes("unet/model.float32.onnx") && e.message.includes("input 'latents'"),
    );

    f = await freshSdModel((m) => {
      (m.unet.inputs as Record<string, string>).sample = "timestep";
      (m.unet.inputs as Record<string, string>).timestep = "sample";
    });
    await assert.rejects(
      folderEngine(f.dir),
      (e: Error) =>
        e.message.includes("unet/model.float32.onnx") &&
        e.message.includes("'timestep' is int64, not float32 or float16"),
    );

    f = await freshSdModel((m) => delete m.unet.float32File);
    await assert.rejects(folderEngine(f.dir), /unet\/model\.onnx .*float16.*'float32File'/);

    f = await freshSdModel((m) => m.vae.dtype = "float16");
    await assert.rejects(folderEngine(f.dir), /'vae\.dtype' was split into 'weights'/);
  },
});
