/**
 * Broken model folders: start-up fails naming the file, and a model that fails at run time fails only
 * the job that hit it.
 *
 * The run-time fault needs no hook in the server: a copy of the denoiser declares a fixed batch size of 1
 * for its sample input, so single-pass jobs (cfg 1, batch 1) run while classifier-free-guided ones
 * (cfg > 1, batch 2) fail inside onnxruntime's `run()`.
 */
import { deepStrictEqual, equal, match, ok } from "@std/assert";
import { runServerToExit, startServer } from "../_server.ts";
import { json, label, openSocket, postGenerate, readMetrics, waitForMetrics } from "../_client.ts";
import { copyDigits, fixBatchSize } from "./_model_copy.ts";

/** How the copy is broken, and the file the start-up error must name. */
const BREAKS: [string, string, (dir: string) => Promise<void>][] = [
  ["missing denoiser", "denoiser.onnx", (d) => Deno.remove(`${d}/denoiser.onnx`)],
  ["missing text encoder", "text_encoder.onnx", (d) => Deno.remove(`${d}/text_encoder.onnx`)],
  ["missing tokenizer", "tokenizer.json", (d) => Deno.remove(`${d}/tokenizer.json`)],
  [
    "garbage denoiser",
    "denoiser.onnx",
    (d) => Deno.writeFile(`${d}/denoiser.onnx`, new Uint8Array(4096).fill(7)),
  ],
  ["truncated denoiser", "denoiser.onnx", async (d) => {
    const bytes = await Deno.readFile(`${d}/denoiser.onnx`);
    await Deno.writeFile(`${d}/denoiser.onnx`, bytes.subarray(0, bytes.length >> 1));
  }],
  [
    "garbage text encoder",
    "text_encoder.onnx",
    (d) => Deno.writeTextFile(`${d}/text_encoder.onnx`, "not onnx"),
  ],
  [
    "tokenizer that is not JSON",
    "tokenizer.json",
    (d) => Deno.writeTextFile(`${d}/tokenizer.json`, "{ vocab"),
  ],
  ["manifest that is not JSON", "manifest.json", (d) => Deno.writeTextFile(`${d}/manifest.json`, '{"id":')],
  ["manifest naming a denoiser input the file lacks", "denoiser.onnx", async (d) => {
    const manifest = JSON.parse(await Deno.readTextFile(`${d}/manifest.json`));
    manifest.denoiser.inputs.time = "time_that_is_not_there";
    await Deno.writeTextFile(`${d}/manifest.json`, JSON.stringify(manifest));
  }],
];

Deno.test({
  name: "a model folder with a missing or corrupt file fails start-up with a non-zero exit naming the file",
  async fn(t) {
    // Three at a time: each start is one short-lived process.
    for (let i = 0; i < BREAKS.length; i += 3) {
      await Promise.all(
        BREAKS.slice(i, i + 3).map(([what, file, breakIt]) =>
          t.step({
            name: what,
            // Steps that run at once cannot be sanitized one by one; the test around them is.
            sanitizeOps: false,
            sanitizeResources: false,
            sanitizeExit: false,
            async fn() {
              await using copy = await copyDigits();
              await breakIt(copy.dir);
              const exit = await runServerToExit({ env: { MODELS_DIR: copy.modelsDir } }, 90_000);
              equal(exit.code, 1, exit.output);
              ok(exit.output.includes(`${copy.dir}/${file}`), `the error names ${file}:\n${exit.output}`);
              match(exit.output, /Cannot /);
            },
          })
        ),
      );
    }
  },
});

Deno.test({
  name: "an inference error inside a job",
  async fn(t) {
    await using copy = await copyDigits();
    await fixBatchSize(`${copy.dir}/denoiser.onnx`, "x", 1);
    await using server = await startServer({ env: { MODELS_DIR: copy.modelsDir, CONCURRENCY: "1" } });

    await t.step("gives that job an error event and the job queued behind it succeeds", async () => {
      await using ws = await openSocket(server.wsUrl);
      ws.send({ type: "generate", id: "fails", prompt: "a one", cfg: 2, steps: 4 });
      ws.send({ type: "generate", id: "next", prompt: "a one", steps: 4 });
      const failed = await ws.job("fails");
      deepStrictEqual(failed.map(label), ["queued", "started", "error"]);
      const error = json(failed.at(-1));
      equal(error.code, "internal");
      match(error.message!, /denoiser\.onnx/);
      const next = (await ws.job("next")).map(label).filter((l) => l !== "progress" && l !== "preview");
      deepStrictEqual(next, ["queued", "started", "final", "done"]);
    });

    await t.step("answers HTTP with a 500 error body and serves the next request", async () => {
      const bad = await postGenerate(server.url, { prompt: "a two", cfg: 3 });
      equal(bad.status, 500);
      equal((await bad.json()).error.code, "internal");
      const good = await postGenerate(server.url, { prompt: "a two" });
      equal(good.status, 200);
      equal(good.headers.get("content-type"), "image/png");
      await good.body?.cancel();
    });

    await t.step("counts the errors and leaves no job behind", async () => {
      await waitForMetrics(
        server.url,
        (m) => m.value("gag_jobs_running") === 0 && m.value("gag_queue_depth") === 0,
      );
      const m = await readMetrics(server.url);
      equal(m.value("gag_jobs_total", { outcome: "error" }), 2);
      equal(m.value("gag_jobs_total", { outcome: "done" }), 2);
    });
  },
});
