/**
 * The guidance feeds of a job for a patched denoiser.
 *
 * @module
 */
import type { TensorValue } from "./backend.ts";
import type { Job } from "./job.ts";
import { guidanceFeeds } from "../guidance/guidance_feeds.ts";
import { guidanceScalars } from "../guidance/guidance_scalars.ts";
import { layerKinds } from "../guidance/layer_kinds.ts";

/**
 * The feeds for the guidance inputs of a patched graph: the job's scalars for the attention kinds its
 * layers cover (a = b = 0 for the others, which then reproduce the model), and the shared η, ζ.
 */
export function jobGuidanceFeeds(
  inputs: readonly string[],
  guidance: Job["guidance"],
): Record<string, TensorValue> {
  const scalars = guidanceScalars(guidance);
  return guidanceFeeds(inputs, Object.fromEntries(layerKinds(guidance.layers).map((k) => [k, scalars])));
}
