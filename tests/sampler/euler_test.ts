import assert from "node:assert/strict";
import {
  flowTimes,
  sampleEulerEpsilon,
  sampleFlowEuler,
  sdTurboSchedule,
  type StepInfo,
} from "../../sampler/mod.ts";

Deno.test("sampleFlowEuler() takes one model call per step and reports steps in order", async () => {
  for (const steps of [1, 2, 4]) {
    const calls: [number, number][] = [];
    const seen: number[] = [];
    await sampleFlowEuler(
      (_x, t, dt) => {
        calls.push([t, dt]);
        return Promise.resolve(new Float32Array(3));
      },
      new Float32Array(3),
      flowTimes(steps),
      { onStep: (s) => void seen.push(s.i) },
    );
    assert.deepEqual(calls, Array.from({ length: steps }, (_, i) => [i / steps, 1 / steps]));
    assert.deepEqual(seen, Array.from({ length: steps }, (_, i) => i));
  }
});

Deno.test("sampleFlowEuler() returns the data point after one step when the velocity is exact", async () => {
  const noise = Float32Array.of(0.5, -1, 2), data = Float32Array.of(1, 0, -1);
  const infos: StepInfo[] = [];
  const x = await sampleFlowEuler(
    (x, t) => Promise.resolve(x.map((v, j) => (data[j] - v) / (1 - t))),
    noise,
    flowTimes(1),
    { onStep: (s) => void infos.push(s) },
  );
  assert.deepEqual(Array.from(x), Array.from(data));
  assert.deepEqual(Array.from(infos[0].denoised), Array.from(data));
  assert.deepEqual(Array.from(noise), [0.5, -1, 2], "the input is not modified");
});

Deno.test("sampleEulerEpsilon() scales the input by 1/sqrt(sigma^2+1) and lands on x0 for exact noise", async () => {
  const { sigmas } = sdTurboSchedule(4);
  const x0 = Float32Array.of(0.3, -0.7);
  const eps = Float32Array.of(1.2, 0.4);
  const start = x0.map((v, j) => v + sigmas[0] * eps[j]);
  const scaled: number[] = [];
  const x = await sampleEulerEpsilon(
    (xs, sigma) => {
      scaled.push(xs[0] * Math.sqrt(sigma * sigma + 1));
      return Promise.resolve(eps);
    },
    start,
    sigmas,
  );
  assert.equal(scaled.length, 4);
  assert.ok(Math.abs(x[0] - x0[0]) < 1e-5 && Math.abs(x[1] - x0[1]) < 1e-5);
});

Deno.test("sdTurboSchedule() starts at sigma_max 14.6146 with timestep 999 and ends at 0", () => {
  const one = sdTurboSchedule(1);
  assert.ok(Math.abs(one.sigmas[0] - 14.6146) < 1e-3, `${one.sigmas[0]}`);
  assert.deepEqual(Array.from(one.timesteps), [999]);
  assert.deepEqual(Array.from(sdTurboSchedule(4).timesteps), [999, 749, 499, 249]);
  assert.equal(sdTurboSchedule(4).sigmas[4], 0);
});

Deno.test("samplers stop within one step when the signal is aborted", async () => {
  const controller = new AbortController();
  let calls = 0;
  await assert.rejects(
    sampleFlowEuler(
      () => {
        calls++;
        if (calls === 2) controller.abort();
        return Promise.resolve(new Float32Array(1));
      },
      new Float32Array(1),
      flowTimes(8),
      { signal: controller.signal },
    ),
    (e: Error) => e.name === "AbortError",
  );
  assert.equal(calls, 2);
});
