/**
 * What `main.ts` wires from the environment, on the real server: a bad value stops it with a message, the
 * CORS and WS origin allow-lists, lazy loading and idle release, the patched-model cache's hit path,
 * `BACKEND=native` (in the server's process, never in the test runner's), duplicate job ids and queue
 * positions over one socket. Where a job or a load must last, a model file is a named pipe the test lets go.
 *
 * @module
 */
import { deepStrictEqual, equal, notEqual, ok } from "@std/assert";
import { Image } from "imagescript";
import { runServerToExit, startServer } from "./_server.ts";
import { idOf, isTerminal, json, label, openSocket, postGenerate, type Received } from "./_client.ts";
import { addHeldModel, copyDigits, heldModelEnv, holdFile } from "./reliability/_model_copy.ts";

const REQUEST = { prompt: "a thick seven", steps: 2, seed: 7, guidance: { mode: "gag" }, size: 28 };

async function png(url: string, body: Record<string, unknown> = REQUEST): Promise<Uint8Array> {
  const res = await postGenerate(url, body);
  equal(res.status, 200, await res.clone().text());
  return new Uint8Array(await res.arrayBuffer());
}

Deno.test("a bad environment value stops the server with exit code 1 and a message naming it", async () => {
  for (
    const [name, value] of [["CONCURRENCY", "lots"], ["BACKEND", "tpu"], ["PORT", "-1"], [
      "WASM_WORKER",
      "yes",
    ]]
  ) {
    const exit = await runServerToExit({ env: { [name]: value } });
    equal(exit.code, 1, exit.output);
    ok(exit.output.includes(name), `the message names ${name}:\n${exit.output}`);
    ok(!exit.output.includes("Listening on"), `the server never listens:\n${exit.output}`);
  }
});

Deno.test("CORS_ORIGINS and WS_ORIGINS let the listed origins in and keep the others out", async () => {
  const allowed = "http://app.example";
  await using server = await startServer({
    env: { CORS_ORIGINS: allowed, WS_ORIGINS: allowed, LOAD_MODELS: "lazy" },
  });
  const cors = (origin: string) => fetch(`${server.url}/api/models`, { headers: { origin } });
  const yes = await cors(allowed);
  equal(yes.headers.get("access-control-allow-origin"), allowed);
  await yes.body?.cancel();
  const no = await cors("http://other.example");
  equal(no.headers.get("access-control-allow-origin"), null, "an unlisted origin gets no CORS header");
  await no.body?.cancel();
  const preflight = await fetch(`${server.url}/api/generate`, {
    method: "OPTIONS",
    headers: { origin: allowed, "access-control-request-method": "POST" },
  });
  equal(preflight.headers.get("access-control-allow-origin"), allowed);
  await preflight.body?.cancel();

  const ws = (origin: string) => fetch(`${server.url}/ws`, { headers: { origin } });
  const listed = await ws(allowed);
  notEqual(listed.status, 403, "a listed origin may open sockets");
  await listed.body?.cancel();
  const refused = await ws("http://other.example");
  equal(refused.status, 403, "an unlisted origin is refused");
  await refused.body?.cancel();
});

Deno.test("WASM_WORKER=on runs the wasm backend in a worker and serves the same images over HTTP and WS", async () => {
  await using plain = await startServer();
  await using worker = await startServer({ env: { WASM_WORKER: "on" } });
  const reason = async (url: string) =>
    (await (await fetch(`${url}/healthz`)).json()).backendReason as string;
  ok((await reason(worker.url)).endsWith("; in a worker"), await reason(worker.url));
  ok(!(await reason(plain.url)).includes("worker"), await reason(plain.url));
  const expected = await png(plain.url);
  deepStrictEqual(await png(worker.url), expected, "the worker computes the in-process bytes");
  await using ws = await openSocket(worker.wsUrl);
  ws.send({ type: "generate", id: "w", ...REQUEST, steps: 4, previews: { every: 1 } });
  const labels = (await ws.job("w")).map(label).filter((l) => l !== "progress");
  deepStrictEqual(labels, ["queued", "started", "preview", "preview", "preview", "final", "done"]);
});

