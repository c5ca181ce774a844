/**
 * The pipeline of a Stable-Diffusion-style latent model such as SD-Turbo: CLIP tokenizer and text
 * encoder, a guidance-patched ε-prediction UNet sampled with Euler over the σ schedule, latent2rgb or
 * TAESD previews, and the VAE for the final image.
 *
 * @module
 */
import type { Backend, TensorValue } from "./backend.ts";
import { castFloat, FLOATS, toFloat32 } from "./_floats.ts";
import { createCfgCombiner } from "./cfg.ts";
import { sampleEulerEpsilon } from "./euler.ts";
import type { Pipeline } from "./pipeline.ts";
import type { PatchFn } from "./guidance_patch.ts";
import { jobGuidanceFeeds } from "./job_feeds.ts";
import type { SdManifest } from "./manifest.ts";
import {
  openTypedSession,
  readExternalData,
  readModelFile,
  readTokenizer,
  type TensorRule,
} from "./model_files.ts";
import type { ModelSource } from "./model_source.ts";
import { textEncoding } from "./text.ts";
import { decodePreview, planarToRgba, type Rgba } from "./preview.ts";
import { openPreviewDecoder } from "./preview_decoder.ts";
import { pipelineMethods, type PipelineParts } from "./_pipeline_methods.ts";
import { sdTurboSchedule } from "./schedules.ts";

type Float = "float32" | "float16";
type Component = { file: string; weights: Float; io: Float; float32File?: string };

const float = (c: Component) => ({ allowed: FLOATS, declared: c.io });

/** The file of a component for this backend: its float32 variant where float16 weights cannot run. */
function pick(c: Component, backend: Backend, source: ModelSource): string {
  if (c.weights === "float16" && !backend.float16) {
    if (c.float32File) return c.float32File;
    const path = source.path(c.file);
    throw new Error(
      `Cannot load model file ${path} as its weights are float16 and the ${backend.name} backend has no ` +
        `float16 support (WebGPU with shader-f16 has); add a float32 variant as 'float32File' in the manifest`,
    );
  }
  return c.file;
}

/**
 * Loads an SD-style model from its source.
 *
 * @param log where a warning goes when the optional preview decoder cannot be used
 */
export async function loadSdPipeline(
  source: ModelSource,
  manifest: SdManifest,
  backend: Backend,
  patch: PatchFn,
  log: (message: string) => void = console.warn,
): Promise<Pipeline> {
  const tokenizer = await readTokenizer(source, manifest.tokenizer);
  const te = manifest.textEncoder, un = manifest.unet, va = manifest.vae;
  const open = async (
    file: string,
    tensors: Record<string, TensorRule>,
    outputs: string[],
    { bytes, dimensions }: { bytes?: Uint8Array; dimensions?: Record<string, number> } = {},
  ) => {
    const externalData = await readExternalData(source, file);
    if (externalData && backend.name === "native") {
      throw new Error(
        `Cannot load model file ${source.path(file)} as its weights are in ${externalData[0].path}, which ` +
          `the native backend cannot read from memory: use BACKEND=wasm or webgpu`,
      );
    }
    // SD components are gigabytes: the large-model settings keep onnxruntime from holding extra copies.
    return await openTypedSession(
      backend,
      bytes ?? await readModelFile(source, file),
      source.path(file),
      tensors,
      outputs,
      { optimization: manifest.optimization, large: true, externalData, dimensions },
    );
  };
  const teFile = pick(te, backend, source);
  const textEncoder = await open(
    teFile,
    {
      [te.input]: { allowed: ["int32", "int64"], declared: te.inputType },
      [te.output]: float(te),
    },
    [te.output],
    { dimensions: te.dimensions },
  );
  const unFile = pick(un, backend, source);
  const patched = await patch(await readModelFile(source, unFile), {
    layers: manifest.guidance.layers,
    textInput: un.inputs.text,
    path: source.path(unFile),
  });
  const unet = await open(
    unFile,
    {
      [un.inputs.sample]: float(un),
      [un.inputs.timestep]: { allowed: ["int64", "int32", ...FLOATS], declared: un.timestepType },
      [un.inputs.text]: float(un),
      [un.output]: float(un),
    },
    [un.output],
    { bytes: patched.model, dimensions: un.dimensions },
  );
  const vaFile = pick(va, backend, source);
  const vae = await open(vaFile, { [va.input]: float(va), [va.output]: float(va) }, [va.output], {
    dimensions: va.dimensions,
  });
  const previewDecoder = manifest.previewDecoder &&
    await openPreviewDecoder({
      source,
      decoder: manifest.previewDecoder,
      latent: manifest.latent,
      backend,
      log,
    });
  const { channels, width, height, scalingFactor } = manifest.latent;
  const size = channels * width * height;

  const encodeText = textEncoding(tokenizer, textEncoder.session, {
    ...te,
    inputType: textEncoder.types[te.input] as "int32" | "int64",
  });

  const render = (x0: Float32Array): Promise<Rgba> =>
    previewDecoder?.render(x0) ?? decodePreview({ x: x0, channels, width, height, method: manifest.preview });

  /** The VAE on one final latent [1, channels, height, width], unscaled by the latent scaling factor. */
  const finalImage = async (x: Float32Array) => {
    const latent = x.map((v) => v / scalingFactor);
    const out = await vae.session.run({
      [va.input]: { data: castFloat(latent, vae.types[va.input]), dims: [1, channels, height, width] },
    });
    const img = out[va.output];
    const [, c, h, w] = img.dims;
    return planarToRgba(toFloat32(img.data), c, w, h);
  };

  const sampleType = unet.types[un.inputs.sample], textType = unet.types[un.inputs.text];
  const timestepType = unet.types[un.inputs.timestep];
  const sample: PipelineParts["sample"] = async (prompts, noise, r, options) => {
    const n = prompts.length, cfg = r.cfg > 1, batch = cfg ? 2 * n : n, total = n * size;
    options.signal?.throwIfAborted();
    const text = await encodeText(cfg ? [...prompts, ...prompts.map(() => r.negativePrompt)] : prompts);
    const states: TensorValue = {
      data: castFloat(toFloat32(text.states.data), textType),
      dims: text.states.dims,
    };
    const gFeeds = jobGuidanceFeeds(patched.inputs, r.guidance);
    const combine = createCfgCombiner(r.cfg, r.apg);
    const { sigmas, timesteps } = sdTurboSchedule(r.steps, manifest.schedule);
    const epsilon = async (xScaled: Float32Array, sigma: number, i: number) => {
      const xs = cfg ? new Float32Array(2 * total) : xScaled;
      if (cfg) xs.set(xScaled), xs.set(xScaled, total);
      const t = timesteps[i];
      const timestep: TensorValue = {
        data: timestepType === "int64"
          ? BigInt64Array.of(BigInt(t))
          : timestepType === "int32"
          ? Int32Array.of(t)
          : castFloat(Float32Array.of(t), timestepType),
        dims: [1],
      };
      const out = await unet.session.run({
        [un.inputs.sample]: { data: castFloat(xs, sampleType), dims: [batch, channels, height, width] },
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
    const x = await sampleEulerEpsilon(epsilon, start, sigmas, options);
    return { x, unknown: text.unknown, truncated: text.truncated };
  };

  return {
    manifest,
    patched: patched.kinds,
    encodeText,
    ...pipelineMethods({ manifest, kinds: patched.kinds, size, sample, preview: render, final: finalImage }),
    async release() {
      for (const s of [textEncoder, unet, vae]) await s.session.release();
      await previewDecoder?.release();
    },
  };
}
