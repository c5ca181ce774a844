/**
 * The guidance-quality evaluation's metrics and data: the judge, attribute measurements, Fréchet distance,
 * intervals, the real digits and the eval prompts. `tools/eval.ts` runs them.
 *
 * @module
 */
export * from "./bootstrap.ts";
export * from "./digit_judge.ts";
export * from "./frechet_distance.ts";
export * from "./judge_accuracy.ts";
export * from "./measure_digits.ts";
export * from "./mnist_digits.ts";
export * from "./prompt_set.ts";
export * from "./proportion.ts";
export * from "./score_samples.ts";
export * from "./symmetric_eigenvalues.ts";
