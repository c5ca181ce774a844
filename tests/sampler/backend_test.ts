import assert from "node:assert/strict";
import { createBackend } from "../../sampler/mod.ts";
import { matmulModel } from "../../tools/model_flops.ts";

for (const where of ["in-process", "in a worker"] as const) {
  Deno.test(`a failed run names the model and each input's dtype and dims, and the session still runs (wasm ${where})`, async () => {
    const backend = await createBackend("wasm", { threads: 1, worker: where === "in a worker" });
    const s = await backend.createSession(matmulModel(2), "matmul");
    try {
      await assert.rejects(
        s.run({
          A: { data: new Float32Array(6), dims: [2, 3] },
          B: { data: new Float32Array(4), dims: [2, 2] },
        }),
        /Cannot run matmul: .*Got invalid dimensions.*inputs were A: Float32Array \[2, 3\]; B: Float32Array \[2, 2\]/s,
      );
      await assert.rejects(
        s.run({ A: { data: new Float32Array(4), dims: [2, 2] } }),
        /inputs are missing: B/,
      );
      const ok = await s.run({
        A: { data: Float32Array.of(1, 0, 0, 1), dims: [2, 2] },
        B: { data: Float32Array.of(5, 6, 7, 8), dims: [2, 2] },
      });
      assert.deepEqual([...ok.Y.data], [5, 6, 7, 8]);
      await assert.rejects(
        backend.createSession(Uint8Array.of(1, 2, 3), "junk.onnx"),
        /Cannot load junk.onnx on the wasm backend/,
      );
    } finally {
      await s.release();
      await backend.close?.();
    }
  });
}
