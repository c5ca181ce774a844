/**
 * A load test of the WebSocket API: many clients each run many jobs against a server this tool starts
 * (or an existing one), checking that every accepted job delivers its final image before `done`.
 *
 * ```sh
 * deno run -A tools/load.ts                          # 16 clients × 50 jobs, model default steps
 * deno run -A tools/load.ts --clients 32 --inflight 2 --queue 8
 * deno run -A tools/load.ts --url http://10.0.0.5:8000 --token "$AUTH_TOKEN"
 * ```
 *
 * Options: --clients (16), --jobs per client (50), --inflight jobs per client at once (1), --steps (the
 * model's default), --previews / --no-previews (on: one PNG per step, like the web client), --prompt,
 * --url (skip starting a server), --token (AUTH_TOKEN of that server), --concurrency and --queue
 * (CONCURRENCY and QUEUE_SIZE of the started server), --backend (its BACKEND), --json (print the report
 * as JSON).
 *
 * It reports latency from sending a job to its `done` event (p50 / p95 / p99 / max), the server's own
 * generation time, the queue wait, time to the first preview, throughput, how many jobs were refused as
 * busy, and peak resident memory and queue depth polled from `/metrics`. It exits 1 when an accepted job
 * ends without its final image or with an error other than busy. Not a CI test: run it on demand.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { FRAME_HEADER_BYTES, FRAME_KIND } from "../routes/protocol.ts";
import { startServer, waitHealthy } from "./_bench_server.ts";
import { quantile } from "./bench_stats.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    clients: { type: "string", default: "16" },
    jobs: { type: "string", default: "50" },
    inflight: { type: "string", default: "1" },
    steps: { type: "string" },
    previews: { type: "boolean", default: true },
    "no-previews": { type: "boolean", default: false },
    prompt: { type: "string", default: "a thick seven slanted right" },
    url: { type: "string" },
    token: { type: "string" },
    concurrency: { type: "string" },
    queue: { type: "string" },
    backend: { type: "string" },
    json: { type: "boolean", default: false },
  },
});

const positive = (name: string, text: string | undefined): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(
      `Cannot run the load test as --${name} must be a positive integer: current value is ${text}`,
    );
  }
  return n;
};
const CLIENTS = positive("clients", a.clients);
const JOBS = positive("jobs", a.jobs);
const INFLIGHT = positive("inflight", a.inflight);
const STEPS = a.steps === undefined ? undefined : positive("steps", a.steps);
const PREVIEWS = a.previews && !a["no-previews"];

/** How one job went, as the client saw it (ms from sending it). */
interface JobResult {
  outcome: "done" | "busy" | "error" | "no-final";
  latencyMs: number;
  queueMs?: number;
  firstPreviewMs?: number;
  serverMs?: number;
  message?: string;
}

/** Peaks of what `/metrics` reported while the load ran. */
interface Peaks {
  rssStart: number;
  rssPeak: number;
  rssEnd: number;
  queueDepthPeak: number;
  samples: number;
}

function metric(text: string, name: string): number {
  const m = text.match(new RegExp(`^${name} ([0-9.e+]+)$`, "m"));
  return m ? Number(m[1]) : NaN;
}

/** Polls `/metrics` every `everyMs` until stopped; returns the peaks. */
function pollMetrics(url: string, headers: HeadersInit, everyMs = 200) {
  const peaks: Peaks = { rssStart: NaN, rssPeak: 0, rssEnd: NaN, queueDepthPeak: 0, samples: 0 };
  let stopped = false;
  const sample = async () => {
    const text = await (await fetch(`${url}/metrics`, { headers })).text();
    const rss = metric(text, "process_resident_memory_bytes");
    if (Number.isNaN(peaks.rssStart)) peaks.rssStart = rss;
    peaks.rssPeak = Math.max(peaks.rssPeak, rss);
    peaks.rssEnd = rss;
    peaks.queueDepthPeak = Math.max(peaks.queueDepthPeak, metric(text, "gag_queue_depth"));
    peaks.samples++;
  };
  const loop = (async () => {
    while (!stopped) {
      await sample().catch(() => {});
      await new Promise((r) => setTimeout(r, everyMs));
    }
    await sample();
  })();
  return {
    async stop(): Promise<Peaks> {
      stopped = true;
      await loop;
      return peaks;
    },
  };
}

