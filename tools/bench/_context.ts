/**
 * What every part of `deno task bench` shares: the model it measures, its options and its log.
 *
 * @module
 */
import { join } from "node:path";
import { quantile } from "../bench_stats.ts";

/** The repository root. */
export const ROOT = new URL("../../", import.meta.url).pathname;
/** The model measured: the shipped digits model. */
export const MODEL_ID = "digits";
/** Its folder. */
export const MODEL_DIR = join(ROOT, "models", MODEL_ID);
/** The prompt of every timed generation. */
export const PROMPT = "a thick seven slanted right";

/** A bench run's options and log. */
export interface BenchContext {
  /** Fewer rounds and cold starts. */
  quick: boolean;
  /** CFG scale of the CFG generations. */
  cfg: number;
  /** Progress lines (stderr). */
  log(message: string): void;
}

/** The 1-minute load average, to say how busy the machine was. */
export function loadAverage(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
}

/** The median of the finite values. */
export function median(xs: readonly number[]): number {
  return quantile(xs.filter(Number.isFinite), 0.5);
}
