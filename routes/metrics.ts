/**
 * `GET /metrics` in the Prometheus text format: what an autoscaler reads to add replicas.
 *
 * @module
 */
import { Hono } from "hono";
import type { ServerState } from "./state.ts";

/** Upper bounds (seconds) of the generation latency histogram. */
export const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

/** The metrics app; it counts finished jobs from the queue's `onFinish`. */
export function metricsRoutes(state: ServerState): Hono {
  const counts = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  let sum = 0, n = 0;
  const previous = state.queue.onFinish;
  state.queue.onFinish = (ms, outcome) => {
    previous?.(ms, outcome);
    if (outcome !== "done") return;
    const s = ms / 1000;
    const i = LATENCY_BUCKETS.findIndex((b) => s <= b);
    counts[i === -1 ? LATENCY_BUCKETS.length : i]++;
    sum += s;
    n++;
  };
  const app = new Hono();
  app.get("/metrics", (c) => {
    const q = state.queue;
    const lines = [
      "# HELP gag_queue_depth Jobs waiting for a slot.",
      "# TYPE gag_queue_depth gauge",
      `gag_queue_depth ${q.waiting}`,
      "# HELP gag_jobs_running Jobs generating now.",
      "# TYPE gag_jobs_running gauge",
      `gag_jobs_running ${q.running}`,
      "# HELP gag_queue_capacity Jobs that may wait before requests are refused.",
      "# TYPE gag_queue_capacity gauge",
      `gag_queue_capacity ${q.capacity}`,
      "# HELP gag_jobs_total Jobs by outcome.",
      "# TYPE gag_jobs_total counter",
      ...Object.entries(q.stats.outcomes).map(([k, v]) => `gag_jobs_total{outcome="${k}"} ${v}`),
      "# HELP gag_generation_seconds Time from a job's start to its final image.",
      "# TYPE gag_generation_seconds histogram",
    ];
    let cum = 0;
    LATENCY_BUCKETS.forEach((b, i) => {
      cum += counts[i];
      lines.push(`gag_generation_seconds_bucket{le="${b}"} ${cum}`);
    });
    lines.push(
      `gag_generation_seconds_bucket{le="+Inf"} ${n}`,
      `gag_generation_seconds_sum ${sum.toFixed(4)}`,
      `gag_generation_seconds_count ${n}`,
    );
    lines.push(
      "# HELP gag_websocket_connections Open WebSocket connections.",
      "# TYPE gag_websocket_connections gauge",
      `gag_websocket_connections ${state.sockets.size}`,
      "# HELP gag_backend_info The execution backend in use.",
      "# TYPE gag_backend_info gauge",
      `gag_backend_info{backend="${state.engine?.backend.name ?? "none"}"} 1`,
      "# HELP gag_ready Whether the server accepts jobs.",
      "# TYPE gag_ready gauge",
      `gag_ready ${state.phase === "ready" ? 1 : 0}`,
      "# HELP process_resident_memory_bytes Resident memory.",
      "# TYPE process_resident_memory_bytes gauge",
      `process_resident_memory_bytes ${Deno.memoryUsage().rss}`,
    );
    return c.text(lines.join("\n") + "\n", 200, { "content-type": "text/plain; version=0.0.4" });
  });
  return app;
}
