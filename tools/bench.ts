/**
 * `deno task bench`: how fast guidance is on this machine.
 *
 * - per denoiser call, on each backend (native = onnxruntime-node, wasm, WebGPU): the unpatched denoiser
 *   against the guidance-patched one fed none / PLADIS / GAG, interleaved so drift cancels in the ratios;
 *   model FLOPs per call from the ONNX graph, and the backend's fp32 matmul roof;
 * - per generation: GAG against CFG (which runs the batch twice) and no guidance;
 * - the same denoiser in PyTorch eager (what a user would run instead), where python3-torch is installed;
 * - the real server (`main.ts`): request → first preview and → final PNG over HTTP and WS, preview
 *   overhead, throughput with 1, 4 and 8 WS clients, memory, and cold start with and without the
 *   patched-model cache, on the server's backend and on onnxruntime-node.
 *
 * ```sh
 * deno task bench            # the full run, about 8 minutes on 2 cores
 * deno task bench --quick    # fewer rounds and cold starts, about 3 minutes
 * deno task bench --only percall,server
 * ```
 *
 * Options: --quick, --only percall|server|coldstart (comma-separated), --backends native,native-spin,wasm,webgpu,
 * --server-backend (BACKEND of the server, default the server's own choice), --cfg (CFG scale, default 3),
 * --out (file base, default docs/results/bench). Writes `<out>.md` and `<out>.json`.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  type BackendName,
  createBackend,
  createEngine,
  createTextTokenizer,
  gaussianNoise,
  guidancePatch,
  jobGuidanceFeeds,
  type TensorValue,
} from "../sampler/mod.ts";
import { countFlops, type FlopCount, matmulRoof } from "./model_flops.ts";
import {
  httpGenerate,
  openWs,
  peakResidentBytes,
  residentBytes,
  startServer,
  type StartupStages,
  waitHealthy,
  type WsTiming,
} from "./_bench_server.ts";
import { interleave, pairedRatio, quantile, summarize } from "./_bench_stats.ts";
import { describeModel, fmt, markdownTable, writeReport } from "./_report.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const MODEL_ID = "digits";
const MODEL_DIR = join(ROOT, "models", MODEL_ID);
const PROMPT = "a thick seven slanted right";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string", default: "percall,server,coldstart" },
    backends: { type: "string", default: "native,native-spin,wasm,webgpu" },
    "server-backend": { type: "string" },
    cfg: { type: "string", default: "3" },
    out: { type: "string", default: join(ROOT, "docs", "results", "bench") },
    child: { type: "string" },
  },
});
const quick = a.quick!;
const CFG = Number(a.cfg);
const started = performance.now();
/** The 1-minute load average, to say how busy the machine was. */
const loadAverage = () => {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
};
const loadAtStart = loadAverage();
const log = (msg: string) =>
  console.error(`[bench ${((performance.now() - started) / 1000).toFixed(1)} s] ${msg}`);

// ---------------------------------------------------------------------------------------------- per call

/** What one backend's child process measures. */
interface BackendResult {
  backend: string;
  reason: string;
  /** Per-call times (ms) by variant, interleaved. */
  calls: Record<"unpatched" | "none" | "pladis" | "gag", number[]>;
  /** Per-generation times (ms, 4 steps) by mode, interleaved. */
  generations: Record<"none" | "gag" | "cfg", number[]>;
  roof: { n: number; gflops: number; medianGflops: number };
  flops?: { unpatched: FlopCount; patched: FlopCount };
  /** The input and unpatched output of one call, for the PyTorch comparison. */
  reference?: { ids: number[]; x: number[]; t: number; dt: number; onnxVelocity: number[] };
  sessionMs: { unpatched: number; patched: number };
  /** onnxruntime's graph optimisation level of the timed sessions (the engine's, from the manifest). */
  optimization?: string;
  /** The WebGPU adapter, for the webgpu row. */
  adapter?: string;
}

/** Vendor and description of the WebGPU adapter Deno offers. */
async function adapterName(): Promise<string> {
  const adapter = await (navigator as Navigator & { gpu?: GPU }).gpu?.requestAdapter().catch(() => null);
  if (!adapter) return "none";
  const { vendor, description, isFallbackAdapter } = adapter.info;
  return `${vendor} ${description}${isFallbackAdapter ? " (a software fallback)" : ""}`.trim();
}

