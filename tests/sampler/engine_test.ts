import assert from "node:assert/strict";
import {
  createBackend,
  createEngine,
  encodeImage,
  type Engine,
  type GenerateRequest,
  guidancePatch,
  parseManifest,
} from "../../sampler/mod.ts";
import { MODELS_DIR, testEngine } from "../_engine.ts";

const png = async (e: Engine, req: GenerateRequest) =>
  await encodeImage((await e.generate(e.prepare(req))).image, { format: "png" });

Deno.test("one wasm engine over the embedded model", async (t) => {
  const e = await testEngine("wasm");
  try {
    await t.step(
      "the engine gives identical bytes for the same seed and a different image for another seed",
      async () => {
        const req = { prompt: "a thick seven", steps: 2, seed: 11, guidance: { mode: "gag" as const } };
        const a = await png(e, req), b = await png(e, req), c = await png(e, { ...req, seed: 12 });
        assert.deepEqual(a, b);
        assert.notDeepEqual(a, c);
        const gen = await e.generate(e.prepare({ prompt: "3" }));
        assert.ok(Number.isInteger(gen.seed) && gen.seed >= 0, "a random seed is returned");
      },
    );
    await t.step(
      "CFG at a scale near 1 equals sampling without CFG, and a large scale changes the image",
      async () => {
        const p = e.pipeline();
        const base = { prompts: ["two", "a small 5"], seeds: [1, 2], steps: 2 };
        const plain = await p.sampleBatch(base);
        const near = await p.sampleBatch({ ...base, cfg: 1 + 1e-6 });
        const strong = await p.sampleBatch({ ...base, cfg: 4 });
        const maxDiff = (a: Float32Array, b: Float32Array) =>
          a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
        assert.ok(maxDiff(plain, near) < 1e-4, `cfg≈1 differs by ${maxDiff(plain, near)}`);
        assert.ok(maxDiff(plain, strong) > 1e-2);
      },
    );
    await t.step(
      "generate() reports every step in order and stops within one step when cancelled",
      async () => {
        const steps: number[] = [];
        await e.generate(e.prepare({ prompt: "four", steps: 4, seed: 1 }), {
          onStep: (s) => void steps.push(s.step),
        });
        assert.deepEqual(steps, [1, 2, 3, 4]);
        const controller = new AbortController();
        const seen: number[] = [];
        await assert.rejects(
          e.generate(e.prepare({ prompt: "four", steps: 8, seed: 1 }), {
            signal: controller.signal,
            onStep: (s) => {
              seen.push(s.step);
              if (s.step === 2) controller.abort();
            },
          }),
          (err: Error) => err.name === "AbortError",
        );
        assert.deepEqual(seen, [1, 2]);
      },
    );
    await t.step(
      "prepare() fills defaults into a frozen job and names the field of an out-of-range value",
      async () => {
        const r = e.prepare({ prompt: "x", guidance: { mode: "gag" } });
        assert.equal(r.steps, 4);
        assert.equal(r.guidance.scale, e.models()[0].guidance.defaults.gag.scale);
        assert.ok(Object.isFrozen(r) && Object.isFrozen(r.guidance), "a job cannot change after prepare()");
        assert.throws(
          () => e.prepare({ prompt: "x", steps: 9 }),
          (err: Error & { field?: string }) => err.field === "steps",
        );
        assert.throws(
          () => e.prepare({ prompt: "x", guidance: { mode: "gag", eta: -1 } }),
          (err: Error & { field?: string }) => err.field === "guidance.eta",
        );
        assert.throws(
          () => e.prepare({ prompt: "x", guidance: { mode: "gag", layers: "self" } }),
          (err: Error & { field?: string }) => err.field === "guidance.layers",
        );
        assert.throws(
          () => e.prepare({ model: "nope", prompt: "x" }),
          (err: Error & { code?: string }) => err.code === "not_found",
        );
        const unknown = await e.generate(e.prepare({ prompt: "a purple seven", steps: 1, seed: 1 }));
        assert.deepEqual(unknown.unknownWords, ["purple"]);
        assert.equal(unknown.truncated, false);
        const long = "a thick seven slanted right " + "and a thin one ".repeat(4);
        const cut = await e.generate(e.prepare({ prompt: long, steps: 1, seed: 1 }));
        assert.equal(cut.truncated, true, "a prompt past the tokenizer's length is reported as truncated");
      },
    );
    await t.step("the WebGPU backend (Mesa llvmpipe in CI) generates the same image as wasm", async () => {
      const adapter = await navigator.gpu?.requestAdapter();
      assert.ok(
        adapter,
        "No WebGPU adapter: install Mesa's Vulkan driver (apt-get install -y mesa-vulkan-drivers libvulkan1)",
      );
      const gpu = await testEngine("webgpu");
      try {
        assert.equal(gpu.backend.name, "webgpu");
        const req = { prompt: "a thick seven", steps: 1, seed: 3, guidance: { mode: "gag" as const } };
        const a = (await gpu.generate(gpu.prepare(req))).image.data;
        const b = (await e.generate(e.prepare(req))).image.data;
        const worst = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
        assert.ok(worst <= 2, `WebGPU and wasm differ by ${worst} levels`);
      } finally {
        await gpu.close();
      }
    });
  } finally {
    await e.close();
  }
});

Deno.test("a bad manifest names the file and the field", () => {
  assert.throws(
    () => parseManifest({ id: "x", kind: "flow", steps: { default: 0 } }, "models/x/manifest.json"),
    (e: Error) =>
      e.message.includes("models/x/manifest.json") && e.message.includes("'steps.default'") &&
      e.message.includes("'denoiser'"),
  );
});

Deno.test({
  name: "backend auto falls back to wasm without a WebGPU adapter, and an explicit webgpu fails clearly",
  async fn() {
    const original = Object.getOwnPropertyDescriptor(Navigator.prototype, "gpu")!;
    Object.defineProperty(Navigator.prototype, "gpu", { configurable: true, get: () => undefined });
    try {
      const auto = await createBackend("auto", { log: () => {} });
      assert.equal(auto.name, "wasm");
      assert.match(auto.reason, /navigator.gpu is not available/);
      await assert.rejects(createBackend("webgpu"), /Cannot start WebGPU/);
    } finally {
      Object.defineProperty(Navigator.prototype, "gpu", original);
    }
  },
});

Deno.test({
  name: "a lazy engine loads a model on its first request, releases it when idle and reloads it on demand",
  async fn() {
    const lazy = await createEngine({
      modelsDir: MODELS_DIR,
      backend: "wasm",
      patch: guidancePatch,
      lazy: true,
      log: () => {},
    });
    try {
      assert.deepEqual(lazy.loaded(), []);
      assert.equal(lazy.models()[0].id, "digits", "models are listed before they load");
      const a = await lazy.generate(lazy.prepare({ prompt: "one", steps: 1, seed: 9 }));
      assert.deepEqual(lazy.loaded(), ["digits"]);
      await lazy.release();
      assert.deepEqual(lazy.loaded(), []);
      const b = await lazy.generate(lazy.prepare({ prompt: "one", steps: 1, seed: 9 }));
      assert.deepEqual(b.image.data, a.image.data);
    } finally {
      await lazy.close();
    }
  },
});
