/**
 * The names of the scalar graph inputs a guidance patch adds.
 *
 * @module
 */
import type { AttentionKind } from "./_classify.ts";

/** Names of the float32 [rows, 1, 1, 1] graph inputs that a patch adds: per-kind a and b, shared η and ζ. */
export const GUIDANCE_INPUTS = {
  a: (kind: AttentionKind): string => `guidance_a_${kind}`,
  b: (kind: AttentionKind): string => `guidance_b_${kind}`,
  eta: "guidance_eta",
  zeta: "guidance_zeta",
} as const;

/** True for names a patch adds (used to refuse patching twice). */
export function isGuidanceInput(name: string): boolean {
  return /^guidance_(a|b)_\w+$/.test(name) || name === GUIDANCE_INPUTS.eta || name === GUIDANCE_INPUTS.zeta;
}
