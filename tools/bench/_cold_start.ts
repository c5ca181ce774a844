/**
 * Cold start: process start → listening → healthy → first final image over HTTP, with and without the
 * patched-model cache.
 *
 * @module
 */
import { httpGenerate, startServer, type StartupStages, waitHealthy } from "../_bench_server.ts";
import { type BenchContext, median, PROMPT } from "./_context.ts";

/** One cold start: process start → listening → healthy → first final image over HTTP. */
async function coldStart(cacheDir: string, serverBackend: string | undefined) {
  const env: Record<string, string> = { CACHE_DIR: cacheDir };
  if (serverBackend) env.BACKEND = serverBackend;
  const server = await startServer(env);
  try {
    const stages: StartupStages = await server.ready;
    const health = await waitHealthy(server.url);
    const healthyAt = performance.now();
    await httpGenerate(server.url, { prompt: PROMPT, steps: 4, seed: 1 });
    const doneAt = performance.now();
    return {
      listenMs: server.listeningAt - server.spawnedAt,
      healthyMs: healthyAt - server.spawnedAt,
      firstImageMs: doneAt - server.spawnedAt,
      stages,
      healthzStartupMs: health.startupMs as StartupStages,
      cacheLine: /patched-model cache (\w+)/.exec(server.output())?.[1] ?? "?",
      backend: /backend: (\w+)/.exec(server.output())?.[1] ?? "?",
    };
  } finally {
    await server.close();
  }
}

/** Cold starts with and without the patched-model cache, alternating, each the median of fresh processes. */
export async function coldStarts(ctx: BenchContext, serverBackend: string | undefined) {
  const runs = ctx.quick ? 2 : 5;
  const shared = await Deno.makeTempDir({ prefix: "bench-cache-" });
  await coldStart(shared, serverBackend); // fills the cache; not counted
  type Run = Awaited<ReturnType<typeof coldStart>>;
  const noCache: Run[] = [], cache: Run[] = [];
  for (let i = 0; i < runs; i++) {
    const fresh = await Deno.makeTempDir({ prefix: "bench-nocache-" });
    noCache.push(await coldStart(fresh, serverBackend));
    await Deno.remove(fresh, { recursive: true }).catch(() => {});
    cache.push(await coldStart(shared, serverBackend));
    ctx.log(
      `cold start ${i + 1}/${runs}: ${noCache.at(-1)!.firstImageMs.toFixed(0)} / ${
        cache.at(-1)!.firstImageMs.toFixed(0)
      } ms`,
    );
  }
  await Deno.remove(shared, { recursive: true }).catch(() => {});
  const sum = (xs: Run[]) => ({
    runs: xs,
    firstImageMs: median(xs.map((x) => x.firstImageMs)),
    listenMs: median(xs.map((x) => x.listenMs)),
    healthyMs: median(xs.map((x) => x.healthyMs)),
    // Every stage the server logs (its set grows with the engine), each the median over the runs.
    stages: Object.fromEntries(
      [...new Set(xs.flatMap((x) => Object.keys(x.stages)))].map((k) => [
        k,
        median(xs.map((x) => (x.stages as Record<string, number>)[k] ?? NaN)),
      ]),
    ) as Record<string, number>,
    cache: [...new Set(xs.map((x) => x.cacheLine))].join("/"),
    backend: [...new Set(xs.map((x) => x.backend))].join("/"),
  });
  return { noCache: sum(noCache), cache: sum(cache) };
}

/** What {@linkcode coldStarts} measured. */
export type ColdStartResult = Awaited<ReturnType<typeof coldStarts>>;
