/**
 * One job path for both transports: ready engine → prepare → queue → generate → encode, and the mapping of
 * whatever failed to what a client sees. `api.ts` and `ws.ts` only translate this into statuses and frames.
 *
 * @module
 */
import { HTTPException } from "hono/http-exception";
import { encodeImage, type Engine, type Generation, type StepEvent } from "../sampler/mod.ts";
import { clientError, type ErrorBody, isAbort, redactPaths } from "./errors.ts";
import type { ImageFormat } from "./protocol.ts";
import type { GenerateBody } from "./schemas.ts";
import { readyEngine, type ServerState } from "./state.ts";
import { yieldToEventLoop } from "./_yield.ts";

/** A request resolved by the engine: every default filled, the seed chosen. */
export type PreparedJob = ReturnType<Engine["prepare"]>;

/** Which steps get a preview image, and how it is encoded. */
export interface PreviewOptions {
  every: number;
  format: ImageFormat;
  size?: number;
}

/** Options of {@linkcode runJob}: how a transport hears about the job while it waits and runs. */
export interface RunJobOptions {
  /** Cancels the job, waiting or running. */
  signal?: AbortSignal;
  /** Told the 1-based place in the waiting line whenever it changes, and 0 when the job starts. */
  onPosition?: (position: number, job: PreparedJob) => void;
  /** Told after each step. */
  onStep?: (event: StepEvent) => void;
  /** Previews of the steps before the last (the last one's image is the final); none when unset. */
  previews?: PreviewOptions;
  /** Asked before each due preview is rendered: `true` drops it (a slow reader). */
  skipPreview?: () => boolean;
  /** Receives each encoded preview. */
  onPreview?: (preview: { step: number; steps: number; format: ImageFormat; image: Uint8Array }) => void;
}

/** A finished job: what the engine reported and the encoded final image. */
export interface JobResult {
  generation: Generation;
  image: Uint8Array<ArrayBuffer>;
  format: ImageFormat;
}

/**
 * Runs one validated request through the shared queue and encodes its final image. Rejects with the
 * engine's, the queue's or the signal's error; {@linkcode jobFailure} says what the client is told.
 *
 * @example
 * ```ts
 * const { image, generation } = await runJob(state, { prompt: "a seven", format: "png" });
 * ```
 */
export async function runJob(
  state: ServerState,
  body: GenerateBody,
  options: RunJobOptions = {},
): Promise<JobResult> {
  const { signal, onPosition, onStep, previews, skipPreview, onPreview } = options;
  const engine = readyEngine(state);
  const { format, size, ...request } = body;
  const prepared = engine.prepare(request);
  const generation = await state.queue.run(
    async (jobSignal) => {
      await loadModel(state, engine, prepared.model);
      return await engine.generate(prepared, {
        signal: jobSignal,
        onStep: async (e) => {
          onStep?.(e);
          // The last step's image is the final frame, which follows at once: no preview, and no wait.
          if (e.step === e.steps) return;
          // Between steps the server reads sockets, cancels and health checks: a backend computing on this
          // thread gives it no turn of the event loop until the job ends.
          if (!engine.backend.offThread) await yieldToEventLoop();
          if (!previews || e.step % previews.every !== 0 || skipPreview?.()) return;
          const image = await encodeImage(await e.render(), { format: previews.format, size: previews.size });
          onPreview?.({ step: e.step, steps: e.steps, format: previews.format, image });
        },
      });
    },
    { signal, onPosition: onPosition && ((position) => onPosition(position, prepared)) },
  );
  return { generation, image: await encodeImage(generation.image, { format, size }), format };
}

/**
 * Loads a model before its job runs (at once when it is loaded already) and records in
 * `state.loadErrors` whether that worked; a failure rejects with the reason, without server paths.
 */
async function loadModel(state: ServerState, engine: Engine, model: string): Promise<void> {
  try {
    await engine.load(model);
  } catch (e) {
    const reason = `Cannot load model '${model}': ${serverMessage(state, e)}`;
    state.loadErrors?.set(model, reason);
    state.log("error", `${reason} (${(e as Error).stack ?? e})`);
    throw new ModelLoadError(reason, { cause: e });
  }
  state.loadErrors?.delete(model);
}

/** Thrown when a job's model cannot be loaded: an internal error whose message is safe to show. */
class ModelLoadError extends Error {
  override name = "ModelLoadError";
}

/** An error's message with the server's folders taken out. */
function serverMessage(state: ServerState, e: unknown): string {
  return redactPaths((e as Error)?.message ?? String(e), [state.config.MODELS_DIR, state.config.CACHE_DIR]);
}

/** What a failed job tells its client: it was cancelled, or an error body (with a retry hint for `busy`). */
export type JobFailure =
  | { kind: "cancelled"; reason: string }
  | { kind: "error"; body: ErrorBody; retryAfter?: number };

/**
 * Maps the error a job rejected with to what its client sees; an unexpected error is logged with its stack
 * and becomes `internal`.
 *
 * @param what names the job in messages and logs (`job 'a'`, `POST /api/generate`)
 */
export function jobFailure(state: ServerState, e: unknown, what: string): JobFailure {
  if (isAbort(e)) return { kind: "cancelled", reason: (e as Error).message };
  if (e instanceof HTTPException) {
    const retryAfter = Number(e.getResponse().headers.get("retry-after")) || undefined;
    return { kind: "error", body: { code: "unavailable", message: e.message }, retryAfter };
  }
  const known = clientError(e);
  if (known) return { kind: "error", ...known };
  // A load failure was logged where it happened.
  if (!(e instanceof ModelLoadError)) state.log("error", `${what} failed: ${(e as Error).stack ?? e}`);
  return {
    kind: "error",
    body: { code: "internal", message: `Cannot finish ${what}: ${serverMessage(state, e)}` },
  };
}
