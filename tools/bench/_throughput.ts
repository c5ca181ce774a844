/**
 * Serving throughput, batched against unbatched: jobs per second and latency for 1, 4, 8 and 16
 * concurrent WebSocket clients at 1 and 4 steps, on two servers started side by side.
 *
 * - batched: the server's defaults (`CONCURRENCY` 8, batches of up to 8 rows, 10 ms wait);
 * - unbatched: one job at a time (`CONCURRENCY=1`, `BATCH_MAX_ROWS=1`), the server as it was before.
 *
 * Each client sends its next job when its last one is done (GAG, previews every step). Short windows of
 * every (server, steps, clients) cell run in rotating order, round after round, so load that comes and
 * goes on shared cores falls on every cell alike; ratios are medians of per-round ratios. An unmeasured
 * short window of every cell comes first.
 *
 * @module
 */
import { openWs, startServer, waitHealthy } from "../_bench_server.ts";
import { pairedRatio, quantile } from "../bench_stats.ts";
import { type BenchContext, PROMPT } from "./_context.ts";

/** The two server set-ups compared. */
export const SERVERS: Record<"batched" | "unbatched", Record<string, string>> = {
  batched: {},
  unbatched: { CONCURRENCY: "1", BATCH_MAX_ROWS: "1" },
};

/** Server set-up names. */
export type ServerName = keyof typeof SERVERS;

/** Client counts and step counts measured. */
export const CLIENTS = [1, 4, 8, 16] as const;
export const STEPS = [1, 4] as const;

/** One cell of the table. */
export interface ThroughputCell {
  server: ServerName;
  steps: number;
  clients: number;
  /** Jobs that ended in their final image, over all windows. */
  jobs: number;
  /** Jobs that failed (none expected). */
  failed: number;
  /** Jobs per second over all windows. */
  perSecond: number;
  /** Jobs per second of each round's window, for paired ratios. */
  perRound: number[];
  /** Send → final image, ms. */
  latencyMs: { p50: number; p95: number };
}

/** What {@linkcode throughputBench} measured. */
export interface ThroughputResult {
  backend: string;
  windowMs: number;
  rounds: number;
  cells: ThroughputCell[];
  /** 8 clients over 1 sequential client, batched server, 1 step (median of per-round ratios). */
  eightOverOne: { median: number; p10: number; p90: number };
  /** Batched over unbatched server with 8 clients, 1 step. */
  batchedOverUnbatched: { median: number; p10: number; p90: number };
}

/** Runs `clients` sockets for `windowMs`, each sending its next job when the last one is done. */
async function window(url: string, clients: number, steps: number, windowMs: number, seed: { next: number }) {
  const sockets = await Promise.all(Array.from({ length: clients }, () => openWs(url)));
  const latencies: number[] = [];
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(sockets.map(async (s) => {
    while (performance.now() - t0 < windowMs) {
      try {
        const t = await s.generate({
          prompt: PROMPT,
          steps,
          seed: seed.next++,
          guidance: { mode: "gag" },
          previews: { every: 1 },
        });
        if (Number.isFinite(t.finalMs)) latencies.push(t.finalMs);
        else failed++;
      } catch {
        failed++;
      }
    }
  }));
  const ms = performance.now() - t0;
  sockets.forEach((s) => s.close());
  return { latencies, failed, ms };
}

/** Measures every (server, steps, clients) cell; see the module comment. */
export async function throughputBench(
  ctx: BenchContext,
  serverBackend: string | undefined,
): Promise<ThroughputResult> {
  const windowMs = (ctx.quick ? 2 : 4) * 1000;
  const rounds = ctx.quick ? 2 : 4;
  const backend: Record<string, string> = serverBackend ? { BACKEND: serverBackend } : {};
  const servers = {
    batched: await startServer({ ...backend, ...SERVERS.batched }),
    unbatched: await startServer({ ...backend, ...SERVERS.unbatched }),
  };
  try {
    const health = await waitHealthy(servers.batched.url);
    await waitHealthy(servers.unbatched.url);
    const cells = new Map<string, { latencies: number[]; failed: number; ms: number; perRound: number[] }>();
    const key = (server: string, steps: number, clients: number) => `${server}/${steps}/${clients}`;
    const order = (Object.keys(SERVERS) as ServerName[]).flatMap((server) =>
      STEPS.flatMap((steps) => CLIENTS.map((clients) => ({ server, steps, clients })))
    );
    const seed = { next: 100_000 };
    // One unmeasured short window per cell first: onnxruntime's first call at each batch size is slow.
    ctx.log("throughput warm-up");
    for (const { server, steps, clients } of order) {
      await window(servers[server].url, clients, steps, 500, seed);
    }
    for (let round = 0; round < rounds; round++) {
      ctx.log(`throughput round ${round + 1}/${rounds}`);
      for (let j = 0; j < order.length; j++) {
        const { server, steps, clients } = order[(round * 5 + j) % order.length];
        const w = await window(servers[server].url, clients, steps, windowMs, seed);
        const cell = cells.get(key(server, steps, clients)) ??
          { latencies: [], failed: 0, ms: 0, perRound: [] };
        cell.latencies.push(...w.latencies);
        cell.failed += w.failed;
        cell.ms += w.ms;
        cell.perRound.push(w.latencies.length / (w.ms / 1000));
        cells.set(key(server, steps, clients), cell);
      }
    }
    const result = order.map(({ server, steps, clients }): ThroughputCell => {
      const c = cells.get(key(server, steps, clients))!;
      return {
        server,
        steps,
        clients,
        jobs: c.latencies.length,
        failed: c.failed,
        perSecond: c.latencies.length / (c.ms / 1000),
        perRound: c.perRound,
        latencyMs: { p50: quantile(c.latencies, 0.5), p95: quantile(c.latencies, 0.95) },
      };
    });
    const cell = (server: ServerName, clients: number) =>
      result.find((c) => c.server === server && c.steps === 1 && c.clients === clients)!.perRound;
    return {
      backend: health.backend as string,
      windowMs,
      rounds,
      cells: result,
      eightOverOne: pairedRatio(cell("batched", 8), cell("batched", 1)),
      batchedOverUnbatched: pairedRatio(cell("batched", 8), cell("unbatched", 8)),
    };
  } finally {
    await servers.batched.close();
    await servers.unbatched.close();
  }
}
