/**
 * Runs in a child process for browser_test.ts: loads the digits model's files and onnxruntime-web, then
 * removes the `Deno` global and only then imports `sampler/browser.ts`, so any module of it that needs
 * Deno at import time fails. Generates one image through the browser entry's engine (served files,
 * wasm) and prints its pixels and the job as JSON.
 *
 * @module
 */
import * as ort from "onnxruntime-web";
import { guidancePatch } from "../../sampler/guidance_patch.ts";

const dir = new URL("../../models/digits/", import.meta.url);
const files = new Map<string, Uint8Array>();
for (const name of ["manifest.json", "tokenizer.json", "text_encoder.onnx", "denoiser.onnx"]) {
  files.set(name, await Deno.readFile(new URL(name, dir)));
}
const served: typeof fetch = (input, init) => {
  const name = new URL(String(input)).pathname.split("/").at(-1)!;
  const bytes = files.get(name);
  if (!bytes) return Promise.resolve(new Response(null, { status: 404, statusText: "Not Found" }));
  return Promise.resolve(new Response(init?.method === "HEAD" ? null : bytes as Uint8Array<ArrayBuffer>));
};
ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

delete (globalThis as { Deno?: unknown }).Deno;
const browser = await import("../../sampler/browser.ts");
const engine = await browser.startEngine({
  models: [browser.urlSource("http://models.test/models/digits/", undefined, served)],
  backend: browser.ortBackend(ort, { name: "wasm", reason: "browser entry" }),
  loaders: { flow: browser.loadFlowPipeline },
  patch: guidancePatch,
  log: () => {},
});
const job = engine.prepare({ prompt: "a thick seven", steps: 2, seed: 11, guidance: { mode: "gag" } });
const gen = await engine.generate(job);
console.log(
  JSON.stringify({ deno: typeof (globalThis as { Deno?: unknown }).Deno, job, pixels: [...gen.image.data] }),
);
await engine.close();
