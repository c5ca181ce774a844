/**
 * The SD-Turbo σ schedule and the 1/√(σ²+1) input scaling against numbers computed apart from the code:
 * diffusers' `EulerDiscreteScheduler` ("scaled_linear" betas 0.00085…0.012 over 1000 steps, "trailing"
 * spacing), evaluated once in numpy:
 *
 * ```py
 * betas = np.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000) ** 2; ac = np.cumprod(1 - betas)
 * t = np.round(np.arange(1000, 0, -1000 / steps)) - 1; sigma = np.sqrt((1 - ac[t]) / ac[t])
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-web";
import { gaussianNoise, sampleEulerEpsilon, sdTurboSchedule } from "../../sampler/mod.ts";
import { writeSdModel } from "../fixtures/sd_model.ts";
import { withFolderEngine } from "../_engine.ts";

/** Per step count: the timesteps, σ and 1/√(σ²+1) from numpy (see the module comment). */
const TABLE: Record<number, { timesteps: number[]; sigmas: number[]; scales: number[] }> = {
  1: { timesteps: [999], sigmas: [14.614641], scales: [0.0682649] },
  2: { timesteps: [999, 499], sigmas: [14.614641, 1.612886], scales: [0.0682649, 0.5269437] },
  4: {
    timesteps: [999, 749, 499, 249],
    sigmas: [14.614641, 4.081729, 1.612886, 0.693205],
    scales: [0.0682649, 0.2379569, 0.5269437, 0.821847],
  },
};

const close = (a: number, b: number, tolerance: number) =>
  Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b));

Deno.test("sdTurboSchedule() gives diffusers' timesteps and σ for 1, 2 and 4 steps", () => {
  for (const [steps, row] of Object.entries(TABLE)) {
    const { sigmas, timesteps } = sdTurboSchedule(Number(steps));
    assert.deepEqual(Array.from(timesteps), row.timesteps, `${steps} steps`);
    assert.equal(sigmas.length, row.sigmas.length + 1);
    row.sigmas.forEach((s, i) => assert.ok(close(sigmas[i], s, 1e-6), `${steps} steps, σ${i}: ${sigmas[i]}`));
    assert.equal(sigmas.at(-1), 0);
  }
});

Deno.test("sampleEulerEpsilon() feeds the model x·1/√(σ²+1) at each σ of the 1, 2 and 4 step tables", async () => {
  for (const [steps, row] of Object.entries(TABLE)) {
    const sigmas = Float64Array.from([...row.sigmas, 0]);
    const eps = Float32Array.of(0.25, -1.5, 2);
    const start = Float32Array.of(3, -2, 0.5);
    const seen: { x: number[]; sigma: number }[] = [];
    await sampleEulerEpsilon(
      (x, sigma) => {
        seen.push({ x: Array.from(x), sigma });
        return Promise.resolve(eps);
      },
      start,
      sigmas,
    );
    // The state before step i, by hand: x ← x + (σ_{i+1} − σ_i)·ε.
    let x = Array.from(start);
    row.scales.forEach((scale, i) => {
      assert.equal(seen[i].sigma, row.sigmas[i]);
      seen[i].x.forEach((v, j) => {
        assert.ok(
          close(v, x[j] * scale, 1e-5),
          `${steps} steps, step ${i}, element ${j}: ${v} != ${x[j] * scale}`,
        );
      });
      x = x.map((v, j) => v + (sigmas[i + 1] - sigmas[i]) * eps[j]);
    });
    assert.equal(seen.length, Number(steps));
  }
});

/** Records every UNet run of onnxruntime-web's sessions in this process (the wasm backend's runs). */
function recordUnetRuns(): {
  runs: { sample: Float32Array; timestep: bigint; out: Float32Array }[];
  stop(): void;
} {
  // The factory's type hides that it is the class whose instances every session is.
  const proto = (ort.InferenceSession as unknown as { prototype: ort.InferenceSession }).prototype;
  const original = proto.run;
  const runs: { sample: Float32Array; timestep: bigint; out: Float32Array }[] = [];
  proto.run = async function (this: ort.InferenceSession, ...args: Parameters<typeof original>) {
    const result = await original.apply(this, args);
    const feeds = args[0] as Record<string, ort.Tensor>;
    if (feeds.sample && feeds.timestep) {
      runs.push({
        sample: Float32Array.from(feeds.sample.data as Float32Array),
        timestep: (feeds.timestep.data as BigInt64Array)[0],
        out: Float32Array.from(result.out_sample.data as Float32Array),
      });
    }
    return result;
  } as typeof original;
  return { runs, stop: () => void (proto.run = original) };
}

Deno.test("the SD pipeline feeds its UNet σ₀·noise·1/√(σ²+1), the table's timesteps, and steps by the table's σ", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sd-scaling-" });
  const recorder = recordUnetRuns();
  try {
    await writeSdModel(dir);
    await withFolderEngine(dir, "wasm", async (engine) => {
      for (const [steps, row] of Object.entries(TABLE)) {
        recorder.runs.length = 0;
        await engine.generate(engine.prepare({ prompt: "a red cat", steps: Number(steps), seed: 11 }));
        const runs = recorder.runs;
        assert.deepEqual(runs.map((r) => Number(r.timestep)), row.timesteps, `${steps} steps: timesteps`);
        // The sampler's state before each step, rebuilt from the table alone: x₀ = σ₀·noise, then
        // x ← x + (σ_{i+1} − σ_i)·ε with the ε the UNet returned.
        let x = Array.from(gaussianNoise(11, runs[0].sample.length), (n) => n * row.sigmas[0]);
        const sigmas = [...row.sigmas, 0];
        runs.forEach((run, i) => {
          let worst = 0;
          run.sample.forEach((v, j) => worst = Math.max(worst, Math.abs(v - x[j] * row.scales[i])));
          assert.ok(worst < 1e-4, `${steps} steps, step ${i}: the UNet input is off by ${worst}`);
          x = x.map((v, j) => v + (sigmas[i + 1] - sigmas[i]) * run.out[j]);
        });
      }
    });
  } finally {
    recorder.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
