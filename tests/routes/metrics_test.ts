import { deepStrictEqual, equal, ok, throws } from "@std/assert";
import { createSchemas, JobQueue, LATENCY_BUCKETS, metricsRoutes, parseConfig } from "../../routes/mod.ts";
import type { ServerState } from "../../routes/mod.ts";
import { type Exposition, parsePrometheus } from "../_client.ts";

function state(queue: JobQueue): ServerState {
  const config = parseConfig({});
  return {
    config,
    engine: null,
    queue,
    schemas: createSchemas({ maxPromptChars: config.MAX_PROMPT_CHARS, maxImageSize: config.MAX_IMAGE_SIZE }),
    sockets: new Set(),
    phase: "ready",
    startup: {},
    log: () => {},
  };
}

async function scrape(app: ReturnType<typeof metricsRoutes>): Promise<Exposition> {
  const res = await app.request("/metrics");
  equal(res.status, 200);
  equal(res.headers.get("content-type"), "text/plain; version=0.0.4");
  return parsePrometheus(await res.text());
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("GET /metrics is valid Prometheus text with a TYPE for every family", async () => {
  const m = await scrape(metricsRoutes(state(new JobQueue(1, 4))));
  deepStrictEqual(Object.fromEntries(m.types), {
    gag_queue_depth: "gauge",
    gag_jobs_running: "gauge",
    gag_queue_capacity: "gauge",
    gag_jobs_total: "counter",
    gag_generation_seconds: "histogram",
    gag_websocket_connections: "gauge",
    gag_backend_info: "gauge",
    gag_ready: "gauge",
    process_resident_memory_bytes: "gauge",
  });
  equal(m.value("gag_queue_capacity"), 4);
  equal(m.value("gag_ready"), 1);
  equal(m.value("gag_backend_info", { backend: "none" }), 1);
  for (const outcome of ["done", "cancelled", "error", "rejected"]) {
    equal(m.value("gag_jobs_total", { outcome }), 0);
  }
});

Deno.test("the job counters, gauges and latency histogram move as jobs run, wait, fail and are refused", async () => {
  const queue = new JobQueue(1, 1);
  const app = metricsRoutes(state(queue));
  const release = Promise.withResolvers<void>();
  const running = queue.run(() => release.promise.then(() => sleep(20)));
  const waiting = queue.run(() => sleep(5));
  const refused = queue.run(() => sleep(5)).catch((e) => e.name);
  let m = await scrape(app);
  equal(m.value("gag_jobs_running"), 1);
  equal(m.value("gag_queue_depth"), 1);
  equal(m.value("gag_jobs_total", { outcome: "rejected" }), 1);
  equal(await refused, "BusyError");
  release.resolve();
  await Promise.all([running, waiting]);
  await queue.run(() => Promise.reject(new Error("inference failed"))).catch(() => {});
  const cancel = new AbortController();
  const cancelled = queue.run(
    (signal) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    { signal: cancel.signal },
  ).catch(() => {});
  cancel.abort();
  await cancelled;

  m = await scrape(app);
  equal(m.value("gag_jobs_running"), 0);
  equal(m.value("gag_queue_depth"), 0);
  equal(m.value("gag_jobs_total", { outcome: "done" }), 2);
  equal(m.value("gag_jobs_total", { outcome: "error" }), 1);
  equal(m.value("gag_jobs_total", { outcome: "cancelled" }), 1);
  equal(m.value("gag_jobs_total", { outcome: "rejected" }), 1);
  // The histogram counts finished (done) jobs only; its buckets are cumulative.
  const buckets = m.samples.filter((s) => s.name === "gag_generation_seconds_bucket");
  deepStrictEqual(buckets.map((b) => b.labels.le), [...LATENCY_BUCKETS.map(String), "+Inf"]);
  const counts = buckets.map((b) => b.value);
  deepStrictEqual(counts, [...counts].sort((a, b) => a - b), "bucket counts never decrease");
  equal(counts.at(-1), 2);
  equal(m.value("gag_generation_seconds_count"), 2);
  const sum = m.value("gag_generation_seconds_sum");
  // The first job lasts at least its 20 ms timer on any machine; there is no upper bound to race.
  ok(Number.isFinite(sum) && sum >= 0.02, `the sum covers both jobs' seconds: ${sum}`);
});

Deno.test("parsePrometheus() rejects text that is not the Prometheus format", () => {
  const valid = "# TYPE a counter\na 1\n";
  equal(parsePrometheus(valid).value("a"), 1);
  throws(() => parsePrometheus("a 1\n"), /before its TYPE/);
  throws(() => parsePrometheus("# TYPE a counter\na one\n"), /bad value/);
  throws(() => parsePrometheus('# TYPE a counter\na{x="1} 1\n'), /not a sample|bad labels/);
  throws(() => parsePrometheus("# TYPE a counter\na 1"), /newline/);
  throws(() => parsePrometheus("# TYPE a counter\na_bucket 1\n"), /suffixed/);
});
