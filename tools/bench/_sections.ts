/**
 * The markdown report of `deno task bench`, one function per section.
 *
 * @module
 */
import type { describeModel } from "../_report.ts";
import { fmt, markdownTable } from "../_report.ts";
import { pairedRatio } from "../bench_stats.ts";
import { loadAverage, median } from "./_context.ts";
import type { ColdStartResult } from "./_cold_start.ts";
import type { BackendError, BackendResult } from "./_per_call.ts";
import type { ServerResult } from "./_server.ts";
import type { ThroughputResult } from "./_throughput.ts";
import type { TorchResult } from "./_torch.ts";

/** Everything one bench run measured. */
export interface BenchResults {
  model: Awaited<ReturnType<typeof describeModel>>;
  quick: boolean;
  cfg: number;
  loadAtStart: number;
  backends: (BackendResult | BackendError)[];
  torch?: TorchResult | { skipped: string };
  server?: ServerResult;
  throughput?: ThroughputResult;
  cold?: ColdStartResult[];
  seconds: number;
}

const MB = (b: number) => fmt(b / 2 ** 20, 0);

/** A median with its p10–p90 spread. */
type Spread = { median: number; p10: number; p90: number };

/** A paired ratio as `median (p10–p90)`, the median in bold where it is the figure the table is about. */
function ratioCell(r: Spread, { digits = 2, unit = "", bold = false } = {}): string {
  const m = `${fmt(r.median, digits)}${unit}`;
  return `${bold ? `**${m}**` : m} (${fmt(r.p10, 2)}–${fmt(r.p90, 2)})`;
}

