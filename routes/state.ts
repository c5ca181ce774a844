/**
 * What the route apps share: config, engine, queue, the open sockets and the server's phase.
 *
 * @module
 */
import type { Engine } from "../sampler/mod.ts";
import type { Config } from "./config.ts";
import type { Schemas } from "./schemas.ts";
import { apiError } from "./errors.ts";
import type { JobQueue } from "./queue.ts";

/** Shared server state. */
export interface ServerState {
  config: Config;
  /** Set once the models are loaded. */
  engine: Engine | null;
  queue: JobQueue;
  schemas: Schemas;
  /** Open sockets, closed with a reason on shutdown. */
  sockets: Set<{ close(code?: number, reason?: string): void }>;
  /** `ready` once models are loaded (and warmed); `draining` after SIGTERM. */
  phase: "starting" | "ready" | "draining";
  /**
   * Models whose last load failed (lazy loading, or a reload after an idle release), with the reason as
   * clients see it; /healthz is 503 while any is listed. A later successful load removes the entry.
   */
  loadErrors?: Map<string, string>;
  /** Start-up stage timings (ms), reported by /healthz. */
  startup: Record<string, number>;
  log: (level: "debug" | "info" | "warn" | "error", message: string) => void;
}

/** The engine when the server accepts jobs; otherwise throws the 503 error. */
export function readyEngine(state: ServerState): Engine {
  if (state.phase !== "ready" || !state.engine) {
    throw apiError({
      code: "unavailable",
      message: `Cannot serve the request as the server is ${state.phase}`,
    }, { "retry-after": "5" });
  }
  return state.engine;
}
