/**
 * Per denoiser call and per generation on one backend, measured in a child process (a crash or hang of
 * one backend stays there).
 *
 * @module
 */
import { join } from "node:path";
import {
  type BackendName,
  createBackend,
  createEngine,
  createTextTokenizer,
  gaussianNoise,
  guidancePatch,
  jobGuidanceFeeds,
  type TensorValue,
} from "../../sampler/mod.ts";
import { countFlops, type FlopCount, matmulRoof } from "../model_flops.ts";
import { interleave } from "../bench_stats.ts";
import { type BenchContext, MODEL_DIR, MODEL_ID, PROMPT, ROOT } from "./_context.ts";

/** What one backend's child process measures. */
export interface BackendResult {
  backend: string;
  reason: string;
  /** Per-call times (ms) by variant, interleaved. */
  calls: Record<"unpatched" | "none" | "pladis" | "gag", number[]>;
  /** Per-call times (ms) of the patched graph with GAG at batch 1, 2, 4 and 8, interleaved. */
  batches?: Record<string, number[]>;
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
export type BenchBackend = BackendName | "native-spin";

/** Runs in a child process: times one backend (a crash or hang of one backend stays there). */
export async function measureBackend(ctx: BenchContext, name: BenchBackend): Promise<BackendResult> {
  const spin = name === "native-spin";
  // WebGPU on a software adapter (llvmpipe) takes seconds per call: few rounds, and no generations.
  const slow = name === "webgpu";
  const rounds = slow ? (ctx.quick ? 3 : 6) : ctx.quick ? 30 : 300;
  const budgetMs = (slow ? 40 : ctx.quick ? 8 : 30) * 1000;
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
  ctx.log(`${name}: sessions ready (${unpatchedMs.toFixed(0)} / ${patchedMs.toFixed(0)} ms), timing calls`);
  const calls = await interleave({
    unpatched: () => plain.run(base),
    none: () => guided.run(fNone),
    pladis: () => guided.run(fPladis),
    gag: () => guided.run(fGag),
  }, { rounds, warmup: slow ? 1 : 3, budgetMs });
  ctx.log(`${name}: ${calls.gag.length} rounds of calls`);
  // The same call with n rows (copies of the one sample): what batching concurrent jobs buys per sample.
  const rowsOf = (n: number): Record<string, TensorValue> =>
    Object.fromEntries(
      Object.entries(fGag).map(([k, v]) => {
        if (v.dims[0] !== 1 || k.startsWith("guidance_")) return [k, v];
        const data = new Float32Array(v.data.length * n);
        for (let i = 0; i < n; i++) data.set(v.data as Float32Array, i * v.data.length);
        return [k, { data, dims: [n, ...v.dims.slice(1)] }];
      }),
    );
  const batchFeeds = Object.fromEntries([1, 2, 4, 8].map((n) => [String(n), rowsOf(n)]));
  const batches = slow ? undefined : await interleave(
    Object.fromEntries(Object.entries(batchFeeds).map(([n, f]) => [n, () => guided.run(f)])),
    { rounds: ctx.quick ? 10 : 60, warmup: 2, budgetMs: (ctx.quick ? 6 : 20) * 1000 },
  );
  const req = { prompt: PROMPT, steps: 4 };
  let seed = 0;
  // The engine takes no spinning option, so that row has per-call figures only.
  const generations = spin || slow ? { none: [], gag: [], cfg: [] } : await interleave({
    none: () => engine.generate(engine.prepare({ ...req, seed: seed++ })),
    gag: () => engine.generate(engine.prepare({ ...req, seed: seed++, guidance: { mode: "gag" } })),
    cfg: () => engine.generate(engine.prepare({ ...req, seed: seed++, cfg: ctx.cfg })),
  }, { rounds: ctx.quick ? 10 : 100, warmup: 1, budgetMs: (ctx.quick ? 6 : 20) * 1000 });
  if (generations.gag.length) ctx.log(`${name}: ${generations.gag.length} rounds of generations`);
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
    batches,
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

/** A backend that could not be measured, and why. */
export interface BackendError {
  backend: string;
  error: string;
}

/** Runs `measureBackend` in a child process and parses its JSON. */
export async function runBackendChild(
  ctx: BenchContext,
  name: string,
): Promise<BackendResult | BackendError> {
  const args = [
    "run",
    "-A",
    new URL("./main.ts", import.meta.url).pathname,
    "--child",
    name,
    "--cfg",
    String(ctx.cfg),
  ];
  if (ctx.quick) args.push("--quick");
  const xdg = await Deno.makeTempDir({ prefix: "xdg-" });
  let out: Deno.CommandOutput;
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      stdout: "piped",
      stderr: "inherit",
      env: { XDG_RUNTIME_DIR: xdg },
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
    out = await child.output();
    clearTimeout(timer);
  } finally {
    await Deno.remove(xdg, { recursive: true });
  }
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  if (!out.success) return { backend: name, error: `exited with code ${out.code}: ${text.slice(0, 300)}` };
  try {
    return JSON.parse(text);
  } catch {
    return { backend: name, error: `printed no result: ${text.slice(0, 300)}` };
  }
}
