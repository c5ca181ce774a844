/**
 * Concurrent jobs on the embedded digits model share denoiser calls, and each job's image is the same,
 * byte for byte, as when it runs alone on the same backend.
 *
 * @module
 */
import assert from "@std/assert";
import { join } from "node:path";
import {
  type Backend,
  type BackendName,
  createBackend,
  fileSource,
  type FlowManifest,
  type GenerateRequest,
  type Generation,
  guidancePatch,
  loadFlowPipeline,
  readManifest,
} from "../../sampler/mod.ts";
import { MODELS_DIR } from "../_engine.ts";
import { nativeTest } from "../_native_child.ts";

/** A backend whose denoiser sessions record the batch of every call. */
async function countingBackend(name: BackendName): Promise<{ backend: Backend; calls: number[] }> {
  const real = await createBackend(name, { log: () => {} });
  const calls: number[] = [];
  const backend: Backend = {
    name: real.name,
    reason: real.reason,
    float16: real.float16,
    async createSession(model, label, options) {
      const session = await real.createSession(model, label, options);
      if (!label.includes("denoiser")) return session;
      return {
        ...session,
        run(feeds) {
          calls.push(feeds.x.dims[0]);
          return session.run(feeds);
        },
      };
    },
  };
  return { backend, calls };
}

/** Different prompts, seeds, step counts, guidance modes and scales, CFG and APG. */
const REQUESTS: GenerateRequest[] = [
  { prompt: "a thick seven slanted right", steps: 4, seed: 1, guidance: { mode: "gag", scale: 0.5 } },
  { prompt: "a thin two", steps: 1, seed: 2, guidance: { mode: "pladis" }, cfg: 1.5 },
  { prompt: "a small zero", steps: 2, seed: 3 },
  { prompt: "a wide four", steps: 4, seed: 4, cfg: 2, apg: { eta: 0 }, guidance: { mode: "gag", eta: 5 } },
  { prompt: "a one", steps: 4, seed: 5 },
];

/** The same bytes alone and batched on one backend. */
async function sameBytesBatched(name: BackendName) {
  const { backend, calls } = await countingBackend(name);
  const source = fileSource(join(MODELS_DIR, "digits"));
  const manifest = await readManifest(source) as FlowManifest;
  const pipeline = await loadFlowPipeline(source, manifest, backend, guidancePatch, undefined, {
    maxWaitMs: 1_000,
  });
  try {
    const jobs = REQUESTS.map((r) => pipeline.prepare(r));
    const alone: Generation[] = [];
    for (const job of jobs) alone.push(await pipeline.generate(job));
    assert.ok(calls.every((n) => n <= 2), `alone, each call holds one job: ${calls}`);
    calls.length = 0;
    const together = await Promise.all(jobs.map((job) => pipeline.generate(job)));
    assert.ok(Math.max(...calls) >= 5, `some call merged every job: batches ${calls}`);
    together.forEach((g, i) => {
      assert.deepEqual(g.image.data, alone[i].image.data, `job ${i} differs when batched`);
      assert.equal(g.seed, alone[i].seed);
    });
  } finally {
    await pipeline.release();
  }
}

Deno.test("batched jobs give the same bytes as each job alone on wasm", () => sameBytesBatched("wasm"));
nativeTest(
  import.meta.url,
  "batched jobs give the same bytes as each job alone on native",
  () => sameBytesBatched("native"),
);

Deno.test("a cancelled job leaves the batch and the other jobs finish with their own images", async () => {
  const { backend, calls } = await countingBackend("wasm");
  const source = fileSource(join(MODELS_DIR, "digits"));
  const manifest = await readManifest(source) as FlowManifest;
  const pipeline = await loadFlowPipeline(source, manifest, backend, guidancePatch, undefined, {
    maxWaitMs: 1_000,
  });
  try {
    const jobs = REQUESTS.map((r) => pipeline.prepare({ ...r, steps: 4 }));
    const alone = await pipeline.generate(jobs[1]);
    const controller = new AbortController();
    const results = await Promise.allSettled(jobs.map((job, i) =>
      pipeline.generate(job, {
        signal: i === 0 ? controller.signal : undefined,
        // The first job is cancelled after its first step, while the others go on.
        onStep: i === 0 ? ({ step }) => void (step === 1 && controller.abort()) : undefined,
      })
    ));
    assert.equal(results[0].status, "rejected");
    assert.equal((results[0] as PromiseRejectedResult).reason.name, "AbortError");
    for (const r of results.slice(1)) assert.equal(r.status, "fulfilled");
    assert.deepEqual((results[1] as PromiseFulfilledResult<typeof alone>).value.image.data, alone.image.data);
    assert.ok(calls.some((n) => n >= 5), `the jobs shared calls: ${calls}`);
  } finally {
    await pipeline.release();
  }
});
