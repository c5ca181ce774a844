/**
 * The combined guidance rule on one attention output vector, the reference the patched graph is tested against.
 *
 * @module
 */
import type { GuidanceScalars } from "./guidance_scalars.ts";

/** Guard for the divisions by ‖o_s‖² and ‖g‖ (both may be exactly 0). */
export const GUIDANCE_EPSILON = 1e-12;

/**
 * Applies the combined guidance rule to one attention output vector (one token and head):
 * Δ = o_s − o_d, Δ∥ = (⟨Δ, o_s⟩/‖o_s‖²)·o_s, Δ⊥ = Δ − Δ∥, g = Δ∥ + ζΔ⊥,
 * o = o_d + a·Δ + b·min(1, η/‖g‖)·g.
 *
 * With a = b = 0 this is o_d, with b = 0 it is PLADIS (a = λ), and with a = 1, b = w it is GAG.
 *
 * @param dense the softmax output o_d
 * @param sparse the 1.5-entmax output o_s
 */
export function applyGuidance(
  dense: ArrayLike<number>,
  sparse: ArrayLike<number>,
  { a, b, eta, zeta }: GuidanceScalars,
): Float64Array {
  const d = dense.length;
  const delta = Float64Array.from({ length: d }, (_, i) => sparse[i] - dense[i]);
  let dot = 0;
  let norm2 = 0;
  for (let i = 0; i < d; i++) {
    dot += delta[i] * sparse[i];
    norm2 += sparse[i] * sparse[i];
  }
  const coef = dot / Math.max(norm2, GUIDANCE_EPSILON);
  const g = Float64Array.from({ length: d }, (_, i) => {
    const parallel = coef * sparse[i];
    return parallel + zeta * (delta[i] - parallel);
  });
  let gNorm2 = 0;
  for (let i = 0; i < d; i++) gNorm2 += g[i] * g[i];
  const clip = Math.min(1, eta / Math.max(Math.sqrt(gNorm2), GUIDANCE_EPSILON));
  return Float64Array.from({ length: d }, (_, i) => dense[i] + a * delta[i] + b * clip * g[i]);
}
