/**
 * Resolves a request against a model's manifest: fills defaults and checks model-specific bounds.
 *
 * @module
 */
import { APG_DEFAULTS, type ApgOptions } from "./cfg.ts";
import { EngineError } from "./errors.ts";
import type { Manifest } from "./manifest.ts";
import { MAX_SEED, randomSeed } from "./rng.ts";
import type { GenerateRequest, GuidanceMode, LayerKind } from "./types.ts";

/** A request with every default filled in. */
export interface ResolvedRequest {
  prompt: string;
  negativePrompt: string;
  steps: number;
  seed: number;
  cfg: number;
  /** APG parameters when APG replaces CFG. */
  apg?: ApgOptions;
  guidance: { mode: GuidanceMode; scale: number; eta: number; zeta: number; layers: LayerKind };
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

/** Fills defaults from the manifest and checks bounds, naming the field at fault. */
export function resolveRequest(
  req: GenerateRequest,
  manifest: Manifest,
  patched: readonly LayerKind[],
): ResolvedRequest {
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
  const needed: LayerKind[] = layers === "all" ? ["cross", "self"] : [layers];
  if (mode !== "none" && !needed.every((k) => patched.includes(k))) {
    throw new EngineError(
      "bad_request",
      `Cannot guide '${layers}' attention as this server patched only: ${patched.join(", ") || "none"}`,
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
    apg = {
      eta: inRange(req.apg.eta ?? APG_DEFAULTS.eta, [0, 1], "apg.eta"),
      beta: inRange(req.apg.beta ?? APG_DEFAULTS.beta, [-1, 1], "apg.beta"),
      r: req.apg.r === undefined ? undefined : inRange(req.apg.r, [1e-3, 1e6], "apg.r"),
    };
  }
  return {
    prompt: req.prompt,
    apg,
    negativePrompt: req.negativePrompt ?? "",
    steps,
    seed,
    cfg,
    guidance: { mode, scale, eta, zeta, layers },
  };
}
