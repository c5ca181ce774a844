/**
 * `GET /healthz` (ready: 200 once models are loaded and warmed; 503 while starting or draining, and while
 * a model's last load failed, `status: "failed"` with the reasons in `failed`) and
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
    const failed = Object.fromEntries(state.loadErrors ?? []);
    const ready = state.phase === "ready" && !Object.keys(failed).length;
    return c.json({
      status: ready ? "ok" : state.phase === "ready" ? "failed" : state.phase,
      ...(Object.keys(failed).length ? { failed } : {}),
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
