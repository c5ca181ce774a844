/**
 * Output-space guidance: classifier-free guidance (Ho & Salimans 2022) and adaptive projected guidance
 * (APG; Sadat et al. 2024, "Eliminating Oversaturation and Artifacts of High Guidance Scales in
 * Diffusion Models").
 *
 * Both act on the clean-sample predictions of the conditional and unconditional passes, D_c and D_u,
 * per sample (the norms and projections run over all of a sample's values):
 *
 * - CFG: D = D_u + w·(D_c − D_u).
 * - APG: Δ = D_c − D_u; with momentum Δ ← Δ + β·Δ_prev (β < 0 pushes away from the previous update);
 *   Δ ← Δ·min(1, r/‖Δ‖); split Δ into Δ∥ along D_c and Δ⊥ = Δ − Δ∥;
 *   D = D_c + (w − 1)·(Δ⊥ + η·Δ∥). With η = 1, r = ∞, β = 0 this is CFG.
 *
 * @module
 */

/** APG parameters; `r` omitted means no norm threshold. */
export interface ApgOptions {
  eta: number;
  r?: number;
  beta: number;
}

/** APG defaults: drop the parallel part, no norm threshold, negative momentum as in the paper. */
export const APG_DEFAULTS: ApgOptions = { eta: 0, beta: -0.5 };

/** Creates the guidance combiner of one generation (APG keeps its momentum between steps). */
export function createCfgCombiner(
  scale: number,
  apg: ApgOptions | undefined,
): (cond: Float32Array, uncond: Float32Array, samples: number) => Float32Array {
  let previous: Float32Array | undefined;
  return (cond, uncond, samples) => {
    const out = new Float32Array(cond.length);
    if (!apg) {
      for (let j = 0; j < cond.length; j++) out[j] = uncond[j] + scale * (cond[j] - uncond[j]);
      return out;
    }
    const delta = cond.map((v, j) => v - uncond[j]);
    if (previous && apg.beta !== 0) {
      for (let j = 0; j < delta.length; j++) delta[j] += apg.beta * previous[j];
    }
    previous = delta.slice();
    const n = cond.length / samples;
    for (let s = 0; s < samples; s++) {
      const lo = s * n, hi = lo + n;
      let norm2 = 0, dot = 0, c2 = 0;
      for (let j = lo; j < hi; j++) {
        norm2 += delta[j] * delta[j];
        dot += delta[j] * cond[j];
        c2 += cond[j] * cond[j];
      }
      const clip = apg.r === undefined ? 1 : Math.min(1, apg.r / Math.max(Math.sqrt(norm2), 1e-12));
      const k = (clip * dot) / Math.max(c2, 1e-12);
      for (let j = lo; j < hi; j++) {
        const d = clip * delta[j], parallel = k * cond[j];
        out[j] = cond[j] + (scale - 1) * (d - parallel + apg.eta * parallel);
      }
    }
    return out;
  };
}
