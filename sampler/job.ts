/**
 * A generation job: a request resolved once against its model's manifest, with every default filled in
 * and every bound checked. Everything after `prepareJob` takes the job as it is and never checks it again.
 *
 * @module
 */
import { APG_DEFAULTS, type ApgOptions } from "./cfg.ts";
import { EngineError } from "./errors.ts";
import type { Manifest } from "./manifest.ts";
import { MAX_SEED, randomSeed } from "./rng.ts";
import type { GenerateRequest, GuidanceMode, LayerKind } from "./types.ts";

/** The resolved attention guidance of a job. */
export interface JobGuidance {
  readonly mode: GuidanceMode;
  /** PLADIS λ or GAG w (0 for none). */
  readonly scale: number;
  readonly eta: number;
  readonly zeta: number;
  readonly layers: LayerKind;
}

/** A resolved, frozen generation request: what `engine.generate` and the pipelines take. */
export interface Job {
  /** The model id. */
  readonly model: string;
  readonly prompt: string;
  /** The CFG unconditional prompt ("" when none was given). */
  readonly negativePrompt: string;
  readonly steps: number;
  readonly seed: number;
  /** Classifier-free guidance scale; 1 runs one pass. */
  readonly cfg: number;
  /** APG parameters when APG replaces CFG. */
  readonly apg?: Readonly<ApgOptions>;
  readonly guidance: JobGuidance;
}

function inRange(value: number, [min, max]: readonly [number, number], field: string): number {
  if (!(value >= min && value <= max)) {
    throw new EngineError(
      "bad_request",
      `Cannot generate as '${field}' must be between ${min} and ${max}: current value is ${value}`,
      field,
    );
  }
  return value;
}

/**
 * Resolves a request against a model: fills defaults from the manifest (a random seed when none is
 * given) and checks the model-specific bounds, naming the field at fault in an `EngineError`.
 *
 * @param served the layer selections the model's patch serves (`servedLayers` of guidance/)
 */
export function prepareJob(req: GenerateRequest, manifest: Manifest, served: readonly LayerKind[]): Job {
  const steps = inRange(req.steps ?? manifest.steps.default, [1, manifest.steps.max], "steps");
  if (!Number.isInteger(steps)) {
    throw new EngineError(
      "bad_request",
      `Cannot generate as 'steps' must be an integer: current value is ${steps}`,
      "steps",
    );
  }
  const seed = req.seed ?? randomSeed();
  inRange(seed, [0, MAX_SEED], "seed");
  const cfg = inRange(req.cfg ?? manifest.cfg.default, [1, manifest.cfg.max], "cfg");
  const g = manifest.guidance;
  const mode = req.guidance?.mode ?? "none";
  const layers = req.guidance?.layers ?? g.layers;
  if (mode !== "none" && !served.includes(layers)) {
    throw new EngineError(
      "bad_request",
      `Cannot guide '${layers}' attention as this model serves only: ${served.join(", ") || "none"}`,
      "guidance.layers",
    );
  }
  let scale = 0, eta = g.defaults.gag.eta, zeta = g.defaults.gag.zeta;
  if (mode === "pladis") {
    scale = inRange(req.guidance?.scale ?? g.defaults.pladis.scale, g.ranges.pladis.scale, "guidance.scale");
  } else if (mode === "gag") {
    scale = inRange(req.guidance?.scale ?? g.defaults.gag.scale, g.ranges.gag.scale, "guidance.scale");
    eta = inRange(req.guidance?.eta ?? eta, g.ranges.gag.eta, "guidance.eta");
    zeta = inRange(req.guidance?.zeta ?? zeta, g.ranges.gag.zeta, "guidance.zeta");
  }
  let apg: ApgOptions | undefined;
  if (req.apg) {
    apg = Object.freeze({
      eta: inRange(req.apg.eta ?? APG_DEFAULTS.eta, [0, 1], "apg.eta"),
      beta: inRange(req.apg.beta ?? APG_DEFAULTS.beta, [-1, 1], "apg.beta"),
      r: req.apg.r === undefined ? undefined : inRange(req.apg.r, [1e-3, 1e6], "apg.r"),
    });
  }
  return Object.freeze({
    model: manifest.id,
    prompt: req.prompt,
    negativePrompt: req.negativePrompt ?? "",
    steps,
    seed,
    cfg,
    apg,
    guidance: Object.freeze({ mode, scale, eta, zeta, layers }),
  });
}
