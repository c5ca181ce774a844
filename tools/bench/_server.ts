/**
 * The real server (`main.ts`): request → first preview and → final PNG over HTTP and WS, preview
 * overhead, throughput with several WS clients, and memory.
 *
 * @module
 */
import {
  httpGenerate,
  openWs,
  peakResidentBytes,
  residentBytes,
  startServer,
  waitHealthy,
  type WsTiming,
} from "../_bench_server.ts";
import { interleave, pairedRatio, summarize } from "../bench_stats.ts";
import { type BenchContext, median, PROMPT } from "./_context.ts";

/** Latency, preview overhead, throughput and memory of one server. */
export async function serverBench(ctx: BenchContext, serverBackend: string | undefined) {
  const cacheDir = await Deno.makeTempDir({ prefix: "bench-cache-" });
  const env: Record<string, string> = { CACHE_DIR: cacheDir };
  if (serverBackend) env.BACKEND = serverBackend;
  const server = await startServer(env);
  try {
    await server.ready;
    const health = await waitHealthy(server.url);
    const url = server.url;
    const rssStart = await residentBytes(url);
    let peakSampled = rssStart;
    const poll = setInterval(() => {
      residentBytes(url).then((b) => peakSampled = Math.max(peakSampled, b), () => {});
    }, 200);
    const body = (steps: number, seed: number) => ({
      prompt: PROMPT,
      steps,
      seed,
      guidance: { mode: "gag" },
    });
    ctx.log(`server on ${health.backend}: 100 generations for memory`);
    for (let i = 0; i < 100; i++) await httpGenerate(url, body(4, 50_000 + i));
    const rssAfter100 = await residentBytes(url);
    ctx.log("latency");
    const ws = await openWs(url);
    const latency = [];
    let seed = 1;
    for (const steps of [1, 2, 4]) {
      const wsTimes: WsTiming[] = [];
      const times = await interleave({
        http: () => httpGenerate(url, body(steps, seed++)),
        ws: async () => wsTimes.push(await ws.generate({ ...body(steps, seed++), previews: { every: 1 } })),
      }, { rounds: ctx.quick ? 8 : 30, warmup: 1 });
      latency.push({
        steps,
        httpFinalMs: summarize(times.http),
        wsFirstPreviewMs: summarize(wsTimes.slice(1).map((t) => t.firstPreviewMs)),
        wsFinalMs: summarize(wsTimes.slice(1).map((t) => t.finalMs)),
      });
    }
    ctx.log("preview overhead");
    const overhead = [];
    for (const steps of [4, 8]) {
      const on: WsTiming[] = [], off: WsTiming[] = [];
      await interleave({
        previews: async () => on.push(await ws.generate({ ...body(steps, seed++), previews: { every: 1 } })),
        none: async () => off.push(await ws.generate({ ...body(steps, seed++), previews: false })),
      }, { rounds: ctx.quick ? 10 : 30, warmup: 1 });
      const r = pairedRatio(on.slice(1).map((t) => t.finalMs), off.slice(1).map((t) => t.finalMs));
      const rs = pairedRatio(on.slice(1).map((t) => t.serverMs), off.slice(1).map((t) => t.serverMs));
      overhead.push({
        steps,
        withPreviewsMs: median(on.map((t) => t.finalMs)),
        withoutMs: median(off.map((t) => t.finalMs)),
        clientShare: r.median - 1,
        clientShareP10P90: [r.p10 - 1, r.p90 - 1],
        serverShare: rs.median - 1,
      });
    }
    ws.close();
    ctx.log("throughput");
    // Short windows of 1, 4 and 8 clients in rotating order, summed per client count, so load that comes
    // and goes during the run falls on every count alike.
    const counts = [1, 4, 8];
    const tally = new Map(counts.map((c) => [c, { jobs: [] as number[], ms: 0 }]));
    let jobSeed = 10_000;
    for (let round = 0; round < (ctx.quick ? 1 : 3); round++) {
      for (let j = 0; j < counts.length; j++) {
        const clients = counts[(round + j) % counts.length];
        const sockets = await Promise.all(Array.from({ length: clients }, () => openWs(url)));
        const windowMs = (ctx.quick ? 3 : 4) * 1000;
        const t0 = performance.now();
        const jobs: number[] = [];
        await Promise.all(sockets.map(async (s) => {
          while (performance.now() - t0 < windowMs) {
            const t = await s.generate({ ...body(4, jobSeed++), previews: { every: 1 } });
            jobs.push(t.finalMs);
          }
        }));
        const entry = tally.get(clients)!;
        entry.ms += performance.now() - t0;
        entry.jobs.push(...jobs);
        sockets.forEach((s) => s.close());
      }
    }
    const throughput = counts.map((clients) => {
      const { jobs, ms } = tally.get(clients)!;
      return {
        clients,
        generations: jobs.length,
        perSecond: jobs.length / (ms / 1000),
        latencyMs: summarize(jobs),
      };
    });
    const rssEnd = await residentBytes(url);
    clearInterval(poll);
    const peakHwm = await peakResidentBytes(server.pid);
    return {
      backend: health.backend as string,
      backendReason: health.backendReason as string,
      concurrency: "server defaults (CONCURRENCY=8, batched)",
      latency,
      overhead,
      throughput,
      memory: { rssStart, rssAfter100, rssEnd, peakSampled: Math.max(peakSampled, rssEnd), peakHwm },
    };
  } finally {
    await server.close();
    await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
  }
}

/** What {@linkcode serverBench} measured. */
export type ServerResult = Awaited<ReturnType<typeof serverBench>>;
