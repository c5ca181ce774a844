/**
 * Few-step samplers as plain functions over a denoiser, in the style of k-diffusion's `sampling.py`.
 * Every sampler reports each step to `onStep` with the same fields.
 *
 * @module
 */

/** What a sampler reports after each step. */
export interface StepInfo {
  /** The state after the step. */
  x: Float32Array;
  /** 0-based index of the step just taken. */
  i: number;
  /** Total number of steps. */
  steps: number;
  /** Noise level at the start of the step (σ, or 1 − t for flow models). */
  sigma: number;
  /** The model's prediction of the clean sample at this step. */
  denoised: Float32Array;
}

/** Options shared by all samplers. */
export interface SamplerOptions {
  /** Called after every step; awaited, so a slow consumer slows the sampler rather than piling up. */
  onStep?: (info: StepInfo) => void | Promise<void>;
  /** Stops sampling between steps. */
  signal?: AbortSignal;
}

/**
 * A flow-model velocity: given `x_t`, time `t` and the step size `dt` about to be taken, returns `v` with
 * `x_{t+dt} = x_t + dt · v`.
 */
export type VelocityFn = (x: Float32Array, t: number, dt: number) => Promise<Float32Array>;

/**
 * Euler sampling of a flow / shortcut model (Frans et al. 2024, "One Step Diffusion via Shortcut Models"):
 * `x ← x + dt·v(x, t, dt)` over `times`; the clean-sample estimate is `x + (1 − t)·v`.
 *
 * @param velocity the model, conditioned on the step size it is asked to take
 * @param x the initial noise (t = times[0]); not modified
 * @param times increasing times from 0 (noise) to 1 (data), see `flowTimes`
 */
export async function sampleFlowEuler(
  velocity: VelocityFn,
  x: Float32Array,
  times: Float64Array,
  { onStep, signal }: SamplerOptions = {},
): Promise<Float32Array> {
  const steps = times.length - 1;
  x = x.slice();
  for (let i = 0; i < steps; i++) {
    signal?.throwIfAborted();
    const t = times[i], dt = times[i + 1] - t;
    const v = await velocity(x, t, dt);
    const denoised = new Float32Array(x.length);
    for (let j = 0; j < x.length; j++) {
      denoised[j] = x[j] + (1 - t) * v[j];
      x[j] += dt * v[j];
    }
    await onStep?.({ x, i, steps, sigma: 1 - t, denoised });
  }
  return x;
}

/**
 * An ε-prediction model at noise level σ (the sampler scales the input by 1/√(σ²+1) before calling it).
 * `index` is the step index, for models that take a discrete timestep.
 */
export type EpsilonFn = (xScaled: Float32Array, sigma: number, index: number) => Promise<Float32Array>;

/**
 * Euler sampling of an ε-prediction model over a σ schedule, as SD-Turbo is sampled (Karras et al. 2022,
 * Algorithm 1 without churn): `x₀ = x − σ·ε`, `x ← x + (σ_next − σ)·ε`.
 *
 * @param x the initial latent, already scaled to σ_max (noise · sigmas[0]); not modified
 */
export async function sampleEulerEpsilon(
  epsilon: EpsilonFn,
  x: Float32Array,
  sigmas: Float64Array,
  { onStep, signal }: SamplerOptions = {},
): Promise<Float32Array> {
  const steps = sigmas.length - 1;
  x = x.slice();
  for (let i = 0; i < steps; i++) {
    signal?.throwIfAborted();
    const sigma = sigmas[i];
    const c = 1 / Math.sqrt(sigma * sigma + 1);
    const eps = await epsilon(x.map((v) => v * c), sigma, i);
    const denoised = new Float32Array(x.length);
    for (let j = 0; j < x.length; j++) {
      denoised[j] = x[j] - sigma * eps[j];
      x[j] += (sigmas[i + 1] - sigma) * eps[j];
    }
    await onStep?.({ x, i, steps, sigma, denoised });
  }
  return x;
}
