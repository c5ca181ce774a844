/**
 * What every pipeline kind shares: seeded noise, step reporting and the result.
 *
 * @module
 */
import type { SamplerOptions } from "./euler.ts";
import type { BatchOptions, Pipeline } from "./pipeline.ts";
import type { Manifest } from "./manifest.ts";
import type { Rgba } from "./preview.ts";
import { type Job, prepareJob } from "./job.ts";
import { gaussianNoise } from "./rng.ts";
import type { AttentionKind } from "../guidance/mod.ts";
import { servedLayers } from "../guidance/layer_kinds.ts";

/** The kind-specific parts of a pipeline. */
export interface PipelineParts {
  manifest: Manifest;
  /** Attention kinds the denoiser's patch covers. */
  kinds: readonly AttentionKind[];
  /** Values per sample of the sampler's state (the noise drawn per seed). */
  size: number;
  /** Samples `prompts` from `noise` (n samples, concatenated) with one job's settings. */
  sample(
    prompts: string[],
    noise: Float32Array,
    job: Job,
    options: SamplerOptions,
  ): Promise<{ x: Float32Array; unknown: string[]; truncated: boolean }>;
  /** Decodes a step's clean-sample estimate for a preview. */
  preview(x: Float32Array): Promise<Rgba>;
  /** Decodes the final sample. */
  final(x: Float32Array): Promise<Rgba>;
}

/** Builds `prepare`, `generate` and `sampleBatch` from a pipeline's parts. */
export function pipelineMethods(
  { manifest, kinds, size, sample, preview, final }: PipelineParts,
): Pick<Pipeline, "prepare" | "generate" | "sampleBatch"> {
  const served = servedLayers(kinds);
  return {
    prepare: (req) => prepareJob(req, manifest, served),
    async sampleBatch({ prompts, seeds, signal, ...settings }: BatchOptions) {
      const job = prepareJob({ ...settings, prompt: "", seed: 0 }, manifest, served);
      const noise = new Float32Array(size * prompts.length);
      seeds.forEach((seed, i) => noise.set(gaussianNoise(seed, size), i * size));
      return (await sample(prompts, noise, job, { signal })).x;
    },
    async generate(job, { onStep, signal } = {}) {
      const started = performance.now();
      const { x, unknown, truncated } = await sample([job.prompt], gaussianNoise(job.seed, size), job, {
        signal,
        onStep: onStep &&
          ((info) => {
            const denoised = info.denoised;
            return onStep({
              step: info.i + 1,
              steps: info.steps,
              elapsedMs: performance.now() - started,
              render: () => preview(denoised),
            });
          }),
      });
      return {
        image: await final(x),
        model: manifest.id,
        seed: job.seed,
        steps: job.steps,
        mode: job.guidance.mode,
        cfg: job.cfg,
        elapsedMs: performance.now() - started,
        unknownWords: unknown,
        truncated,
      };
    },
  };
}
