/**
 * An engine stand-in for route tests: no model, a 2×2 image, and steps that run only when the test lets
 * them, so a test holds jobs running for as long as it needs them.
 *
 * @module
 */
import type { Engine, GenerateRequest, StepEvent } from "../../sampler/mod.ts";

/** Prompts longer than this many characters are reported as truncated. */
export const PROMPT_ROOM = 20;

/** Options of {@linkcode heldEngine}. */
export interface HeldEngineOptions {
  /** Answers each `load()`; resolves by default. */
  load?: (model: string) => Promise<void>;
}

/** The stand-in and its controls. */
export interface HeldEngine {
  engine: Engine;
  /** Resolves once at least `n` steps wait to be released. */
  held(n: number): Promise<void>;
  /** Lets every waiting step, and each later one, run. */
  releaseAll(): void;
}

/**
 * An engine whose steps each wait until released. Every prompt word is reported as unknown, so tests can
 * send odd words back through the headers and events that carry them, and a prompt over
 * {@linkcode PROMPT_ROOM} characters as truncated.
 */
export function heldEngine({ load = () => Promise.resolve() }: HeldEngineOptions = {}): HeldEngine {
  const pending: (() => void)[] = [];
  const waiting: (() => void)[] = [];
  let released = false;
  const image = { width: 2, height: 2, data: new Uint8ClampedArray(16).fill(200) };
  const engine = {
    backend: { name: "wasm", reason: "test" },
    defaultModel: "fake",
    models: () => [],
    prepare: (req: GenerateRequest) => ({
      ...req,
      model: "fake",
      steps: req.steps ?? 2,
      seed: req.seed ?? 1,
    }),
    load: (model?: string) => load(model ?? "fake"),
    generate: async (
      job: { steps: number; seed: number; model: string; prompt: string },
      { signal, onStep }: { signal?: AbortSignal; onStep?: (e: StepEvent) => void | Promise<void> } = {},
    ) => {
      for (let step = 1; step <= job.steps; step++) {
        if (!released) {
          await new Promise<void>((resolve) => {
            pending.push(resolve);
            for (const w of waiting.splice(0)) w();
          });
        }
        signal?.throwIfAborted();
        await onStep?.({ step, steps: job.steps, elapsedMs: step, render: () => Promise.resolve(image) });
      }
      return {
        image,
        model: job.model,
        seed: job.seed,
        steps: job.steps,
        mode: "none",
        cfg: 1,
        elapsedMs: 1,
        unknownWords: job.prompt.split(" ").filter(Boolean),
        truncated: job.prompt.length > PROMPT_ROOM,
      };
    },
  };
  return {
    engine: engine as unknown as Engine,
    held: async (n) => {
      while (pending.length < n) await new Promise<void>((resolve) => waiting.push(resolve));
    },
    releaseAll: () => {
      released = true;
      for (const r of pending.splice(0)) r();
    },
  };
}
