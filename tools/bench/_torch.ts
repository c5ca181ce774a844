/**
 * The same denoiser in PyTorch eager (what a user would run instead), where python3-torch is installed.
 *
 * @module
 */
import { join } from "node:path";
import { type BenchContext, ROOT } from "./_context.ts";
import type { BackendResult } from "./_per_call.ts";

/** The PyTorch eager reference (skipped with a note when python3-torch is missing). */
export async function torchReference(
  ctx: BenchContext,
  reference: NonNullable<BackendResult["reference"]>,
): Promise<TorchResult | { skipped: string }> {
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
    JSON.stringify({ ...reference, runs: ctx.quick ? 40 : 150, budgetS: ctx.quick ? 6 : 20 }),
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
export interface TorchResult {
  torch: string;
  threads: number;
  checkpointStep: number;
  /** Per-call times (ms) by thread count. */
  timesMs: Record<string, number[]>;
  maxAbsDiffToOnnx: number;
  roofGflops: { torch: number; numpy: number };
}
