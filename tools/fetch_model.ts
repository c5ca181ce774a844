/**
 * Downloads a public model export into `models/<id>/` and writes its manifest.
 *
 * ```sh
 * deno task fetch-model sd-turbo [DIR] [--manifest-only]
 * ```
 *
 * Where the network does not reach the host, it fails at once and names every file to download and
 * where to put it, so the folder can be filled by hand.
 *
 * @module
 */
import { dirname, join } from "node:path";

/** SD 1.x/2.x latent → RGB preview factors (as published with ComfyUI's latent formats). */
const SD_LATENT_RGB = [[0.3512, 0.2297, 0.3227], [0.325, 0.4974, 0.235], [-0.2829, 0.1762, 0.2721], [
  -0.212,
  -0.2616,
  -0.7177,
]];

interface Source {
  files: Record<string, string>;
  manifest: (id: string) => Record<string, unknown>;
}

const HF = "https://huggingface.co";

/** Known models: files (target path → URL) and the manifest the product serves them with. */
export const SOURCES: Record<string, Source> = {
  "sd-turbo": {
    files: {
      "text_encoder/model.onnx": `${HF}/schmuell/sd-turbo-ort-web/resolve/main/text_encoder/model.onnx`,
      "unet/model.onnx": `${HF}/schmuell/sd-turbo-ort-web/resolve/main/unet/model.onnx`,
      "vae_decoder/model.onnx": `${HF}/schmuell/sd-turbo-ort-web/resolve/main/vae_decoder/model.onnx`,
      "tokenizer/tokenizer.json": `${HF}/Xenova/clip-vit-base-patch16/resolve/main/tokenizer.json`,
    },
    manifest: (id) => ({
      id,
      name: "SD-Turbo 512×512 (fp16, onnxruntime-web export)",
      kind: "sd",
      license: { weights: "Stability AI Non-Commercial Research Community License (sd-turbo)" },
      image: { width: 512, height: 512, channels: 3, range: [-1, 1] },
      latent: { channels: 4, width: 64, height: 64, scalingFactor: 0.18215 },
      // SD 2.x pads with "!" (id 0) as its diffusers tokenizer does.
      tokenizer: {
        file: "tokenizer/tokenizer.json",
        length: 77,
        padToken: "!",
        bos: "<|startoftext|>",
        eos: "<|endoftext|>",
      },
      // float16 weights and compute inside, float32 inputs and outputs (Casts at the boundary).
      textEncoder: {
        file: "text_encoder/model.onnx",
        weights: "float16",
        io: "float32",
        input: "input_ids",
        inputType: "int32",
        output: "last_hidden_state",
      },
      unet: {
        file: "unet/model.onnx",
        weights: "float16",
        io: "float32",
        inputs: { sample: "sample", timestep: "timestep", text: "encoder_hidden_states" },
        timestepType: "int64",
        output: "out_sample",
        dimensions: { num_channels: 4, height: 64, width: 64, sequence_length: 77 },
        prediction: "epsilon",
      },
      vae: {
        file: "vae_decoder/model.onnx",
        weights: "float16",
        io: "float32",
        input: "latent_sample",
        output: "sample",
        dimensions: { num_channels_latent: 4, height_latent: 64, width_latent: 64 },
      },
      previewDecoder: {
        file: "taesd_decoder/model.onnx",
        weights: "float16",
        io: "float32",
        input: "latent_sample",
        output: "sample",
      },
      sampler: "euler",
      steps: { default: 1, max: 4 },
      preview: { method: "latent2rgb", factors: SD_LATENT_RGB, bias: [0, 0, 0] },
      guidance: {
        layers: "cross",
        defaults: { pladis: { scale: 2 }, gag: { scale: 10, eta: 15, zeta: 0 } },
        ranges: { pladis: { scale: [0, 10] }, gag: { scale: [0, 30], eta: [0.5, 100], zeta: [0, 1] } },
      },
      cfg: { default: 1, max: 10 },
    }),
  },
};

const USAGE = `Usage: deno task fetch-model MODEL [DIR] [--manifest-only]

Downloads a public model export into DIR (default models/MODEL/) and writes its manifest.json.
  --manifest-only  write only the manifest, for files placed by hand (no network)
Models: ${Object.keys(SOURCES).join(", ")}`;

/** The command line: a model id, an optional folder, and flags anywhere. */
export function parseFetchArgs(
  args: string[],
): { id?: string; dir?: string; manifestOnly: boolean; help: boolean } {
  const flags = args.filter((a) => a.startsWith("-"));
  const unknown = flags.filter((f) => !["--manifest-only", "--help", "-h"].includes(f));
  if (unknown.length) throw new Error(`Cannot fetch a model as ${unknown[0]} is not an option\n${USAGE}`);
  const [id, dir] = args.filter((a) => !a.startsWith("-"));
  return {
    id,
    dir,
    manifestOnly: flags.includes("--manifest-only"),
    help: flags.some((f) => f !== "--manifest-only"),
  };
}

async function download(url: string, out: string): Promise<void> {
  await Deno.mkdir(dirname(out), { recursive: true });
  console.log(`${url} → ${out}`);
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`Cannot download ${url}: HTTP ${res.status}`);
  const tmp = `${out}.part`;
  await res.body.pipeTo((await Deno.open(tmp, { write: true, create: true, truncate: true })).writable);
  await Deno.rename(tmp, out);
}

/** Runs the command line; returns the exit code. */
export async function fetchModel(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseFetchArgs(args);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const { id, manifestOnly, help } = parsed;
  if (help) {
    console.log(USAGE);
    return 0;
  }
  const source = id === undefined ? undefined : SOURCES[id];
  if (!id || !source) {
    console.error(`Cannot fetch model '${id ?? ""}': known models are ${Object.keys(SOURCES).join(", ")}`);
    return 2;
  }
  const dir = parsed.dir ?? new URL(`../models/${id}`, import.meta.url).pathname;
  if (!manifestOnly) {
    const first = Object.values(source.files)[0];
    try {
      const res = await fetch(first, {
        method: "HEAD",
        redirect: "follow",
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
    } catch (e) {
      const list = Object.entries(source.files).map(([path, url]) => `  ${url}\n    → ${join(dir, path)}`);
      console.error(
        `Cannot fetch model '${id}' as ${new URL(first).host} cannot be reached: ${(e as Error).message}\n` +
          `Download these files by hand:\n${list.join("\n")}\n` +
          `then write the manifest with: deno task fetch-model ${id} ${dir} --manifest-only`,
      );
      return 1;
    }
    for (const [path, url] of Object.entries(source.files)) await download(url, join(dir, path));
  }
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "manifest.json"), JSON.stringify(source.manifest(id), null, 2) + "\n");
  console.log(`wrote ${join(dir, "manifest.json")}`);
  return 0;
}

if (import.meta.main) Deno.exit(await fetchModel(Deno.args));
