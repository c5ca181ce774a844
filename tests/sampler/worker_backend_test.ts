import assert from "node:assert/strict";
import { createBackend, type TensorValue } from "../../sampler/mod.ts";
import { matmulModel } from "../../tools/model_flops.ts";

const DENOISER = new URL("../../models/digits/denoiser.onnx", import.meta.url);

/** Batch-`rows` feeds of the digits denoiser, the same numbers every time. */
function denoiserFeeds(rows: number): Record<string, TensorValue> {
  const fill = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
  return {
    x: { data: fill(rows * 784, (i) => Math.sin(i)), dims: [rows, 1, 28, 28] },
    t: { data: fill(rows, (i) => i / rows), dims: [rows] },
    dt: { data: fill(rows, () => 0.25), dims: [rows] },
    text_states: { data: fill(rows * 12 * 64, (i) => Math.cos(i) / 8), dims: [rows, 12, 64] },
  };
}

Deno.test("the wasm backend in a worker gives the in-process backend's bytes and frees the event loop", async () => {
  const model = await Deno.readFile(DENOISER);
  const inWorker = await createBackend("wasm", { threads: 2, worker: true });
  const inProcess = await createBackend("wasm", { threads: 2 });
  const [w, p] = [
    await inWorker.createSession(model, "digits denoiser"),
    await inProcess.createSession(model, "digits denoiser"),
  ];
  try {
    assert.deepEqual(w.inputNames, p.inputNames);
    assert.deepEqual(w.outputNames, p.outputNames);
    assert.deepEqual(w.types, p.types);
    const feeds = denoiserFeeds(8);
    const [a, b] = [await w.run(feeds), await p.run(feeds)];
    assert.deepEqual(a.velocity.dims, [8, 1, 28, 28]);
    assert.deepEqual(a.velocity.data, b.velocity.data, "the same bytes in the worker and in-process");

    // A timer due at once fires before a batch-8 call (tens of ms) comes back only if the call
    // leaves the event loop free.
    const timerFirst = async (run: () => Promise<unknown>) => {
      let fired = false;
      const timer = setTimeout(() => fired = true, 0);
      await run();
      clearTimeout(timer);
      return fired;
    };
    assert.equal(await timerFirst(() => w.run(feeds)), true, "the event loop turned during a worker call");
    assert.equal(await timerFirst(() => p.run(feeds)), false, "an in-process call holds the event loop");
  } finally {
    await w.release();
    await p.release();
    await inWorker.close?.();
  }
});

Deno.test("a worker backend refuses a released session's runs, and every call once closed", async () => {
  const backend = await createBackend("wasm", { threads: 1, worker: true });
  const s = await backend.createSession(matmulModel(2), "matmul");
  const eye = { data: Float32Array.of(1, 0, 0, 1), dims: [2, 2] };
  assert.deepEqual([...(await s.run({ A: eye, B: eye })).Y.data], [1, 0, 0, 1]);
  await s.release();
  await assert.rejects(s.run({ A: eye, B: eye }), /Cannot run a session that was released \(matmul\)/);
  await backend.close?.();
  await assert.rejects(
    backend.createSession(matmulModel(2), "matmul"),
    /Cannot call the wasm backend as the wasm backend was closed/,
  );
});
