/**
 * The pipeline of a Stable-Diffusion-style latent model such as SD-Turbo: CLIP tokenizer and text
 * encoder, a guidance-patched ε-prediction UNet sampled with Euler over the σ schedule, latent2rgb or
 * TAESD previews, and the VAE for the final image.
 *
 * @module
 */
import { join } from "node:path";
import type { Backend, Session, TensorData, TensorValue } from "./backend.ts";
import { createCfgCombiner } from "./cfg.ts";
import { sampleEulerEpsilon } from "./euler.ts";
import type { Pipeline } from "./flow_pipeline.ts";
import { guidanceFeeds, type PatchFn } from "./guidance_feeds.ts";
import type { SdManifest } from "./manifest.ts";
import { openSession, readModelFile, readTokenizer, textEncoding } from "./model_files.ts";
import { decodePreview, planarToRgba, type Rgba } from "./preview.ts";
import { pipelineMethods, type PipelineParts } from "./_pipeline_methods.ts";
import { sdTurboSchedule } from "./schedules.ts";

type Component = { file: string; dtype: "float32" | "float16"; float32File?: string };

/** The file and element type of a component on this backend (float32 variant without float16 support). */
function pick(c: Component, backend: Backend, dir: string): { file: string; dtype: "float32" | "float16" } {
  if (c.dtype === "float16" && !backend.float16) {
    if (c.float32File) return { file: c.float32File, dtype: "float32" };
    throw new Error(
      `Cannot load model file ${join(dir, c.file)} as it is float16 and the ${backend.name} backend has no ` +
        `float16 support (WebGPU with shader-f16 has); add a float32 variant as 'float32File' in the manifest`,
    );
  }
  return { file: c.file, dtype: c.dtype };
}

function cast(data: Float32Array, dtype: "float32" | "float16"): Float32Array | Float16Array {
  return dtype === "float16" ? Float16Array.from(data) : data;
}

