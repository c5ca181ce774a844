/**
 * Fixed eval prompts in the training captions' vocabulary: a digit as a word or numeral, and for most
 * prompts some of thickness, slant and size. Dev and test sets differ in prompts and seeds.
 *
 * @module
 */
import { mulberry32 } from "./bootstrap.ts";

/** Digit words, as `tools/train/common.py` WORDS. */
export const DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
/** Thickness words by class (0 thin, 1 regular, 2 thick). */
export const THICKNESS_WORDS = ["thin", "regular", "thick"] as const;
/** Slant words by class (0 left, 1 upright, 2 right). */
export const SLANT_WORDS = ["slanted left", "upright", "slanted right"] as const;
/** Size words by class (0 small, 1 large). */
export const SIZE_WORDS = ["small", "large"] as const;

/** One eval prompt: the text, what it asks for, and the noise seed it is sampled with. */
export interface EvalPrompt {
  prompt: string;
  digit: number;
  thickness?: number;
  slant?: number;
  size?: number;
  seed: number;
}

/** The eval splits: prompts and seeds of the dev set tune scales, the test set reports. */
export const PROMPT_SETS = {
  dev: { rng: 0xde7, seedBase: 1_000_000 },
  test: { rng: 0x7e57, seedBase: 2_000_000 },
} as const;

/** Options of {@linkcode promptSet}. */
export interface PromptSetOptions {
  /** Share of prompts naming only the digit (default 0.25). */
  bare?: number;
  /** Chance each attribute is named in the other prompts (at least one is; default 0.5). */
  attribute?: number;
}

/**
 * `n` prompts of a set: digits cycle 0…9 so each is equally represented; prompt `i` uses seed
 * `seedBase + i`.
 *
 * @example
 * ```ts
 * promptSet("test", 3).map((p) => p.prompt); // e.g. ["zero", "a thick 1 slanted right", "small two"]
 * ```
 */
export function promptSet(
  set: keyof typeof PROMPT_SETS,
  n: number,
  { bare = 0.25, attribute = 0.5 }: PromptSetOptions = {},
): EvalPrompt[] {
  const { rng, seedBase } = PROMPT_SETS[set];
  const random = mulberry32(rng);
  const pick = (k: number) => Math.floor(random() * k);
  return Array.from({ length: n }, (_, i) => {
    const digit = i % 10;
    const p: EvalPrompt = { prompt: "", digit, seed: seedBase + i };
    if (random() >= bare) {
      do {
        if (random() < attribute) p.thickness = pick(3);
        if (random() < attribute) p.slant = pick(3);
        if (random() < attribute) p.size = pick(2);
      } while (p.thickness === undefined && p.slant === undefined && p.size === undefined);
    }
    const pre: string[] = [];
    if (p.size !== undefined) pre.push(SIZE_WORDS[p.size]);
    if (p.thickness !== undefined) pre.push(THICKNESS_WORDS[p.thickness]);
    if (pre.length === 2 && random() < 0.5) pre.reverse();
    const words = [...pre, random() < 0.6 ? DIGIT_WORDS[digit] : String(digit)];
    if (p.slant !== undefined) words.push(SLANT_WORDS[p.slant]);
    if (random() < 0.5) words.unshift(words[0] === "eight" || words[0] === "8" ? "an" : "a");
    p.prompt = words.join(" ");
    return p;
  });
}
