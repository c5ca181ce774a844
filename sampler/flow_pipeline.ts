/**
 * The pipeline of a pixel-space flow / shortcut model (the embedded digits model): tokenizer, text
 * encoder, a guidance-patched denoiser sampled with `sampleFlowEuler`, and identity previews.
 *
 * @module
 */
import type { PatchFn } from "./guidance_patch.ts";
import { jobGuidanceFeeds } from "./job_feeds.ts";
import type { Backend, TensorValue } from "./backend.ts";
import { type BatchingOptions, createBatcher } from "./batcher.ts";
import { createCfgCombiner } from "./cfg.ts";
import { sampleFlowEuler } from "./euler.ts";
import type { FlowManifest } from "./manifest.ts";
import type { ModelSource } from "./model_source.ts";
import { openSession, readModelFile, readTokenizer } from "./model_files.ts";
import { textEncoding } from "./text.ts";
import { decodePreview, type Rgba } from "./preview.ts";
import { pipelineMethods, type PipelineParts } from "./_pipeline_methods.ts";
import { flowTimes } from "./schedules.ts";
import type { Pipeline } from "./pipeline.ts";

/**
 * Loads a flow model from its source. Concurrent jobs share text-encoder and denoiser calls
 * (`batcher.ts`, with `batching`'s limits). The signature is a `PipelineLoader`'s plus `batching`; a flow model
 * has no optional file to report on, so `_log` is unused.
 */
export async function loadFlowPipeline(
  source: ModelSource,
  manifest: FlowManifest,
  backend: Backend,
  patch: PatchFn,
  _log?: (message: string) => void,
  batching: BatchingOptions = {},
): Promise<Pipeline> {
  const tokenizer = await readTokenizer(source, manifest.tokenizer);
  const te = manifest.textEncoder;
  const textEncoder = createBatcher(
    await openSession(
      backend,
      await readModelFile(source, te.file),
      source.path(te.file),
      [te.input],
      [te.output],
      { [te.input]: te.inputType, [te.output]: "float32" },
      { optimization: manifest.optimization },
    ),
    batching,
  );
  const dn = manifest.denoiser;
  const patched = await patch(await readModelFile(source, dn.file), {
    layers: manifest.guidance.layers,
    textInput: dn.inputs.text,
    path: source.path(dn.file),
  });
  const denoiser = createBatcher(
    await openSession(
      backend,
      patched.model,
      source.path(dn.file),
      [dn.inputs.sample, dn.inputs.time, dn.inputs.text, ...(dn.inputs.stepSize ? [dn.inputs.stepSize] : [])],
      [dn.output],
      Object.fromEntries([...Object.values(dn.inputs), dn.output].map((name) => [name, "float32"])),
      { optimization: manifest.optimization },
    ),
    batching,
  );
  const { width, height, channels } = manifest.image;
  const pixels = width * height * channels;

  const encodeText = textEncoding(tokenizer, textEncoder, te);

  const render = (x: Float32Array): Promise<Rgba> =>
    decodePreview({ x, channels, width, height, method: manifest.preview });

  /** Samples n prompts from n noise images (planar, concatenated) with one request's settings. */
  const sample: PipelineParts["sample"] = async (prompts, noise, r, options) => {
    const n = prompts.length;
    const cfg = r.cfg > 1;
    const batch = cfg ? 2 * n : n;
    options.signal?.throwIfAborted();
    // This job's calls join other jobs' calls; batches wait for its next call until it leaves.
    using _denoising = denoiser.join();
    const encoding = textEncoder.join();
    const { states, unknown, truncated } = await encodeText(
      cfg ? [...prompts, ...prompts.map(() => r.negativePrompt)] : prompts,
    ).finally(encoding.leave);
    const gFeeds = jobGuidanceFeeds(patched.inputs, r.guidance);
    const size = n * pixels;
    const combine = createCfgCombiner(r.cfg, r.apg);
    const velocity = async (x: Float32Array, t: number, dt: number) => {
      const xs = cfg ? new Float32Array(2 * size) : x;
      if (cfg) xs.set(x), xs.set(x, size);
      const feeds: Record<string, TensorValue> = {
        [dn.inputs.sample]: { data: xs, dims: [batch, channels, height, width] },
        [dn.inputs.time]: { data: new Float32Array(batch).fill(t), dims: [batch] },
        [dn.inputs.text]: states,
        ...gFeeds,
      };
      if (dn.inputs.stepSize) {
        feeds[dn.inputs.stepSize] = { data: new Float32Array(batch).fill(dt), dims: [batch] };
      }
      const v = (await denoiser.run(feeds, { signal: options.signal }))[dn.output].data as Float32Array;
      if (!cfg) return v;
      // Guidance acts on clean-sample predictions x̂ = x + (1 − t)·v, then back to a velocity.
      const k = 1 - t;
      const x0 = combine(
        v.subarray(0, size).map((vj, j) => x[j] + k * vj),
        v.subarray(size).map((vj, j) => x[j] + k * vj),
        n,
      );
      return x0.map((d, j) => (d - x[j]) / k);
    };
    const x = await sampleFlowEuler(velocity, noise, flowTimes(r.steps), options);
    return { x, unknown, truncated };
  };

  return {
    manifest,
    patched: patched.kinds,
    encodeText,
    ...pipelineMethods({
      manifest,
      kinds: patched.kinds,
      size: pixels,
      sample,
      preview: render,
      final: render,
    }),
    async release() {
      await textEncoder.release();
      await denoiser.release();
    },
  };
}