function cpuName(): string {
  try {
    return /model name\s*:\s*(.+)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}

/** The title and the machine, model and method. */
export function headerSection(r: BenchResults): string[] {
  return [
    "# Benchmarks (`deno task bench`)",
    "",
    `Machine: ${cpuName()}, ${navigator.hardwareConcurrency} logical cores, ${Deno.build.os}; Deno ${Deno.version.deno}. ` +
    `Model: ${r.model.training} (denoiser sha256 ${r.model.denoiserSha256}…). ` +
    `${
      r.quick ? "Quick run (fewer rounds). " : ""
    }Times are medians; ratios are medians of per-round ratios of ` +
    "interleaved runs (p10–p90 in brackets), so load that drifts during the run cancels. " +
    `Load average (1 min): ${fmt(r.loadAtStart, 1)} at the start, ${fmt(loadAverage(), 1)} at the end.`,
    "",
  ];
}

/** Per denoiser call on each backend, with PyTorch eager where it ran. */
export function perCallSection(r: BenchResults): string[] {
  const md: string[] = [];
  const ok = r.backends.filter((b): b is BackendResult => !("error" in b));
  const flops = ok.find((b) => b.flops)?.flops;
  md.push(
    "## Per denoiser call (batch 1, prompt and noise fixed)",
    "",
    `Sessions use the engine's options for the model (graph optimisation: ${ok[0]?.optimization ?? "all"}).`,
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
            ratioCell(g, { digits: 3, bold: true }),
            ratioCell(n, { digits: 3 }),
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
  return md;
}

/** Per-sample time of one call at batch 1, 2, 4 and 8: what batching concurrent jobs buys. */
export function batchSection({ backends }: BenchResults): string[] {
  const ok = backends.filter((b): b is BackendResult => !("error" in b) && !!b.batches);
  if (!ok.length) return [];
  const sizes = ["1", "2", "4", "8"];
  return [
    "",
    "## Per sample by batch (patched graph, GAG, n copies of one sample per call)",
    "",
    markdownTable(
      ["backend", ...sizes.map((n) => `batch ${n} ms / sample`), "batch 8 speed-up"],
      ok.map((b) => {
        const perSample = (n: string) => b.batches![n].map((t) => t / Number(n));
        const r = pairedRatio(perSample("1"), perSample("8"));
        return [
          b.backend,
          ...sizes.map((n) => fmt(median(perSample(n)), 2)),
          ratioCell(r, { unit: "×", bold: true }),
        ];
      }),
    ),
  ];
}

/** Per 4-step generation in the engine: none, GAG and CFG. */
export function generationSection({ backends, cfg }: BenchResults): string[] {
  const md: string[] = [];
  const ok = backends.filter((b): b is BackendResult => !("error" in b));
  md.push(
    "",
    "## Per generation (4 steps, in-process engine)",
    "",
    markdownTable(
      ["backend", "none ms", "GAG ms", `CFG ${cfg} ms`, "CFG / GAG", "GAG / none"],
      ok.filter((b) => b.generations.gag.length).map((b) => {
        const c = pairedRatio(b.generations.cfg, b.generations.gag),
          g = pairedRatio(b.generations.gag, b.generations.none);
        return [
          b.backend,
          fmt(median(b.generations.none), 1),
          fmt(median(b.generations.gag), 1),
          fmt(median(b.generations.cfg), 1),
          ratioCell(c, { bold: true }),
          ratioCell(g),
        ];
      }),
    ),
    "",
    "CFG runs the denoiser on a batch of 2 (prompt and empty prompt) per step; GAG runs the patched graph once.",
  );
  return md;
}

/** The server: latency, preview overhead, throughput and memory. */
export function serverSection(s: ServerResult): string[] {
  const md: string[] = [];
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
    } MiB after 100 generations (HTTP, 4 steps, GAG), ${MB(s.memory.rssEnd)} MiB after all the runs above; ` +
      `peak ${MB(s.memory.peakHwm)} MiB (VmHWM; ${
        MB(s.memory.peakSampled)
      } MiB sampled from /metrics every 200 ms).`,
  );
  return md;
}

/** Jobs per second and latency, batched against unbatched, by clients and steps. */
export function throughputSection(t: ThroughputResult): string[] {
  const ratio = (r: Spread) => ratioCell(r, { unit: "×", bold: true });
  const rows = t.cells.map((c) => [
    c.server === "batched" ? "batched (defaults)" : "unbatched (CONCURRENCY=1)",
    c.steps,
    c.clients,
    c.jobs,
    fmt(c.perSecond, 2),
    fmt(c.latencyMs.p50, 0),
    fmt(c.latencyMs.p95, 0),
    c.failed,
  ]);
  return [
    "",
    `## Serving throughput, batched against unbatched (backend ${t.backend})`,
    "",
    `Two servers side by side; each client sends its next job (GAG, previews every step) when its last is ` +
    `done. Windows of ${
      fmt(t.windowMs / 1000, 0)
    } s of every cell rotate over ${t.rounds} rounds, so drifting ` +
    "load falls on all cells alike; jobs/s is over all windows, ratios are medians of per-round ratios.",
    "",
    markdownTable(["server", "steps", "WS clients", "jobs", "jobs / s", "p50 ms", "p95 ms", "failed"], rows),
    "",
    `1 step, batched server: 8 clients get ${ratio(t.eightOverOne)} the jobs/s of one sequential client ` +
    `(target ≥ 1.6×); with 8 clients the batched server gives ${ratio(t.batchedOverUnbatched)} the ` +
    "unbatched one's.",
  ];
}

/** Cold starts with and without the patched-model cache. */
export function coldStartSection(cold: ColdStartResult[]): string[] {
  const md: string[] = [];
  const all = cold.flatMap((c) => [c.noCache, c.cache]);
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
    `## Cold start (median of ${cold[0].cache.runs.length} fresh processes each, alternating)`,
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
      cold.flatMap((c) => [
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
  return md;
}

/** The whole report: each section that was measured, then the run time. */
export function report(r: BenchResults): string {
  return [
    ...headerSection(r),
    ...(r.backends.length ? [...perCallSection(r), ...batchSection(r), ...generationSection(r)] : []),
    ...(r.server ? serverSection(r.server) : []),
    ...(r.throughput ? throughputSection(r.throughput) : []),
    ...(r.cold?.length ? coldStartSection(r.cold) : []),
    "",
    `Bench runtime: ${fmt(r.seconds, 0)} s.`,
  ].join("\n");
}