/** One client: a socket that runs `jobs` jobs, `inflight` at a time. */
async function runClient(wsUrl: string, client: number): Promise<JobResult[]> {
  const ws = new WebSocket(wsUrl);
  ws.binaryType = "arraybuffer";
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`Cannot open a socket to ${wsUrl}`));
  });
  interface Pending {
    t0: number;
    started?: number;
    firstPreview?: number;
    final?: boolean;
    finish: (r: JobResult) => void;
  }
  const pending = new Map<string, Pending>();
  const decoder = new TextDecoder();
  ws.onmessage = (e) => {
    const now = performance.now();
    if (typeof e.data !== "string") {
      const bytes = new Uint8Array(e.data as ArrayBuffer);
      const id = decoder.decode(bytes.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + bytes[7]));
      const job = pending.get(id);
      if (!job) return;
      const hasImage = bytes.length > FRAME_HEADER_BYTES + bytes[7];
      if (bytes[1] === FRAME_KIND.preview) job.firstPreview ??= now;
      if (bytes[1] === FRAME_KIND.final && hasImage) job.final = true;
      return;
    }
    const event = JSON.parse(e.data);
    const job = pending.get(event.id);
    if (!job) return;
    const latencyMs = now - job.t0;
    if (event.type === "started") job.started = now;
    else if (event.type === "done") {
      job.finish({
        outcome: job.final ? "done" : "no-final",
        latencyMs,
        queueMs: job.started === undefined ? undefined : job.started - job.t0,
        firstPreviewMs: job.firstPreview === undefined ? undefined : job.firstPreview - job.t0,
        serverMs: event.elapsedMs,
      });
    } else if (event.type === "error" || event.type === "cancelled") {
      const busy = event.type === "error" && event.code === "busy";
      job.finish({ outcome: busy ? "busy" : "error", latencyMs, message: `${event.code}: ${event.message}` });
    }
  };
  const closed = new Promise<void>((resolve) => ws.onclose = () => resolve());
  let next = 0;
  const results: JobResult[] = [];
  const worker = async () => {
    while (next < JOBS) {
      const id = `c${client}-j${next++}`;
      results.push(
        await new Promise<JobResult>((resolve) => {
          pending.set(id, { t0: performance.now(), finish: resolve });
          ws.send(JSON.stringify({
            type: "generate",
            id,
            prompt: a.prompt,
            ...(STEPS ? { steps: STEPS } : {}),
            previews: PREVIEWS ? { every: 1, format: "png" } : false,
          }));
        }),
      );
      pending.delete(id);
    }
  };
  await Promise.race([
    Promise.all(Array.from({ length: INFLIGHT }, worker)),
    closed.then(() => {
      throw new Error(`Socket of client ${client} closed during the load test`);
    }),
  ]);
  ws.close();
  await closed;
  return results;
}

