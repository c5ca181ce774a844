/**
 * SIGTERM while jobs run and wait: the server drains (refusing new work), lets jobs finish within the grace
 * period, cancels what is left when it ends, tells every client, closes the sockets with 1001 and exits 0.
 * Which jobs are left never depends on the machine's speed: a job is held open on a named pipe.
 */
import { deepEqual, equal, ok } from "@std/assert";
import { startServer } from "../_server.ts";
import { idOf, isTerminal, json, label, openSocket, postGenerate, waitForMetrics } from "../_client.ts";
import { copyDigits, holdFile } from "./_model_copy.ts";

const GRACE_MS = 1_000;
/** Exit bound after SIGTERM: the grace period, the server's two 2 s waits for jobs and sockets, and slack. */
const EXIT_BOUND_MS = GRACE_MS + 10_000;

Deno.test({
  name: "SIGTERM while a job runs drains, cancels the waiting jobs, closes sockets with 1001 and exits 0",
  async fn() {
    await using copy = await copyDigits();
    // The first job's lazy load reads the denoiser from a named pipe and waits there: it holds the one
    // slot past the grace period on any machine, however fast.
    const held = await holdFile(`${copy.dir}/denoiser.onnx`);
    await using server = await startServer({
      env: {
        MODELS_DIR: copy.modelsDir,
        LOAD_MODELS: "lazy",
        CONCURRENCY: "1",
        QUEUE_SIZE: "8",
        SHUTDOWN_GRACE_MS: String(GRACE_MS),
      },
    });
    const sockets = await Promise.all([0, 1, 2].map(() => openSocket(server.wsUrl)));
    sockets[0].send({ type: "generate", id: "held", prompt: "a one", steps: 8 });
    await sockets[0].waitFor((r) => label(r) === "started" && idOf(r) === "held");
    // Six more jobs over three sockets and one over HTTP wait behind it.
    const jobs = ["a1", "a2", "b0", "b1", "b2", "c0"].map((id) => ({
      id,
      ws: sockets["abc".indexOf(id[0])],
    }));
    for (const { id, ws } of jobs) ws.send({ type: "generate", id, prompt: "a one", steps: 8 });
    const idle = await openSocket(server.wsUrl);
    await Promise.all(jobs.map(({ id, ws }) => ws.waitFor((r) => label(r) === "queued" && idOf(r) === id)));
    const waitingHttp = postGenerate(server.url, { prompt: "a two", steps: 8 });
    await waitForMetrics(server.url, (m) => m.value("gag_queue_depth") === 7);

    const t0 = performance.now();
    server.kill("SIGTERM");
    let health = await fetch(`${server.url}/healthz`);
    while (health.status !== 503) {
      await health.body?.cancel();
      health = await fetch(`${server.url}/healthz`);
    }
    equal((await health.json()).status, "draining", "/healthz turns 503 while draining");
    const refused = await postGenerate(server.url, { prompt: "late" });
    equal(refused.status, 503);
    equal((await refused.json()).error.code, "unavailable");
    idle.send({ type: "generate", id: "late", prompt: "late" });
    const late = json(await idle.waitFor((r) => r.kind === "json" && r.json.id === "late"));
    equal(late.code, "unavailable");

    // When the grace period ends, every waiting job is cancelled and told so.
    const ends = await Promise.all(
      jobs.map(({ id, ws }) => ws.waitFor((r) => idOf(r) === id && isTerminal(r), 60_000)),
    );
    deepEqual(ends.map(label), jobs.map(() => "cancelled"), "the waiting jobs are cancelled");
    const http = await waitingHttp;
    equal(http.status, 503, "the waiting HTTP request is refused");
    await http.body?.cancel();
    // The held job cannot stop inside its load: let the load fail, so it ends too.
    await held.release();

    const closes = await Promise.all([...sockets, idle].map((ws) => ws.closed));
    const status = await server.status;
    const ms = performance.now() - t0;
    for (const e of closes) {
      equal(e.code, 1001);
      equal(e.reason, "server shutting down");
    }
    equal(status.code, 0, server.output());
    ok(
      ms < EXIT_BOUND_MS,
      `the server exited ${Math.round(ms)} ms after SIGTERM (bound ${EXIT_BOUND_MS} ms)`,
    );
    const heldEnd = sockets[0].received.find((r) => idOf(r) === "held" && isTerminal(r));
    ok(heldEnd, "the held job heard how it ended before its socket closed");
  },
});

Deno.test({
  name: "SIGTERM lets running and waiting jobs finish within the grace period, then exits 0",
  async fn() {
    await using server = await startServer({
      env: { CONCURRENCY: "1", QUEUE_SIZE: "8", SHUTDOWN_GRACE_MS: "600000" },
    });
    await using ws = await openSocket(server.wsUrl);
    const ids = ["j0", "j1", "j2"];
    for (const id of ids) ws.send({ type: "generate", id, prompt: "a three", steps: 2 });
    await Promise.all(ids.map((id) => ws.waitFor((r) => label(r) === "queued" && idOf(r) === id)));
    server.kill("SIGTERM");
    const ends = await Promise.all(
      ids.map((id) => ws.waitFor((r) => idOf(r) === id && isTerminal(r), 120_000)),
    );
    deepEqual(ends.map(label), ["done", "done", "done"]);
    equal((await ws.closed).code, 1001);
    equal((await server.status).code, 0, server.output());
  },
});