function toFloat32(data: TensorData): Float32Array {
  if (data instanceof Float32Array) return data;
  if (data instanceof Float16Array) return Float32Array.from(data);
  throw new Error(`Cannot read a float tensor from ${data.constructor.name}`);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Loads an SD-style model from `dir`. */
export async function loadSdPipeline(
  dir: string,
  manifest: SdManifest,
  backend: Backend,
  patch: PatchFn,
): Promise<Pipeline> {
  const tokenizer = await readTokenizer(dir, manifest.tokenizer);
  const te = manifest.textEncoder, un = manifest.unet, va = manifest.vae;
  const teFile = pick(te, backend, dir), unFile = pick(un, backend, dir), vaFile = pick(va, backend, dir);
  const open = async (f: string, types: Record<string, string>, outputs: string[], bytes?: Uint8Array) => {
    const inputs = Object.keys(types).filter((n) => !outputs.includes(n));
    return await openSession(
      backend,
      bytes ?? await readModelFile(dir, f),
      join(dir, f),
      inputs,
      outputs,
      types,
    );
  };
  const textEncoder = await open(teFile.file, { [te.input]: te.inputType, [te.output]: teFile.dtype }, [
    te.output,
  ]);
  const patched = await patch(await readModelFile(dir, unFile.file), {
    layers: manifest.guidance.layers,
    textInput: un.inputs.text,
    path: join(dir, unFile.file),
  });
  const unet = await open(
    unFile.file,
    {
      [un.inputs.sample]: unFile.dtype,
      [un.inputs.timestep]: un.timestepType,
      [un.inputs.text]: unFile.dtype,
      [un.output]: unFile.dtype,
    },
    [un.output],
    patched.model,
  );
  const vae = await open(vaFile.file, { [va.input]: vaFile.dtype, [va.output]: vaFile.dtype }, [va.output]);
  const pd = manifest.previewDecoder;
  let previewDecoder: Session | undefined;
  let pdFile: { file: string; dtype: "float32" | "float16" } | undefined;
  if (pd) {
    pdFile = pick(pd, backend, dir);
    if (await exists(join(dir, pdFile.file))) {
      previewDecoder = await open(pdFile.file, { [pd.input]: pdFile.dtype, [pd.output]: pdFile.dtype }, [
        pd.output,
      ]);
    }
  }
  const { channels, width, height, scalingFactor } = manifest.latent;
  const size = channels * width * height;

  const encodeText = textEncoding(tokenizer, textEncoder, te);

  const decodeImage = async (
    session: Session,
    input: string,
    output: string,
    dtype: "float32" | "float16",
    latent: Float32Array,
  ) => {
    const out = await session.run({
      [input]: { data: cast(latent, dtype), dims: [1, channels, height, width] },
    });
    const img = out[output];
    const [, c, h, w] = img.dims;
    return planarToRgba(toFloat32(img.data), c, w, h);
  };

  const render = (x0: Float32Array): Promise<Rgba> =>
    previewDecoder && pd && pdFile
      ? decodeImage(
        previewDecoder,
        pd.input,
        pd.output,
        pdFile.dtype,
        pd.scale === 1 ? x0 : x0.map((v) => v * pd.scale),
      )
      : decodePreview({ x: x0, channels, width, height, method: manifest.preview });

  const finalImage = (x: Float32Array) =>
    decodeImage(vae, va.input, va.output, vaFile.dtype, x.map((v) => v / scalingFactor));

  const sample: PipelineParts["sample"] = async (prompts, noise, r, options) => {
    const n = prompts.length, cfg = r.cfg > 1, batch = cfg ? 2 * n : n, total = n * size;
    options.signal?.throwIfAborted();
    const text = await encodeText(cfg ? [...prompts, ...prompts.map(() => r.negativePrompt)] : prompts);
    const states: TensorValue = {
      data: cast(toFloat32(text.states.data), unFile.dtype),
      dims: text.states.dims,
    };
    const gFeeds = guidanceFeeds(patched.inputs, r.guidance);
    const combine = createCfgCombiner(r.cfg, r.apg);
    const { sigmas, timesteps } = sdTurboSchedule(r.steps, manifest.schedule);
    const epsilon = async (xScaled: Float32Array, sigma: number, i: number) => {
      const xs = cfg ? new Float32Array(2 * total) : xScaled;
      if (cfg) xs.set(xScaled), xs.set(xScaled, total);
      const t = timesteps[i];
      const timestep: TensorValue = un.timestepType === "int64"
        ? { data: BigInt64Array.of(BigInt(t)), dims: [1] }
        : { data: cast(Float32Array.of(t), un.timestepType), dims: [1] };
      const out = await unet.run({
        [un.inputs.sample]: { data: cast(xs, unFile.dtype), dims: [batch, channels, height, width] },
        [un.inputs.timestep]: timestep,
        [un.inputs.text]: states,
        ...gFeeds,
      });
      const eps = toFloat32(out[un.output].data);
      if (!cfg) return eps;
      // Guidance acts on clean-sample predictions x̂ = x − σ·ε, then back to ε.
      const c = Math.sqrt(sigma * sigma + 1);
      const x0 = (e: Float32Array) => e.map((ej, j) => xScaled[j] * c - sigma * ej);
      const guided = combine(x0(eps.subarray(0, total)), x0(eps.subarray(total)), n);
      return guided.map((d, j) => (xScaled[j] * c - d) / sigma);
    };
    const start = noise.map((v) => v * sigmas[0]);
    return { x: await sampleEulerEpsilon(epsilon, start, sigmas, options), unknown: text.unknown };
  };

  return {
    manifest,
    patched: patched.kinds,
    encodeText,
    ...pipelineMethods({ manifest, kinds: patched.kinds, size, sample, preview: render, final: finalImage }),
    async release() {
      for (const s of [textEncoder, unet, vae, previewDecoder]) await s?.release();
    },
  };
}
