/**
 * The guidance modes and the runtime scalars each one feeds to a patched graph.
 *
 * @module
 */

/** The guidance rules a request can ask for. */
export const GUIDANCE_MODES = ["none", "pladis", "gag"] as const;

/** One of {@linkcode GUIDANCE_MODES}. */
export type GuidanceMode = typeof GUIDANCE_MODES[number];

/**
 * The runtime scalars of the combined rule o = o_d + a·Δ + b·min(1, η/‖g‖)·g,
 * with Δ = o_s − o_d and g = Δ∥ + ζ·Δ⊥ (Δ split along o_s).
 */
export interface GuidanceScalars {
  /** Weight of Δ: 0 for none, λ for PLADIS, 1 for GAG. */
  a: number;
  /** Weight of the clipped g: w for GAG, else 0. */
  b: number;
  /** Clip bound η on ‖g‖. */
  eta: number;
  /** Weight ζ of the part of Δ orthogonal to o_s. */
  zeta: number;
}

/** A guidance request: the mode and its optional parameters. */
export interface GuidanceOptions {
  /** The rule: none, PLADIS or GAG. */
  mode: GuidanceMode;
  /** PLADIS λ or GAG w; defaults {@linkcode GUIDANCE_DEFAULTS}. */
  scale?: number;
  /** GAG clip bound η (> 0, may be Infinity). */
  eta?: number;
  /** GAG orthogonal weight ζ. */
  zeta?: number;
}

/** Published defaults: GAG w = 10, η = 15, ζ = 0; PLADIS λ = 2. */
export const GUIDANCE_DEFAULTS = {
  gag: { scale: 10, eta: 15, zeta: 0 },
  pladis: { scale: 2 },
} as const;

/**
 * Maps a guidance mode and its parameters to the scalars the patched graph reads. Values are taken as
 * given: ranges are checked once, where a request is resolved against its model.
 *
 * @example
 * ```ts
 * guidanceScalars({ mode: "gag" }); // { a: 1, b: 10, eta: 15, zeta: 0 }
 * guidanceScalars({ mode: "pladis", scale: 3 }); // { a: 3, b: 0, eta: 15, zeta: 0 }
 * ```
 */
export function guidanceScalars(options: GuidanceOptions): GuidanceScalars {
  const { mode, eta = GUIDANCE_DEFAULTS.gag.eta, zeta = GUIDANCE_DEFAULTS.gag.zeta } = options;
  switch (mode) {
    case "none":
      return { a: 0, b: 0, eta, zeta };
    case "pladis":
      return { a: options.scale ?? GUIDANCE_DEFAULTS.pladis.scale, b: 0, eta, zeta };
    case "gag":
      return { a: 1, b: options.scale ?? GUIDANCE_DEFAULTS.gag.scale, eta, zeta };
    default:
      throw new Error(
        `Cannot set guidance as 'mode' must be one of ${GUIDANCE_MODES.join(", ")}: current value is ${mode}`,
      );
  }
}