const ms = (x: number | undefined) => x === undefined || Number.isNaN(x) ? "-" : `${Math.round(x)} ms`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function main(): Promise<number> {
  const cacheDir = a.url ? null : await Deno.makeTempDir({ prefix: "gag-load-cache-" });
  const server = a.url ? null : await startServer({
    LOG_LEVEL: "warn",
    CACHE_DIR: cacheDir!,
    ...(a.concurrency ? { CONCURRENCY: a.concurrency } : {}),
    ...(a.queue ? { QUEUE_SIZE: a.queue } : {}),
    ...(a.backend ? { BACKEND: a.backend } : {}),
  });
  try {
    const url = (a.url ?? server!.url).replace(/\/$/, "");
    const health = await waitHealthy(url);
    const headers: HeadersInit = a.token ? { authorization: `Bearer ${a.token}` } : {};
    const wsUrl = `${url.replace(/^http/, "ws")}/ws${a.token ? `?token=${encodeURIComponent(a.token)}` : ""}`;
    const poller = pollMetrics(url, headers);
    const t0 = performance.now();
    const results = (await Promise.all(Array.from({ length: CLIENTS }, (_, i) => runClient(wsUrl, i))))
      .flat();
    const wallMs = performance.now() - t0;
    const peaks = await poller.stop();

    const done = results.filter((r) => r.outcome === "done");
    const of = (k: keyof JobResult) =>
      done.map((r) => r[k]).filter((x): x is number => typeof x === "number");
    const q = (xs: number[], p: number) => quantile(xs, p);
    const lat = of("latencyMs");
    const report = {
      machine: { cores: navigator.hardwareConcurrency, backend: health.backend },
      load: {
        clients: CLIENTS,
        jobsPerClient: JOBS,
        inflight: INFLIGHT,
        steps: STEPS ?? "default",
        previews: PREVIEWS,
      },
      jobs: {
        sent: results.length,
        done: done.length,
        busy: results.filter((r) => r.outcome === "busy").length,
        errors: results.filter((r) => r.outcome === "error").length,
        missingFinal: results.filter((r) => r.outcome === "no-final").length,
      },
      latencyMs: { p50: q(lat, 0.5), p95: q(lat, 0.95), p99: q(lat, 0.99), max: Math.max(...lat) },
      generationMs: { p50: q(of("serverMs"), 0.5), p95: q(of("serverMs"), 0.95) },
      queueWaitMs: { p50: q(of("queueMs"), 0.5), p95: q(of("queueMs"), 0.95) },
      firstPreviewMs: { p50: q(of("firstPreviewMs"), 0.5), p95: q(of("firstPreviewMs"), 0.95) },
      throughputPerS: done.length / (wallMs / 1000),
      wallS: wallMs / 1000,
      memory: {
        rssStart: peaks.rssStart,
        rssPeak: peaks.rssPeak,
        rssEnd: peaks.rssEnd,
        samples: peaks.samples,
      },
      queueDepthPeak: peaks.queueDepthPeak,
    };
    const failures = results.filter((r) => r.outcome === "error" || r.outcome === "no-final");
    if (a.json) {
      console.log(JSON.stringify(report, null, 2));
    } else {
      const j = report.jobs;
      console.log(
        [
          `load: ${CLIENTS} clients × ${JOBS} jobs (${INFLIGHT} in flight each), steps ${report.load.steps}, ` +
          `previews ${
            PREVIEWS ? "on" : "off"
          }; ${report.machine.cores} cores, backend ${report.machine.backend}`,
          `jobs: ${j.done} done of ${j.sent}, ${j.busy} busy, ${j.errors} errors, ${j.missingFinal} without final image`,
          `latency (send → done): p50 ${ms(report.latencyMs.p50)}, p95 ${ms(report.latencyMs.p95)}, ` +
          `p99 ${ms(report.latencyMs.p99)}, max ${ms(report.latencyMs.max)}`,
          `generation (server): p50 ${ms(report.generationMs.p50)}, p95 ${ms(report.generationMs.p95)}`,
          `queue wait: p50 ${ms(report.queueWaitMs.p50)}, p95 ${ms(report.queueWaitMs.p95)}; ` +
          `first preview: p50 ${ms(report.firstPreviewMs.p50)}, p95 ${ms(report.firstPreviewMs.p95)}`,
          `throughput: ${report.throughputPerS.toFixed(2)} jobs/s over ${report.wallS.toFixed(1)} s`,
          `memory (RSS, /metrics every 200 ms): start ${mib(peaks.rssStart)}, peak ${mib(peaks.rssPeak)}, ` +
          `end ${mib(peaks.rssEnd)}; peak queue depth ${peaks.queueDepthPeak}`,
        ].join("\n"),
      );
    }
    for (const f of failures.slice(0, 5)) console.error(`failed job: ${f.outcome} ${f.message ?? ""}`);
    return failures.length ? 1 : 0;
  } finally {
    await server?.close();
    if (cacheDir) await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
  }
}

Deno.exit(await main());
