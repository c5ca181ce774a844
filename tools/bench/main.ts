/**
 * `deno task bench`: how fast guidance and serving are on this machine.
 *
 * - per denoiser call, on each backend (native = onnxruntime-node, wasm, WebGPU): the unpatched denoiser
 *   against the guidance-patched one fed none / PLADIS / GAG, interleaved so drift cancels in the ratios;
 *   model FLOPs per call from the ONNX graph, and the backend's fp32 matmul roof;
 * - per generation: GAG against CFG (which runs the batch twice) and no guidance;
 * - the same denoiser in PyTorch eager (what a user would run instead), where python3-torch is installed;
 * - the real server (`main.ts`): request → first preview and → final PNG over HTTP and WS, preview
 *   overhead, throughput with 1, 4 and 8 WS clients, memory, and cold start with and without the
 *   patched-model cache, on the server's backend and on onnxruntime-node;
 * - serving throughput batched against unbatched: jobs/s and latency for 1, 4, 8 and 16 WS clients at 1
 *   and 4 steps (`_throughput.ts`).
 *
 * ```sh
 * deno task bench            # the full run, about 8 minutes on 2 cores
 * deno task bench --quick    # fewer rounds and cold starts, about 3 minutes
 * deno task bench --only percall,server
 * ```
 *
 * Options: --quick, --only percall|server|throughput|coldstart (comma-separated), --backends native,native-spin,wasm,webgpu,
 * --server-backend (BACKEND of the server, default the server's own choice), --cfg (CFG scale, default 3),
 * --out (file base, default docs/results/bench). Writes `<out>.md` and `<out>.json`.
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { describeModel, writeReport } from "../_report.ts";
import { coldStarts } from "./_cold_start.ts";
import { type BenchContext, loadAverage, median, MODEL_DIR, ROOT } from "./_context.ts";
import {
  type BackendError,
  type BackendResult,
  type BenchBackend,
  measureBackend,
  runBackendChild,
} from "./_per_call.ts";
import { type BenchResults, report } from "./_sections.ts";
import { serverBench } from "./_server.ts";
import { throughputBench } from "./_throughput.ts";
import { torchReference } from "./_torch.ts";

/** The command-line options. */
function parseOptions(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string", default: "percall,server,throughput,coldstart" },
      backends: { type: "string", default: "native,native-spin,wasm,webgpu" },
      "server-backend": { type: "string" },
      cfg: { type: "string", default: "3" },
      out: { type: "string", default: join(ROOT, "docs", "results", "bench") },
      child: { type: "string" },
    },
  });
  return values;
}

/** Per call on each backend (one child process each), then PyTorch eager on the same input. */
async function perCall(ctx: BenchContext, names: string[]) {
  const backends: (BackendResult | BackendError)[] = [];
  for (const name of names) {
    ctx.log(`per call: ${name}`);
    backends.push(await runBackendChild(ctx, name));
  }
  const ref = backends.find((b): b is BackendResult => "reference" in b && !!b.reference)?.reference;
  if (!ref) return { backends };
  ctx.log("PyTorch eager reference");
  return { backends, torch: await torchReference(ctx, ref) };
}

async function main(args: string[]): Promise<void> {
  const a = parseOptions(args);
  const started = performance.now();
  const ctx: BenchContext = {
    quick: a.quick!,
    cfg: Number(a.cfg),
    log: (msg) => console.error(`[bench ${((performance.now() - started) / 1000).toFixed(1)} s] ${msg}`),
  };
  if (a.child) {
    console.log(JSON.stringify(await measureBackend(ctx, a.child as BenchBackend)));
    return;
  }
  const loadAtStart = loadAverage();
  const only = new Set(a.only!.split(","));
  const serverBackend = a["server-backend"];
  const model = await describeModel(MODEL_DIR);
  const { backends, torch } = only.has("percall")
    ? await perCall(ctx, a.backends!.split(","))
    : { backends: [] };
  const server = only.has("server") ? await serverBench(ctx, serverBackend) : undefined;
  const throughput = only.has("throughput") ? await throughputBench(ctx, serverBackend) : undefined;
  if (only.has("coldstart")) ctx.log("cold starts");
  const cold = only.has("coldstart")
    ? [
      await coldStarts(ctx, serverBackend),
      ...(serverBackend === "native" ? [] : [await coldStarts(ctx, "native")]),
    ]
    : undefined;
  const results: BenchResults = {
    model,
    quick: ctx.quick,
    cfg: ctx.cfg,
    loadAtStart,
    backends,
    torch,
    server,
    throughput,
    cold,
    seconds: (performance.now() - started) / 1000,
  };
  const markdown = report(results);
  await writeReport(a.out!, markdown, {
    model,
    quick: ctx.quick,
    loadAverage: { start: loadAtStart, end: loadAverage() },
    cfg: ctx.cfg,
    backends,
    torch: torch && "timesMs" in torch
      ? {
        ...torch,
        medianMs: Object.fromEntries(Object.entries(torch.timesMs).map(([k, v]) => [k, median(v)])),
      }
      : torch,
    server,
    throughput,
    cold,
    seconds: results.seconds,
  });
  console.log(markdown);
  console.log(`\nWrote ${a.out}.md and ${a.out}.json`);
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error((e as Error).stack ?? e);
    Deno.exit(1);
  }
}
