/**
 * How the dev sweep picks each model's defaults: the rules are plain functions of dev points, so they are
 * tested apart from sampling and never see the test set.
 *
 * @module
 */
import type { NormQuantiles } from "./attention_norms.ts";
import type { DevPoint } from "./study.ts";

/** A point may win only when its mean FD stays within this factor of the unguided one (a quality guard). */
export const FD_GUARD = 1.25;

/** Adherence may fall at most this far (absolute) below none for a setting to count as stable. */
export const STABLE_TOLERANCE = 0.03;

/** The scale at which stability is judged: the paper's default for Stable Diffusion. */
export const STABILITY_SCALE = 10;

/**
 * The point with the best adherence among those whose mean FD is at most `fdLimit` (all points when none
 * is); on a tie the earlier point stays, so list the preferred (milder) settings first.
 */
export function bestPoint(points: readonly DevPoint[], fdLimit: number): DevPoint {
  if (!points.length) throw new Error("Cannot pick a best point as the sweep is empty: current length is 0");
  const pool = points.filter((p) => p.meanFd <= fdLimit);
  return (pool.length ? pool : points).reduce((b, p) => (p.adherence > b.adherence + 1e-9 ? p : b));
}

/** Rounds to two significant digits (η values people can type). */
export function twoDigits(x: number): number {
  return x > 0 ? Number(x.toPrecision(2)) : x;
}

/**
 * η candidates tied to a model's measured ‖g‖: its 10th, 50th and 90th percentiles (pooled over the
 * guided sites and steps). At η = p50 the clip binds for half the tokens.
 */
export function etaCandidates(g: NormQuantiles): number[] {
  return [...new Set([g.p10, g.p50, g.p90].map(twoDigits))].filter((e) => e > 0).sort((a, b) => a - b);
}

/**
 * The GAG default: among the η whose point at w = {@linkcode STABILITY_SCALE} keeps adherence within
 * {@linkcode STABLE_TOLERANCE} of none (stable at the paper's scale), the (w, η) with the best adherence
 * under the FD guard. When no η is stable, the smallest η's best point.
 */
export function chooseGag(
  points: readonly DevPoint[],
  none: DevPoint,
  fdLimit: number,
): { chosen: DevPoint; stable: number[] } {
  const eta = (p: DevPoint) => p.spec.guidance?.eta ?? NaN;
  const etas = [...new Set(points.map(eta))].sort((a, b) => a - b);
  const stable = etas.filter((e) =>
    points.some((p) =>
      eta(p) === e && p.spec.guidance?.scale === STABILITY_SCALE &&
      p.adherence >= none.adherence - STABLE_TOLERANCE
    )
  );
  const pool = stable.length
    ? points.filter((p) => stable.includes(eta(p)))
    : points.filter((p) => eta(p) === etas[0]);
  return { chosen: bestPoint(pool, fdLimit), stable };
}

/**
 * The smallest scale from which every larger scale of `points` (one method, one η) loses more than
 * {@linkcode STABLE_TOLERANCE} of adherence against none: where over-guiding starts. Undefined when the
 * largest scale is still within the tolerance.
 */
export function overGuidingFrom(points: readonly DevPoint[], none: DevPoint): number | undefined {
  const sorted = [...points].sort((a, b) => (a.spec.guidance?.scale ?? 0) - (b.spec.guidance?.scale ?? 0));
  let from: number | undefined;
  for (const p of sorted) {
    const bad = p.adherence < none.adherence - STABLE_TOLERANCE;
    if (bad && from === undefined) from = p.spec.guidance?.scale;
    if (!bad) from = undefined;
  }
  return from;
}
