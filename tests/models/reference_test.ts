/**
 * Every shipped model folder: its manifest loads, and its ONNX files reproduce the PyTorch sample recorded in
 * its reference.json (a fixed prompt and seed, sampled by the training code).
 */
import assert from "node:assert/strict";
import {
  createBackend,
  fileSource,
  flowTimes,
  gaussianNoise,
  readManifest,
  sampleFlowEuler,
} from "../../sampler/mod.ts";
import { MODELS_DIR } from "../_engine.ts";

const folders = [...Deno.readDirSync(MODELS_DIR)].filter((e) => e.isDirectory).map((e) => e.name).sort();

Deno.test("both digits models are shipped", () => {
  assert.ok(folders.includes("digits") && folders.includes("digits-base"), folders.join(", "));
});

for (const id of folders) {
  Deno.test(`models/${id}: the ONNX files reproduce PyTorch's sample for the reference prompt and seed`, async () => {
    const dir = `${MODELS_DIR}/${id}`;
    const m = await readManifest(fileSource(dir));
    assert.equal(m.kind, "flow");
    if (m.kind !== "flow") return;
    const ref = JSON.parse(await Deno.readTextFile(`${dir}/reference.json`));
    const backend = await createBackend("wasm", { log: () => {} });
    const te = await backend.createSession(
      await Deno.readFile(`${dir}/${m.textEncoder.file}`),
      "text encoder",
    );
    const dn = await backend.createSession(await Deno.readFile(`${dir}/${m.denoiser.file}`), "denoiser");
    try {
      const ids = { data: BigInt64Array.from(ref.input_ids, BigInt), dims: [1, ref.input_ids.length] };
      const text = (await te.run({ [m.textEncoder.input]: ids }))[m.textEncoder.output];
      const { inputs } = m.denoiser;
      const x = await sampleFlowEuler(
        async (x, t, dt) => {
          const out = await dn.run({
            [inputs.sample]: { data: x, dims: [1, 1, 28, 28] },
            [inputs.time]: { data: Float32Array.of(t), dims: [1] },
            ...(inputs.stepSize ? { [inputs.stepSize]: { data: Float32Array.of(dt), dims: [1] } } : {}),
            [inputs.text]: text,
          });
          return out[m.denoiser.output].data as Float32Array;
        },
        gaussianNoise(ref.seed, 784),
        flowTimes(ref.steps),
      );
      const worst = x.reduce((w, v, i) => Math.max(w, Math.abs(v - ref.sample[i])), 0);
      assert.ok(worst <= 1e-4, `ONNX and PyTorch differ by ${worst}`);
    } finally {
      await te.release();
      await dn.release();
    }
  });
}