/** Backends a child can measure: the engine's three, and native with onnxruntime's thread spinning on. */
type BenchBackend = BackendName | "native-spin";

/** Runs in a child process: times one backend (a crash or hang of one backend stays there). */
async function measureBackend(name: BenchBackend): Promise<BackendResult> {
  const spin = name === "native-spin";
  // WebGPU on a software adapter (llvmpipe) takes seconds per call: few rounds, and no generations.
  const slow = name === "webgpu";
  const rounds = slow ? (quick ? 3 : 6) : quick ? 30 : 300;
  const budgetMs = (slow ? 40 : quick ? 8 : 30) * 1000;
  const engine = await createEngine({
    modelsDir: join(ROOT, "models"),
    models: [MODEL_ID],
    backend: spin ? "native" : name,
    patch: guidancePatch,
    log: () => {},
  });
  const backend = spin ? await createBackend("native", { spinning: true, log: () => {} }) : engine.backend;
  const pipeline = engine.pipeline(MODEL_ID);
  const m = pipeline.manifest;
  if (m.kind !== "flow") throw new Error(`Cannot bench model '${MODEL_ID}' as it is not a flow model`);
  const dn = m.denoiser;
  const source = await Deno.readFile(join(MODEL_DIR, dn.file));
  const patched = await guidancePatch(source, {
    layers: m.guidance.layers,
    textInput: dn.inputs.text,
    path: join(MODEL_DIR, dn.file),
  });
  let t0 = performance.now();
  // The engine's own session options for this model (its manifest may lower graph optimisation).
  const sessionOptions = { optimization: m.optimization };
  const plain = await backend.createSession(source, "denoiser (unpatched)", sessionOptions);
  const unpatchedMs = performance.now() - t0;
  t0 = performance.now();
  const guided = await backend.createSession(patched.model, "denoiser (patched)", sessionOptions);
  const patchedMs = performance.now() - t0;

  const { states } = await pipeline.encodeText([PROMPT]);
  const x = gaussianNoise(1, 28 * 28);
  const base: Record<string, TensorValue> = {
    [dn.inputs.sample]: { data: x, dims: [1, 1, 28, 28] },
    [dn.inputs.time]: { data: Float32Array.of(0), dims: [1] },
    [dn.inputs.text]: states,
  };
  if (dn.inputs.stepSize) base[dn.inputs.stepSize] = { data: Float32Array.of(0.25), dims: [1] };
  const d = m.guidance.defaults;
  const feeds = (mode: "none" | "pladis" | "gag") => ({
    ...base,
    ...jobGuidanceFeeds(patched.inputs, {
      mode,
      scale: mode === "pladis" ? d.pladis.scale : mode === "gag" ? d.gag.scale : 0,
      eta: d.gag.eta,
      zeta: d.gag.zeta,
      layers: m.guidance.layers,
    }),
  });
  const fNone = feeds("none"), fPladis = feeds("pladis"), fGag = feeds("gag");
  log(`${name}: sessions ready (${unpatchedMs.toFixed(0)} / ${patchedMs.toFixed(0)} ms), timing calls`);
  const calls = await interleave({
    unpatched: () => plain.run(base),
    none: () => guided.run(fNone),
    pladis: () => guided.run(fPladis),
    gag: () => guided.run(fGag),
  }, { rounds, warmup: slow ? 1 : 3, budgetMs });
  log(`${name}: ${calls.gag.length} rounds of calls`);
  const req = { prompt: PROMPT, steps: 4 };
  let seed = 0;
  // The engine takes no spinning option, so that row has per-call figures only.
  const generations = spin || slow ? { none: [], gag: [], cfg: [] } : await interleave({
    none: () => engine.generate(engine.prepare({ ...req, seed: seed++ })),
    gag: () => engine.generate(engine.prepare({ ...req, seed: seed++, guidance: { mode: "gag" } })),
    cfg: () => engine.generate(engine.prepare({ ...req, seed: seed++, cfg: CFG })),
  }, { rounds: quick ? 10 : 100, warmup: 1, budgetMs: (quick ? 6 : 20) * 1000 });
  if (generations.gag.length) log(`${name}: ${generations.gag.length} rounds of generations`);
  const roof = await matmulRoof(
    backend,
    slow ? { n: 512, runs: 2 } : { runs: name.startsWith("native") ? 10 : 3 },
  );
  const result: BackendResult = {
    backend: name,
    reason: backend.reason,
    adapter: slow ? await adapterName() : undefined,
    optimization: m.optimization,
    calls,
    generations,
    roof,
    sessionMs: { unpatched: unpatchedMs, patched: patchedMs },
  };
  if (name === "native") {
    result.flops = {
      unpatched: await countFlops(backend, source, base),
      patched: await countFlops(backend, patched.model, fGag),
    };
    const v = (await plain.run(base))[dn.output].data as Float32Array;
    const tok = JSON.parse(await Deno.readTextFile(join(MODEL_DIR, m.tokenizer.file)));
    const ids = createTextTokenizer(tok, m.tokenizer).encode(PROMPT).ids;
    result.reference = { ids, x: [...x], t: 0, dt: 0.25, onnxVelocity: [...v] };
  }
  await plain.release();
  await guided.release();
  await engine.close();
  return result;
}

