/**
 * Noise schedules as pure functions of the step count.
 *
 * @module
 */

/**
 * Flow-matching times for `steps` uniform Euler steps, `t = i / steps` for `i = 0..steps`
 * (t = 0 is pure noise, t = 1 is data).
 */
export function flowTimes(steps: number): Float64Array {
  return Float64Array.from({ length: steps + 1 }, (_, i) => i / steps);
}

/** Rounds halves to the even neighbour, as numpy's `round` does (`Math.round` rounds them up). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Options of the Stable Diffusion σ schedule. */
export interface SdScheduleOptions {
  /** Training timesteps of the discrete schedule. */
  trainSteps?: number;
  betaStart?: number;
  betaEnd?: number;
}

/**
 * The SD-Turbo σ schedule: "scaled linear" betas, "trailing" timestep spacing, a final σ = 0.
 * One step gives `[14.6146…, 0]` with timestep 999.
 *
 * @returns the σ values (length `steps + 1`) and the discrete timestep fed to the model at each step.
 */
export function sdTurboSchedule(
  steps: number,
  { trainSteps = 1000, betaStart = 0.00085, betaEnd = 0.012 }: SdScheduleOptions = {},
): { sigmas: Float64Array; timesteps: Float64Array } {
  const alphasCumprod = new Float64Array(trainSteps);
  let prod = 1;
  for (let i = 0; i < trainSteps; i++) {
    const s = Math.sqrt(betaStart) + (Math.sqrt(betaEnd) - Math.sqrt(betaStart)) * i / (trainSteps - 1);
    prod *= 1 - s * s;
    alphasCumprod[i] = prod;
  }
  const timesteps = Float64Array.from(
    { length: steps },
    (_, i) => roundHalfEven(trainSteps - i * trainSteps / steps) - 1,
  );
  const sigmas = new Float64Array(steps + 1);
  timesteps.forEach((t, i) => sigmas[i] = Math.sqrt((1 - alphasCumprod[t]) / alphasCumprod[t]));
  return { sigmas, timesteps };
}
