/**
 * The guidance-quality evaluation's metrics and data: the judge, attribute measurements, Fréchet distance,
 * intervals, the real digits, the eval prompts, attention norm statistics and the study of guidance settings.
 * `tools/eval/main.ts` (`deno task eval`) runs them.
 *
 * @module
 */
export * from "./bootstrap.ts";
export * from "./digit_judge.ts";
export * from "./frechet_distance.ts";
export * from "./judge_accuracy.ts";
export * from "./matrix_product.ts";
export * from "./measure_digits.ts";
export * from "./mnist_digits.ts";
export * from "./prompt_set.ts";
export * from "./proportion.ts";
export * from "./score_samples.ts";
export * from "./symmetric_eigenvalues.ts";
export * from "./attention_norms.ts";
export * from "./tuning.ts";
export * from "./study.ts";
