/**
 * What a loaded model offers the engine, whatever its kind: the {@linkcode Pipeline} interface and the
 * options of a batch.
 *
 * @module
 */
import type { Job } from "./job.ts";
import type { Manifest } from "./manifest.ts";
import type { TextStates } from "./text.ts";
import type { GenerateOptions, GenerateRequest, Generation } from "./types.ts";
import type { AttentionKind } from "../guidance/mod.ts";

/** Options of {@linkcode Pipeline.sampleBatch}. */
export interface BatchOptions extends Omit<GenerateRequest, "prompt" | "seed" | "model"> {
  prompts: string[];
  /** One seed per prompt. */
  seeds: number[];
  signal?: AbortSignal;
}

/** A loaded model that can generate. */
export interface Pipeline {
  readonly manifest: Manifest;
  /** Attention kinds the denoiser's patch covers. */
  readonly patched: readonly AttentionKind[];
  /** Resolves a request against this model into a frozen {@linkcode Job} (throws `EngineError`). */
  prepare(req: GenerateRequest): Job;
  /** Generates one image for a job prepared for this model. */
  generate(job: Job, options?: GenerateOptions): Promise<Generation>;
  /**
   * Samples many prompts at once with the same settings (for eval and bench); returns the final samples,
   * planar [n, channels, height, width], in the model's value range.
   */
  sampleBatch(options: BatchOptions): Promise<Float32Array>;
  /** Runs the text encoder for prompts (batch), returning states [n, length, dim]. */
  encodeText(prompts: string[]): Promise<TextStates>;
  release(): Promise<void>;
}