/** Runs `measureBackend` in a child process and parses its JSON. */
async function runBackendChild(name: string): Promise<BackendResult | { backend: string; error: string }> {
  const args = ["run", "-A", new URL(import.meta.url).pathname, "--child", name, "--cfg", String(CFG)];
  if (quick) args.push("--quick");
  const xdg = await Deno.makeTempDir({ prefix: "xdg-" });
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
    env: { XDG_RUNTIME_DIR: xdg },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
  const out = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  if (!out.success) return { backend: name, error: `exited with code ${out.code}: ${text.slice(0, 300)}` };
  try {
    return JSON.parse(text);
  } catch {
    return { backend: name, error: `printed no result: ${text.slice(0, 300)}` };
  }
}

/** The PyTorch eager reference (skipped with a note when python3-torch is missing). */
async function torchReference(reference: NonNullable<BackendResult["reference"]>) {
  const python = "/usr/bin/python3";
  const probe = await new Deno.Command(python, { args: ["-c", "import torch, numpy"], stderr: "null" })
    .output()
    .catch(() => null);
  if (!probe?.success) {
    return { skipped: `${python} with torch and numpy is not installed (apt-get install python3-torch)` };
  }
  if (!(await Deno.stat(join(ROOT, ".cache", "train", "ckpt.pt")).then(() => true, () => false))) {
    return { skipped: "the training checkpoint .cache/train/ckpt.pt is missing" };
  }
  const spec = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    spec,
    JSON.stringify({ ...reference, runs: quick ? 40 : 150, budgetS: quick ? 6 : 20 }),
  );
  const out = await new Deno.Command(python, {
    args: [join(ROOT, "tools", "_bench_torch.py"), spec],
    cwd: ROOT,
  })
    .output();
  await Deno.remove(spec);
  if (!out.success) {
    return { skipped: `the PyTorch run failed: ${new TextDecoder().decode(out.stderr).slice(-300)}` };
  }
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!) as TorchResult;
}

/** What `_bench_torch.py` prints. */
interface TorchResult {
  torch: string;
  threads: number;
  checkpointStep: number;
  /** Per-call times (ms) by thread count. */
  timesMs: Record<string, number[]>;
  maxAbsDiffToOnnx: number;
  roofGflops: { torch: number; numpy: number };
}

// ---------------------------------------------------------------------------------------------- server

const median = (xs: number[]) => quantile(xs.filter(Number.isFinite), 0.5);

