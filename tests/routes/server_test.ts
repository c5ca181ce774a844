/**
 * The HTTP and WebSocket API end to end: the real server on a free port, real `fetch` and `WebSocket`.
 *
 * One job runs at a time and one may wait (CONCURRENCY=1, QUEUE_SIZE=1), so a third concurrent job is
 * refused. Nothing here depends on the machine's speed: where a test needs a job or a start-up to last, a
 * model file is read from a named pipe that the test lets go.
 */
import { deepStrictEqual, equal, match, notDeepStrictEqual, notEqual, ok } from "@std/assert";
import { startServer } from "../_server.ts";
import {
  type Exposition,
  frame,
  idOf,
  json,
  label,
  openSocket,
  postGenerate,
  readMetrics,
  waitForMetrics,
} from "../_client.ts";
import { addHeldModel, copyDigits, heldModelEnv, holdFile } from "../reliability/_model_copy.ts";

const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const MAX_BODY_BYTES = 4096;
const MAX_WS_MESSAGE_BYTES = 2048;

function isPng(bytes: Uint8Array): boolean {
  return PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

async function errorBody(res: Response): Promise<{ code: string; message: string; field?: string }> {
  equal(res.headers.get("content-type"), "application/json");
  const body = await res.json();
  ok(typeof body.error?.message === "string" && body.error.message.length > 0, JSON.stringify(body));
  return body.error;
}

Deno.test({
  name: "503 with Retry-After while the models load, then /healthz turns 200",
  async fn() {
    await using copy = await copyDigits();
    const denoiser = await Deno.readFile(`${copy.dir}/denoiser.onnx`);
    // The start-up load waits on the denoiser's named pipe until the checks below are done.
    const held = await holdFile(`${copy.dir}/denoiser.onnx`);
    await using server = await startServer({ env: { MODELS_DIR: copy.modelsDir }, listenOnly: true });
    const { url } = server;
    const health = await fetch(`${url}/healthz`);
    equal(health.status, 503);
    equal((await health.json()).status, "starting");
    const live = await fetch(`${url}/livez`);
    equal(live.status, 200, "the process is alive while it starts");
    await live.body?.cancel();
    const res = await postGenerate(url, { prompt: "too early" });
    equal(res.status, 503);
    equal(res.headers.get("retry-after"), "5");
    equal((await errorBody(res)).code, "unavailable");
    const ws = await fetch(`${url}/ws`);
    equal(ws.status, 503, "a socket cannot open before the server is ready");
    await ws.body?.cancel();
    await held.release(denoiser);
    await server.ready();
  },
});

Deno.test({
  name: "the HTTP and WebSocket API of the real server",
  async fn(t) {
    await using copy = await copyDigits();
    // Jobs for the model `held` keep their slot until the test lets their load go on.
    const held = await addHeldModel(copy);
    const denoiser = await Deno.readFile(`${copy.dir}/denoiser.onnx`);
    await using server = await startServer({
      env: {
        ...heldModelEnv(copy),
        QUEUE_SIZE: "1",
        MAX_BODY_BYTES: String(MAX_BODY_BYTES),
        MAX_WS_MESSAGE_BYTES: String(MAX_WS_MESSAGE_BYTES),
      },
    });
    const { url } = server;

    await t.step("GET /healthz, /livez, /api/models and /openapi.json describe a ready server", async () => {
      const health = await (await fetch(`${url}/healthz`)).json();
      equal(health.status, "ok");
      ok(["wasm", "webgpu", "native"].includes(health.backend), health.backend);
      ok(health.models.includes("digits"), JSON.stringify(health.models));
      deepStrictEqual(await (await fetch(`${url}/livez`)).json(), { status: "alive" });
      const { models } = await (await fetch(`${url}/api/models`)).json();
      const digits = models.find((m: { id: string }) => m.id === "digits");
      equal(digits.maxSteps, 8);
      const doc = await (await fetch(`${url}/openapi.json`)).json();
      equal(doc.openapi, "3.1.0");
      ok(doc.paths["/api/generate"].post.requestBody, "the generate body schema is documented");
    });

    await t.step(
      "a WS generate yields queued, started, previews, then the final frame right before done",
      async () => {
        await using ws = await openSocket(server.wsUrl);
        ws.send({ type: "generate", id: "order", prompt: "a seven", steps: 4, seed: 7 });
        const events = await ws.job("order");
        const labels = events.map(label).filter((l) => l !== "progress");
        equal(labels[0], "queued", labels.join(" "));
        equal(labels[1], "started", labels.join(" "));
        deepStrictEqual(labels.slice(-2), ["final", "done"]);
        const previews = events.filter((r) => r.kind === "frame" && r.frame.kind === "preview");
        ok(previews.length >= 1, `expected at least one preview frame: ${labels.join(" ")}`);
        deepStrictEqual(
          labels.slice(2, -2),
          Array(labels.length - 4).fill("preview"),
          "only previews come between started and final",
        );
        const steps = previews.map((r) => r.kind === "frame" ? r.frame.step : -1);
        deepStrictEqual(steps, [1, 2, 3], "a preview of each step but the last (the final), in order");
        const final = frame(events.at(-2));
        equal(final.id, "order");
        equal(final.step, 4);
        equal(final.steps, 4);
        ok(isPng(final.image), "the final frame holds a PNG");
        const started = json(events[1]), done = json(events.at(-1)!);
        equal(started.seed, 7);
        equal(done.seed, 7);
        equal(done.steps, 4);
        equal(done.mode, "none");
      },
    );

    await t.step(
      "cancel right after started gives cancelled, no final frame, and frees the slot",
      async () => {
        await using ws = await openSocket(server.wsUrl);
        // Sent together: the server reads the cancel before the job's first step ends (it yields to the
        // event loop between steps), so the job cannot finish first on any machine.
        ws.send({ type: "generate", id: "doomed", prompt: "a three", steps: 8, previews: false });
        ws.send({ type: "cancel", id: "doomed" });
        const events = await ws.job("doomed");
        ok(events.some((r) => label(r) === "started"), events.map(label).join(" "));
        equal(label(events.at(-1)!), "cancelled", events.map(label).join(" "));
        ok(!events.some((r) => r.kind === "frame"), "a cancelled job sends no frame");
        const progress = events.filter((r) => label(r) === "progress").length;
        ok(progress < 8, `the job stopped before its last step: ${progress} progress events`);
        await waitForMetrics(
          url,
          (m) => m.value("gag_jobs_running") === 0 && m.value("gag_queue_depth") === 0,
        );
        ws.send({ type: "generate", id: "after", prompt: "a three", steps: 1 });
        equal(label((await ws.job("after")).at(-1)!), "done");
      },
    );

    await t.step("two jobs on one socket both finish, each with its own final frame", async () => {
      await using ws = await openSocket(server.wsUrl);
      ws.send({ type: "generate", id: "first", prompt: "a one", steps: 2, seed: 1, previews: false });
      ws.send({ type: "generate", id: "second", prompt: "a two", steps: 3, seed: 2, format: "jpeg" });
      const [a, b] = await Promise.all([ws.job("first"), ws.job("second")]);
      for (const [events, steps, format] of [[a, 2, "png"], [b, 3, "jpeg"]] as const) {
        const finals = events.filter((r) => r.kind === "frame" && r.frame.kind === "final");
        equal(finals.length, 1);
        const f = frame(finals[0]);
        equal(f.steps, steps);
        equal(f.format, format);
        equal(json(events.at(-1)!).type, "done");
      }
      equal(a.filter((r) => r.kind === "frame").length, 1, "previews: false sends only the final frame");
      ok(
        b.some((r) => label(r) === "queued" && json(r).position === 1),
        "the second job waits in line behind the first",
      );
    });

    await t.step("the same request over HTTP and WS with the same seed gives identical bytes", async () => {
      const request = { prompt: "a four", steps: 3, seed: 4242, guidance: { mode: "gag" }, format: "png" };
      const res = await postGenerate(url, request);
      equal(res.status, 200);
      equal(res.headers.get("content-type"), "image/png");
      equal(res.headers.get("x-seed"), "4242");
      equal(res.headers.get("x-steps"), "3");
      equal(res.headers.get("x-guidance-mode"), "gag");
      equal(res.headers.get("x-model"), "digits");
      ok(Number(res.headers.get("x-elapsed-ms")) > 0);
      const http = new Uint8Array(await res.arrayBuffer());
      // Cross a wall-clock second so an encoding timestamp in the file would show as a difference.
      await new Promise((r) => setTimeout(r, 1010 - (Date.now() % 1000)));
      await using ws = await openSocket(server.wsUrl);
      ws.send({ type: "generate", id: "same", ...request, previews: false });
      const final = frame((await ws.job("same")).find((r) => r.kind === "frame"));
      ok(isPng(http));
      deepStrictEqual(final.image, http);
      const other = new Uint8Array(await (await postGenerate(url, { ...request, seed: 4243 })).arrayBuffer());
      notDeepStrictEqual(other, http, "another seed gives another image");
    });

    await t.step(
      "400: invalid JSON, a wrong field type and an out-of-range value name the problem",
      async () => {
        const broken = await postGenerate(url, "{prompt:");
        equal(broken.status, 400);
        equal((await errorBody(broken)).code, "bad_request");
        const wrongType = await postGenerate(url, { prompt: 5 });
        equal(wrongType.status, 400);
        const e = await errorBody(wrongType);
        equal(e.field, "prompt");
        const steps = await postGenerate(url, { prompt: "x", steps: 9 });
        equal(steps.status, 400);
        const s = await errorBody(steps);
        equal(s.field, "steps");
        match(s.message, /9/, "the message gives the current value");
        const extra = await postGenerate(url, { prompt: "x", colour: "red" });
        equal(extra.status, 400);
      },
    );

    await t.step("with AUTH_TOKEN unset no token is needed and a stray one is ignored", async () => {
      const res = await postGenerate(url, { prompt: "x", steps: 1 }, {
        authorization: "Bearer whatever-it-is",
      });
      equal(res.status, 200);
      await res.body?.cancel();
      await using ws = await openSocket(`${server.wsUrl}?token=whatever`);
      ws.send({ type: "generate", id: "open", prompt: "x", steps: 1, previews: false });
      equal(label((await ws.job("open")).at(-1)!), "done");
    });

    await t.step("403: a socket from an origin that is not allowed", async () => {
      const res = await fetch(`${url}/ws`, { headers: { origin: "http://evil.example" } });
      equal(res.status, 403);
      equal((await errorBody(res)).code, "forbidden");
      const same = await fetch(`${url}/ws`, { headers: { origin: url } });
      notEqual(same.status, 403, "the server's own origin may open sockets");
      await same.body?.cancel();
    });

    await t.step("404: an unknown model over HTTP and WS", async () => {
      const res = await postGenerate(url, { prompt: "x", model: "nope" });
      equal(res.status, 404);
      const e = await errorBody(res);
      deepStrictEqual([e.code, e.field], ["not_found", "model"]);
      await using ws = await openSocket(server.wsUrl);
      ws.send({ type: "generate", id: "m", prompt: "x", model: "nope" });
      const [event] = await ws.job("m");
      deepStrictEqual([json(event).type, json(event).code, json(event).field], [
        "error",
        "not_found",
        "model",
      ]);
      const missing = await fetch(`${url}/api/nothing`);
      equal(missing.status, 404);
      equal((await errorBody(missing)).code, "not_found");
    });

    await t.step("413: a body or WS message over the limit, declared or chunked", async () => {
      const big = JSON.stringify({ prompt: "x".repeat(MAX_BODY_BYTES) });
      const declared = await postGenerate(url, big);
      equal(declared.status, 413);
      equal((await errorBody(declared)).code, "too_large");
      const chunks = Array.from({ length: 8 }, () => new TextEncoder().encode(" ".repeat(1024)));
      const chunked = await fetch(`${url}/api/generate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: ReadableStream.from(chunks),
      });
      equal(chunked.status, 413);
      equal((await errorBody(chunked)).code, "too_large");
      await using ws = await openSocket(server.wsUrl);
      ws.send(JSON.stringify({ type: "generate", id: "big", prompt: "é".repeat(MAX_WS_MESSAGE_BYTES / 2) }));
      const event = json(await ws.read());
      deepStrictEqual([event.type, event.code], ["error", "too_large"]);
    });

    await t.step(
      "429: a burst beyond the queue is refused with Retry-After while accepted jobs finish",
      async () => {
        // A job for `held` takes the one slot until its load is let go; then exactly one job can wait.
        const before = await readMetrics(url);
        const holder = postGenerate(url, { model: "held", prompt: "a five", steps: 2 });
        await waitForMetrics(url, (m) => m.value("gag_jobs_running") === 1);
        const burst = 8;
        const responses: Promise<Response>[] = [];
        for (let i = 0; i < burst; i++) {
          responses.push(postGenerate(url, { prompt: "a five", steps: 4, seed: i }));
          // The first one waits in line: make sure it is there before the rest arrive.
          if (i === 0) await waitForMetrics(url, (m) => m.value("gag_queue_depth") === 1);
        }
        // Counted before any response is awaited, so a burst that is let in fails here instead of waiting.
        const rejected = (m: Exposition) =>
          m.value("gag_jobs_total", { outcome: "rejected" }) -
          before.value("gag_jobs_total", { outcome: "rejected" });
        await waitForMetrics(url, (m) => rejected(m) === burst - 1);
        const refusals = await Promise.all(responses.slice(1));
        for (const res of refusals) {
          equal(res.status, 429);
          ok(Number(res.headers.get("retry-after")) >= 1, `Retry-After: ${res.headers.get("retry-after")}`);
          equal((await errorBody(res)).code, "busy");
        }
        // The same over sockets: every job is refused with busy and retryAfter while the line is full.
        const sockets = await Promise.all(Array.from({ length: 5 }, () => openSocket(server.wsUrl)));
        sockets.forEach((ws, i) => ws.send({ type: "generate", id: `b${i}`, prompt: "a six", steps: 4 }));
        const ends = await Promise.all(sockets.map(async (ws, i) => json((await ws.job(`b${i}`)).at(-1)!)));
        await Promise.all(sockets.map((ws) => ws.close()));
        ok(ends.every((e) => e.code === "busy" && e.retryAfter! >= 1), JSON.stringify(ends));

        await held.release(denoiser);
        for (const res of [await holder, await responses[0]]) {
          equal(res.status, 200);
          ok(isPng(new Uint8Array(await res.arrayBuffer())), "an accepted job returns its image");
        }
        const after = await waitForMetrics(
          url,
          (m) => m.value("gag_jobs_running") === 0 && m.value("gag_queue_depth") === 0,
        );
        const delta = (outcome: string) =>
          after.value("gag_jobs_total", { outcome }) - before.value("gag_jobs_total", { outcome });
        equal(delta("done"), 2);
        equal(delta("rejected"), burst - 1 + sockets.length);
      },
    );

    await t.step(
      "WS: a bad message is answered with its id and field, a cancel of an unknown id with 404",
      async () => {
        await using ws = await openSocket(server.wsUrl);
        ws.send({ type: "generate", id: "bad", prompt: "x", steps: "four" });
        const bad = json(await ws.read());
        deepStrictEqual([bad.type, bad.id, bad.code, bad.field], ["error", "bad", "bad_request", "steps"]);
        ws.send({ type: "cancel", id: "ghost" });
        const ghost = json(await ws.read());
        deepStrictEqual([ghost.type, ghost.id, ghost.code], ["error", "ghost", "not_found"]);
        ws.send(new Uint8Array([1, 2, 3]));
        const binary = json(await ws.read());
        deepStrictEqual([binary.type, binary.id, binary.code], ["error", null, "bad_request"]);
        ws.send({ type: "generate", id: "ok", prompt: "x", steps: 1 });
        equal(label((await ws.job("ok")).at(-1)!), "done", "the socket still works after errors");
        ok(ws.received.every((r) => idOf(r) !== undefined), "every message names its job or null");
      },
    );

    await t.step("GET /metrics parses as Prometheus text and counts the jobs above", async () => {
      const m = await readMetrics(url);
      equal(m.types.get("gag_jobs_total"), "counter");
      equal(m.types.get("gag_generation_seconds"), "histogram");
      ok(m.value("gag_jobs_total", { outcome: "done" }) >= 10);
      ok(m.value("gag_jobs_total", { outcome: "cancelled" }) >= 1);
      ok(m.value("gag_jobs_total", { outcome: "rejected" }) >= 2);
      equal(m.value("gag_generation_seconds_count"), m.value("gag_jobs_total", { outcome: "done" }));
      equal(m.value("gag_queue_capacity"), 1);
      equal(m.value("gag_ready"), 1);
      ok(m.value("process_resident_memory_bytes") > 10e6);
    });
  },
});
