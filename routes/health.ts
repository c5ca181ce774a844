/**
 * `GET /healthz` (ready: 200 once models are loaded and warmed, 503 while starting or draining) and
 * `GET /livez` (the process answers).
 *
 * @module
 */
import { Hono } from "hono";
import type { ServerState } from "./state.ts";

/** The health app. */
export function healthRoutes(state: ServerState): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => {
    const ready = state.phase === "ready";
    return c.json({
      status: ready ? "ok" : state.phase,
      backend: state.engine?.backend.name ?? null,
      backendReason: state.engine?.backend.reason ?? null,
      models: state.engine?.models().map((m) => m.id) ?? [],
      queue: { running: state.queue.running, waiting: state.queue.waiting },
      startupMs: state.startup,
    }, ready ? 200 : 503);
  });
  app.get("/livez", (c) => c.json({ status: "alive" }));
  return app;
}