/** Latency, preview overhead, throughput and memory of one server. */
async function serverBench(serverBackend: string | undefined) {
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
    log(`server on ${health.backend}: 100 generations for memory`);
    for (let i = 0; i < 100; i++) await httpGenerate(url, body(4, 50_000 + i));
    const rssAfter100 = await residentBytes(url);
    log("latency");
    const ws = await openWs(url);
    const latency = [];
    let seed = 1;
    for (const steps of [1, 2, 4]) {
      const wsTimes: WsTiming[] = [];
      const times = await interleave({
        http: () => httpGenerate(url, body(steps, seed++)),
        ws: async () => wsTimes.push(await ws.generate({ ...body(steps, seed++), previews: { every: 1 } })),
      }, { rounds: quick ? 8 : 30, warmup: 1 });
      latency.push({
        steps,
        httpFinalMs: summarize(times.http),
        wsFirstPreviewMs: summarize(wsTimes.slice(1).map((t) => t.firstPreviewMs)),
        wsFinalMs: summarize(wsTimes.slice(1).map((t) => t.finalMs)),
      });
    }
    log("preview overhead");
    const overhead = [];
    for (const steps of [4, 8]) {
      const on: WsTiming[] = [], off: WsTiming[] = [];
      await interleave({
        previews: async () => on.push(await ws.generate({ ...body(steps, seed++), previews: { every: 1 } })),
        none: async () => off.push(await ws.generate({ ...body(steps, seed++), previews: false })),
      }, { rounds: quick ? 10 : 30, warmup: 1 });
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
    log("throughput");
    // Short windows of 1, 4 and 8 clients in rotating order, summed per client count, so load that comes
    // and goes during the run falls on every count alike.
    const counts = [1, 4, 8];
    const tally = new Map(counts.map((c) => [c, { jobs: [] as number[], ms: 0 }]));
    let jobSeed = 10_000;
    for (let round = 0; round < (quick ? 1 : 3); round++) {
      for (let j = 0; j < counts.length; j++) {
        const clients = counts[(round + j) % counts.length];
        const sockets = await Promise.all(Array.from({ length: clients }, () => openWs(url)));
        const windowMs = (quick ? 3 : 4) * 1000;
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
      concurrency: "server default (CONCURRENCY=1)",
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

async function coldStarts(serverBackend: string | undefined) {
  const runs = quick ? 2 : 5;
  const shared = await Deno.makeTempDir({ prefix: "bench-cache-" });
  await coldStart(shared, serverBackend); // fills the cache; not counted
  type Run = Awaited<ReturnType<typeof coldStart>>;
  const noCache: Run[] = [], cache: Run[] = [];
  for (let i = 0; i < runs; i++) {
    const fresh = await Deno.makeTempDir({ prefix: "bench-nocache-" });
    noCache.push(await coldStart(fresh, serverBackend));
    await Deno.remove(fresh, { recursive: true }).catch(() => {});
    cache.push(await coldStart(shared, serverBackend));
    log(
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

// ---------------------------------------------------------------------------------------------- report

const MB = (b: number) => fmt(b / 2 ** 20, 0);

function report(r: {
  model: Awaited<ReturnType<typeof describeModel>>;
  backends: (BackendResult | { backend: string; error: string })[];
  torch?: Awaited<ReturnType<typeof torchReference>>;
  server?: Awaited<ReturnType<typeof serverBench>>;
  cold?: Awaited<ReturnType<typeof coldStarts>>[];
  seconds: number;
}): string {
  const cpu = (() => {
    try {
      return /model name\s*:\s*(.+)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? "unknown CPU";
    } catch {
      return "unknown CPU";
    }
  })();
  const md = [
    "# Benchmarks (`deno task bench`)",
    "",
    `Machine: ${cpu}, ${navigator.hardwareConcurrency} logical cores, ${Deno.build.os}; Deno ${Deno.version.deno}. ` +
    `Model: ${r.model.training} (denoiser sha256 ${r.model.denoiserSha256}…). ` +
    `${
      quick ? "Quick run (fewer rounds). " : ""
    }Times are medians; ratios are medians of per-round ratios of ` +
    "interleaved runs (p10–p90 in brackets), so load that drifts during the run cancels. " +
    `Load average (1 min): ${fmt(loadAtStart, 1)} at the start, ${fmt(loadAverage(), 1)} at the end.`,
    "",
  ];
  const ok = r.backends.filter((b): b is BackendResult => !("error" in b));
  const flops = ok.find((b) => b.flops)?.flops;
  if (r.backends.length) {
    md.push(
      "## Per denoiser call (batch 1, prompt and noise fixed)",
      "",
      `Sessions use the engine's options for the model (graph optimisation: ${
        ok[0]?.optimization ?? "all"
      }).`,
      "",
    );
    if (flops) {
      md.push(
        `Model work per call: ${fmt(flops.unpatched.total / 1e6, 1)} MFLOP (Conv ${
          fmt(flops.unpatched.byOp.Conv / 1e6, 1)
        }, MatMul ${fmt((flops.unpatched.byOp.MatMul ?? 0) / 1e6, 1)}, Gemm ${
          fmt((flops.unpatched.byOp.Gemm ?? 0) / 1e6, 2)
        }, ConvTranspose ${
          fmt((flops.unpatched.byOp.ConvTranspose ?? 0) / 1e6, 1)
        }), counted from the ONNX graph ` +
          `with the shapes of a real run (2 FLOP per multiply-add; the patched graph: ${
            fmt(flops.patched.total / 1e6, 1)
          } MFLOP).`,
        "",
      );
    }
    md.push(
      markdownTable(
        [
          "backend",
          "unpatched ms",
          "patched, none ms",
          "PLADIS ms",
          "GAG ms",
          "GAG / unpatched",
          "none / unpatched",
          "GFLOP/s",
          "matmul roof GFLOP/s",
          "% of roof",
        ],
        [
          ...ok.map((b) => {
            const u = median(b.calls.unpatched);
            const g = pairedRatio(b.calls.gag, b.calls.unpatched),
              n = pairedRatio(b.calls.none, b.calls.unpatched);
            const gf = flops ? flops.unpatched.total / u / 1e6 : NaN;
            return [
              b.backend === "webgpu"
                ? "webgpu (forced; llvmpipe here)"
                : b.backend === "native-spin"
                ? "native, spinning on ¹"
                : b.backend,
              fmt(u, 2),
              fmt(median(b.calls.none), 2),
              fmt(median(b.calls.pladis), 2),
              fmt(median(b.calls.gag), 2),
              `**${fmt(g.median, 3)}** (${fmt(g.p10, 2)}–${fmt(g.p90, 2)})`,
              `${fmt(n.median, 3)} (${fmt(n.p10, 2)}–${fmt(n.p90, 2)})`,
              fmt(gf, 1),
              fmt(b.roof.gflops, 1),
              fmt(100 * gf / b.roof.gflops, 0),
            ];
          }),
          ...(r.torch && "timesMs" in r.torch
            ? Object.entries(r.torch.timesMs).map(([threads, times]) => {
              const t = r.torch as TorchResult;
              const gf = flops ? flops.unpatched.total / median(times) / 1e6 : NaN;
              return [
                `PyTorch ${t.torch} eager, ${threads} thread${threads === "1" ? "" : "s"}`,
                fmt(median(times), 2),
                "–",
                "–",
                "–",
                "–",
                "–",
                fmt(gf, 1),
                `${fmt(t.roofGflops.torch, 1)} (torch), ${fmt(t.roofGflops.numpy, 1)} (numpy)`,
                fmt(100 * gf / t.roofGflops.torch, 0),
              ];
            })
            : []),
        ],
      ),
      "",
      "Target: GAG / unpatched ≤ 1.05. GFLOP/s = model FLOPs ÷ unpatched time; the roof is the best of a 1024³ " +
        "fp32 MatMul on the same runtime (onnxruntime-node's for native, the wasm build's for wasm, the WebGPU " +
        "kernel for WebGPU).",
    );
    const wasm = ok.find((b) => b.backend === "wasm"), native = ok.find((b) => b.backend === "native");
    if (wasm && native) {
      md.push(
        "",
        `wasm / native per call: **${
          fmt(median(wasm.calls.unpatched) / median(native.calls.unpatched), 2)
        }×** ` +
          `unpatched, ${fmt(median(wasm.calls.gag) / median(native.calls.gag), 2)}× with GAG (medians of ` +
          "separate runs, not interleaved).",
      );
    }
    if (ok.some((b) => b.backend === "native-spin")) {
      md.push(
        "",
        '¹ `createBackend("native", { spinning: true })`: onnxruntime\'s default, where pool threads spin-wait ' +
          "after each parallel section and take the cores from the next kernel, and from other sessions, when " +
          "cores are few or shared; the engine turns it off (`native` row).",
      );
    }
    const webgpu = ok.find((b) => b.backend === "webgpu");
    if (webgpu) {
      md.push(
        "",
        `WebGPU adapter: ${
          webgpu.adapter ?? "?"
        }; forced with \`backend: "webgpu"\` (\`auto\` refuses software ` +
          "adapters and takes wasm). Few rounds and no per-generation figures: each call takes about a second.",
      );
    }
    for (const b of r.backends) if ("error" in b) md.push("", `- ${b.backend}: not measured, ${b.error}`);
    if (r.torch && "skipped" in r.torch) md.push("", `- PyTorch eager: skipped, ${r.torch.skipped}`);
    if (r.torch && "timesMs" in r.torch) {
      md.push(
        "",
        `PyTorch loads the EMA weights of .cache/train/ckpt.pt (step ${r.torch.checkpointStep}) into ` +
          `tools/train/common.py's Model and runs the same x, t, dt and prompt; the largest difference to the ONNX ` +
          `velocity is ${r.torch.maxAbsDiffToOnnx.toExponential(2)}${
            r.torch.maxAbsDiffToOnnx > 1e-3 ? " (the checkpoint moved on after the export)" : ""
          }. It runs after the onnxruntime rounds, not interleaved with them.`,
      );
    }
    md.push(
      "",
      "## Per generation (4 steps, in-process engine)",
      "",
      markdownTable(
        ["backend", "none ms", "GAG ms", `CFG ${CFG} ms`, "CFG / GAG", "GAG / none"],
        ok.filter((b) => b.generations.gag.length).map((b) => {
          const c = pairedRatio(b.generations.cfg, b.generations.gag),
            g = pairedRatio(b.generations.gag, b.generations.none);
          return [
            b.backend,
            fmt(median(b.generations.none), 1),
            fmt(median(b.generations.gag), 1),
            fmt(median(b.generations.cfg), 1),
            `**${fmt(c.median, 2)}** (${fmt(c.p10, 2)}–${fmt(c.p90, 2)})`,
            `${fmt(g.median, 2)} (${fmt(g.p10, 2)}–${fmt(g.p90, 2)})`,
          ];
        }),
      ),
      "",
      "CFG runs the denoiser on a batch of 2 (prompt and empty prompt) per step; GAG runs the patched graph once.",
    );
  }
  if (r.server) {
    const s = r.server;
    md.push(
      "",
      `## Server (\`main.ts\`, backend ${s.backend}: ${s.backendReason}; ${s.concurrency}; GAG, previews every step)`,
      "",
      markdownTable(
        ["steps", "HTTP → final PNG ms", "WS → first preview ms", "WS → final PNG ms"],
        s.latency.map((l) => [
          l.steps,
          `${fmt(l.httpFinalMs.median, 1)} (p90 ${fmt(l.httpFinalMs.p90, 1)})`,
          `${fmt(l.wsFirstPreviewMs.median, 1)} (p90 ${fmt(l.wsFirstPreviewMs.p90, 1)})`,
          `${fmt(l.wsFinalMs.median, 1)} (p90 ${fmt(l.wsFinalMs.p90, 1)})`,
        ]),
      ),
      "",
      "HTTP has no previews. Preview overhead (every step previewed vs `previews: false`, over WS; target ≤ 10 %):",
      "",
      markdownTable(
        ["steps", "with previews ms", "without ms", "overhead (client)", "overhead (server generation time)"],
        s.overhead.map((o) => [
          o.steps,
          fmt(o.withPreviewsMs, 1),
          fmt(o.withoutMs, 1),
          `**${fmt(100 * o.clientShare, 1)} %** (${fmt(100 * o.clientShareP10P90[0], 1)}–${
            fmt(100 * o.clientShareP10P90[1], 1)
          })`,
          `${fmt(100 * o.serverShare, 1)} %`,
        ]),
      ),
      "",
      "Throughput (4 steps, each client sends its next job when the last is done; windows of 1, 4 and 8 " +
        "clients alternate, totals per count):",
      "",
      markdownTable(
        ["WS clients", "generations", "generations / s", "latency median ms", "latency p90 ms"],
        s.throughput.map((t) => [
          t.clients,
          t.generations,
          fmt(t.perSecond, 2),
          fmt(t.latencyMs.median, 1),
          fmt(t.latencyMs.p90, 1),
        ]),
      ),
      "",
      `Memory (resident, from /metrics): ${MB(s.memory.rssStart)} MiB after start, ${
        MB(s.memory.rssAfter100)
      } MiB after 100 generations (HTTP, 4 steps, GAG), ${
        MB(s.memory.rssEnd)
      } MiB after all the runs above; ` +
        `peak ${MB(s.memory.peakHwm)} MiB (VmHWM; ${
          MB(s.memory.peakSampled)
        } MiB sampled from /metrics every 200 ms).`,
    );
  }
  if (r.cold?.length) {
    const all = r.cold.flatMap((c) => [c.noCache, c.cache]);
    const stageKeys = [...new Set(all.flatMap((x) => Object.keys(x.stages)))];
    const row = (name: string, x: typeof all[number]) => [
      x.backend,
      name,
      x.cache,
      fmt(x.firstImageMs, 0),
      fmt(x.listenMs, 0),
      fmt(x.healthyMs, 0),
      ...stageKeys.map((k) => fmt(x.stages[k], 0)),
    ];
    md.push(
      "",
      `## Cold start (median of ${r.cold[0].cache.runs.length} fresh processes each, alternating)`,
      "",
      markdownTable(
        [
          "backend",
          "patched-model cache",
          "cache outcome",
          "start → first image ms",
          "→ listening",
          "→ /healthz 200",
          ...stageKeys.map((k) => k === "total" ? "ready (server)" : k),
        ],
        r.cold.flatMap((c) => [
          row("none (fresh empty CACHE_DIR)", c.noCache),
          row("warm (CACHE_DIR reused)", c.cache),
        ]),
      ),
      "",
      "Columns after /healthz are the server's own stages (`ready in N ms ({...})`, also /healthz " +
        "`startupMs`): imports = process start → main.ts running, backend = runtime start, `<model>.patch` = " +
        "guidance patch (or cache read), `<model>.sessions` = session creation, models = main.ts → models " +
        "loaded, warmup = one 1-step generation, ready = process start → ready. The server's own backend " +
        "first (`--server-backend`, default its `auto` choice), then onnxruntime-node (`BACKEND=native`).",
    );
  }
  md.push("", `Bench runtime: ${fmt(r.seconds, 0)} s.`);
  return md.join("\n");
}

async function main() {
  if (a.child) {
    console.log(JSON.stringify(await measureBackend(a.child as BenchBackend)));
    return;
  }
  const only = new Set(a.only!.split(","));
  const serverBackend = a["server-backend"];
  const model = await describeModel(MODEL_DIR);
  const backends: (BackendResult | { backend: string; error: string })[] = [];
  let torch: Awaited<ReturnType<typeof torchReference>> | undefined;
  if (only.has("percall")) {
    for (const name of a.backends!.split(",")) {
      log(`per call: ${name}`);
      backends.push(await runBackendChild(name));
    }
    const ref = backends.find((b): b is BackendResult => "reference" in b && !!b.reference)?.reference;
    if (ref) {
      log("PyTorch eager reference");
      torch = await torchReference(ref);
    }
  }
  const server = only.has("server") ? await serverBench(serverBackend) : undefined;
  if (only.has("coldstart")) log("cold starts");
  const cold = only.has("coldstart")
    ? [
      await coldStarts(serverBackend),
      ...(serverBackend === "native" ? [] : [await coldStarts("native")]),
    ]
    : undefined;
  const seconds = (performance.now() - started) / 1000;
  const markdown = report({ model, backends, torch, server, cold, seconds });
  await writeReport(a.out!, markdown, {
    model,
    quick,
    loadAverage: { start: loadAtStart, end: loadAverage() },
    cfg: CFG,
    backends,
    torch: torch && "timesMs" in torch
      ? {
        ...torch,
        medianMs: Object.fromEntries(Object.entries(torch.timesMs).map(([k, v]) => [k, median(v)])),
      }
      : torch,
    server,
    cold,
    seconds,
  });
  console.log(markdown);
  console.log(`\nWrote ${a.out}.md and ${a.out}.json`);
}

try {
  await main();
} catch (e) {
  console.error((e as Error).stack ?? e);
  Deno.exit(1);
}
