/**
 * Server configuration from environment variables, validated with zod at start.
 *
 * @module
 */
import { z } from "zod";
import { BACKEND_CHOICES } from "../sampler/mod.ts";

const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);
const list = z.string().optional().transform((s) =>
  s ? s.split(",").map((x) => x.trim()).filter(Boolean) : []
);

/** The configuration schema; each key is the environment variable of the same name. */
export const ConfigSchema = z.object({
  PORT: int(8000, 0, 65535),
  HOST: z.string().min(1).default("127.0.0.1"),
  MODELS_DIR: z.string().min(1).default(new URL("../models", import.meta.url).pathname),
  /** Comma-separated model ids to serve; the first is the default. Default: all in MODELS_DIR. */
  MODELS: list,
  BACKEND: z.enum(BACKEND_CHOICES).default("auto"),
  /** When set, HTTP needs `Authorization: Bearer <token>` and WS `?token=<token>` (or the header). */
  AUTH_TOKEN: z.string().min(8).optional(),
  /** Origins allowed by CORS (comma-separated, `*` for any); empty = no CORS headers. */
  CORS_ORIGINS: list,
  /** Origins allowed to open `/ws` besides the server's own; `*` for any. */
  WS_ORIGINS: list,
  MAX_PROMPT_CHARS: int(500, 1, 10_000),
  MAX_BODY_BYTES: int(16_384, 256, 1 << 20),
  MAX_WS_MESSAGE_BYTES: int(16_384, 256, 1 << 20),
  MAX_JOBS_PER_SOCKET: int(4, 1, 64),
  /** How long a request body may take to arrive; a slower one gets 408. */
  BODY_TIMEOUT_MS: int(10_000, 100, 600_000),
  MAX_IMAGE_SIZE: int(1024, 8, 4096),
  /** Jobs run at once (per backend device); running jobs of one model share denoiser calls. */
  CONCURRENCY: int(8, 1, 64),
  /** Most rows (one per job, two with CFG) in one batched denoiser call; 1 turns batching off. */
  BATCH_MAX_ROWS: int(8, 1, 256),
  /** Longest wait (ms) of a batch for the other running jobs' calls. */
  BATCH_MAX_WAIT_MS: int(10, 0, 1000),
  /** Jobs waiting beyond the running ones before requests get 429 / busy. */
  QUEUE_SIZE: int(16, 0, 10_000),
  /** Grace for running jobs on SIGTERM before they are cancelled. */
  SHUTDOWN_GRACE_MS: int(10_000, 0, 600_000),
  /**
   * `on` runs the wasm backend in a Worker: sockets, cancels and health checks are served during calls
   * (an SD-Turbo UNet call on a CPU takes seconds), at 1–2 s more start-up.
   */
  WASM_WORKER: z.enum(["off", "on"]).default("off"),
  /** `eager` loads every model before /healthz turns ready; `lazy` loads each on its first request. */
  LOAD_MODELS: z.enum(["eager", "lazy"]).default("eager"),
  /** Release the models' sessions after this long without jobs (0 = never); they reload on demand. */
  IDLE_RELEASE_MS: int(0, 0, 86_400_000),
  /** Cache folder for guidance-patched models. */
  CACHE_DIR: z.string().min(1).default(new URL("../.cache", import.meta.url).pathname),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

/** The validated configuration. */
export type Config = z.infer<typeof ConfigSchema>;

/** Parses configuration from an env-like record, naming every bad variable in the error. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const result = ConfigSchema.safeParse(env);
  if (!result.success) {
    const bad = result.error.issues.map((i) =>
      `${i.path.join(".")}: ${i.message} (current value is ${JSON.stringify(env[String(i.path[0])])})`
    );
    throw new Error(`Cannot start as the configuration is invalid: ${bad.join("; ")}`);
  }
  return result.data;
}