Deno.test("a lazy server is ready before it loads, loads on the first job and reloads after an idle release", async () => {
  await using copy = await copyDigits();
  const denoiser = await Deno.readFile(`${copy.dir}/denoiser.onnx`);
  // Every read of the denoiser waits on a named pipe: the test sees each load happen.
  const held = await holdFile(`${copy.dir}/denoiser.onnx`);
  await using server = await startServer({
    env: { MODELS_DIR: copy.modelsDir, LOAD_MODELS: "lazy", IDLE_RELEASE_MS: "200" },
  });
  // Ready although nothing could have read the denoiser yet.
  equal((await fetch(`${server.url}/healthz`)).status, 200);
  const first = png(server.url);
  // The release resolves only once the server opens the denoiser: the first job loads the model.
  await held.release(denoiser);
  const a = await first;
  await server.waitForLine(/released idle models/);
  const second = png(server.url);
  await held.release(denoiser);
  deepStrictEqual(await second, a, "the reloaded model gives the same image");
});

Deno.test("a patched model read back from the cache gives the same bytes as a fresh patch, and native the same image", async () => {
  const cacheDir = await Deno.makeTempDir({ prefix: "gag-cache-test-" });
  try {
    const fresh = await (async () => {
      await using server = await startServer({ env: { CACHE_DIR: cacheDir } });
      await server.waitForLine(/patched-model cache miss/);
      return await png(server.url);
    })();
    const cached = await (async () => {
      await using server = await startServer({ env: { CACHE_DIR: cacheDir } });
      await server.waitForLine(/patched-model cache hit/);
      return await png(server.url);
    })();
    deepStrictEqual(cached, fresh, "the cached patch serves the same image bytes as a fresh one");

    await using native = await startServer({ env: { BACKEND: "native" } });
    equal((await (await fetch(`${native.url}/healthz`)).json()).backend, "native");
    const [n, w] = await Promise.all([Image.decode(await png(native.url)), Image.decode(fresh)]);
    equal(n.width, w.width);
    let worst = 0;
    for (let i = 0; i < w.bitmap.length; i++) worst = Math.max(worst, Math.abs(n.bitmap[i] - w.bitmap[i]));
    ok(worst <= 2, `onnxruntime-node and wasm images differ by ${worst} levels`);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("one socket: a duplicate job id is refused, and waiting jobs hear their new place in line", async () => {
  await using copy = await copyDigits();
  // Jobs for `held` keep the one slot until the test lets their load go on.
  const held = await addHeldModel(copy);
  const denoiser = await Deno.readFile(`${copy.dir}/denoiser.onnx`);
  await using server = await startServer({
    env: heldModelEnv(copy),
  });
  await using ws = await openSocket(server.wsUrl);
  const job = (id: string, model = "digits") => ({ type: "generate", id, model, prompt: "a one", steps: 1 });
  ws.send(job("h", "held"));
  await ws.waitFor((r) => label(r) === "started" && idOf(r) === "h");
  ws.send({ ...job("h"), prompt: "again" });
  const duplicate = json(await ws.waitFor((r) => label(r) === "error" && idOf(r) === "h"));
  equal(duplicate.code, "bad_request");
  equal(duplicate.field, "id");

  for (const id of ["w1", "w2", "w3"]) ws.send(job(id));
  const positions = (id: string) =>
    ws.received.filter((r) => label(r) === "queued" && idOf(r) === id).map((r) => json(r).position);
  const queued = (id: string, position: number) => (r: Received) =>
    label(r) === "queued" && idOf(r) === id && json(r).position === position;
  await ws.waitFor(queued("w3", 3));
  ws.send({ type: "cancel", id: "w1" });
  await Promise.all([ws.waitFor(queued("w2", 1)), ws.waitFor(queued("w3", 2))]);
  deepStrictEqual([positions("w2"), positions("w3")], [[2, 1], [3, 2]]);

  await held.release(denoiser);
  const end = (id: string) =>
    ws.waitFor((r) => idOf(r) === id && isTerminal(r) && json(r).field !== "id", 120_000);
  const ends = await Promise.all(["h", "w1", "w2", "w3"].map(end));
  deepStrictEqual(ends.map(label), ["done", "cancelled", "done", "done"]);
});
