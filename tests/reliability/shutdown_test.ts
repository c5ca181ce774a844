/**
 * SIGTERM while jobs run and wait: the server drains (refusing new work), cancels what is left when the
 * grace period ends, tells every client, closes the sockets with 1001 and exits 0.
 */
import { equal, ok } from "@std/assert";
import { E2E, startServer } from "../_server.ts";
import { idOf, isTerminal, json, label, openSocket, postGenerate, waitForMetrics } from "../_client.ts";

const GRACE_MS = 1_000;
/** Exit bound after SIGTERM: the grace period, a job's last step and the close handshakes. */
const EXIT_BOUND_MS = GRACE_MS + 10_000;

Deno.test({
  name: "SIGTERM while jobs run drains, cancels the rest, closes sockets with 1001 and exits 0",
  ...E2E,
  async fn() {
    await using server = await startServer({
      env: { CONCURRENCY: "1", QUEUE_SIZE: "8", SHUTDOWN_GRACE_MS: String(GRACE_MS) },
    });
    const sockets = await Promise.all([0, 1, 2].map(() => openSocket(server.wsUrl)));
    // Seven 8-step jobs over three sockets: more than the grace period lets finish.
    const jobs = ["a0", "a1", "a2", "b0", "b1", "b2", "c0"].map((id) => ({
      id,
      ws: sockets["abc".indexOf(id[0])],
    }));
    for (const { id, ws } of jobs) ws.send({ type: "generate", id, prompt: "a one", steps: 8 });
    const idle = await openSocket(server.wsUrl);
    // Every job is accepted (queued) before the signal.
    await Promise.all(jobs.map(({ id, ws }) => ws.waitFor((r) => label(r) === "queued" && idOf(r) === id)));
    const waitingHttp = postGenerate(server.url, { prompt: "a two", steps: 8 });
    await sockets[0].waitFor((r) => label(r) === "started");
    await waitForMetrics(server.url, (m) => m.value("gag_queue_depth") === 7);

    const t0 = performance.now();
    server.kill("SIGTERM");
    let health: Response | undefined;
    for (const deadline = Date.now() + 2_000; Date.now() < deadline;) {
      health = await fetch(`${server.url}/healthz`);
      if (health.status === 503) break;
      await health.body?.cancel();
    }
    equal(health?.status, 503, "/healthz turns 503 while draining");
    equal((await health!.json()).status, "draining");
    const refused = await postGenerate(server.url, { prompt: "late" });
    equal(refused.status, 503);
    equal((await refused.json()).error.code, "unavailable");
    idle.send({ type: "generate", id: "late", prompt: "late" });
    const late = json(await idle.waitFor((r) => r.kind === "json" && r.json.id === "late"));
    equal(late.code, "unavailable");

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

    // Every job heard how it ended before its socket closed: done, or cancelled when the grace ran out.
    const ends = jobs.map(({ id, ws }) => {
      const end = ws.received.find((r) => r.kind === "json" && r.json.id === id && isTerminal(r));
      return !end
        ? "nothing"
        : end.kind === "json" && end.json.code
        ? `${label(end)}(${end.json.code}: ${end.json.message})`
        : label(end);
    });
    ok(ends.every((e) => e === "done" || e === "cancelled"), `job ends: ${ends.join(" ")}`);
    ok(
      ends.includes("cancelled"),
      `jobs left at the end of the grace period are cancelled: ${ends.join(" ")}`,
    );
    const http = await waitingHttp;
    ok([200, 503].includes(http.status), `the waiting HTTP request ends in 200 or 503: ${http.status}`);
    await http.body?.cancel();
  },
});
