/**
 * What every pipeline kind shares: seeded noise, request resolution, step reporting and the result.
 *
 * @module
 */
import type { SamplerOptions } from "./euler.ts";
import type { BatchOptions, Pipeline } from "./flow_pipeline.ts";
import type { Manifest } from "./manifest.ts";
import type { Rgba } from "./preview.ts";
import { type ResolvedRequest, resolveRequest } from "./request.ts";
import { gaussianNoise } from "./rng.ts";
import type { LayerKind } from "./types.ts";

/** The kind-specific parts of a pipeline. */
export interface PipelineParts {
  manifest: Manifest;
  kinds: readonly LayerKind[];
  /** Values per sample of the sampler's state (the noise drawn per seed). */
  size: number;
  /** Samples `prompts` from `noise` (n samples, concatenated) with one request's settings. */
  sample(
    prompts: string[],
    noise: Float32Array,
    r: ResolvedRequest,
    options: SamplerOptions,
  ): Promise<{ x: Float32Array; unknown: string[] }>;
  /** Decodes a step's clean-sample estimate for a preview. */
  preview(x: Float32Array): Promise<Rgba>;
  /** Decodes the final sample. */
  final(x: Float32Array): Promise<Rgba>;
}

/** Builds `generate` and `sampleBatch` from a pipeline's parts. */
export function pipelineMethods(
  { manifest, kinds, size, sample, preview, final }: PipelineParts,
): Pick<Pipeline, "generate" | "sampleBatch"> {
  return {
    async sampleBatch({ prompts, seeds, signal, ...settings }: BatchOptions) {
      const r = resolveRequest({ ...settings, prompt: "", seed: 0 }, manifest, kinds);
      const noise = new Float32Array(size * prompts.length);
      seeds.forEach((seed, i) => noise.set(gaussianNoise(seed, size), i * size));
      return (await sample(prompts, noise, r, { signal })).x;
    },
    async generate(req, { onStep, signal } = {}) {
      const started = performance.now();
      const r = resolveRequest(req, manifest, kinds);
      const { x, unknown } = await sample([r.prompt], gaussianNoise(r.seed, size), r, {
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
        seed: r.seed,
        steps: r.steps,
        mode: r.guidance.mode,
        cfg: r.cfg,
        elapsedMs: performance.now() - started,
        unknownWords: unknown,
      };
    },
  };
}
