/**
 * Clients that go away mid-job: 100 sockets each submit an 8-step job and disconnect, one while its job
 * runs and the rest while theirs wait. Every job must be cancelled (none runs to the end for nobody), the
 * queue must empty, and resident memory must stay near its level after an identical warm-up round.
 *
 * The running job never depends on the machine's speed: its model's lazy load waits on a named pipe, so it
 * holds the one slot until the test lets the load fail, after its client has gone.
 */
import { equal, ok } from "@std/assert";
import { startServer } from "../_server.ts";
import { type Exposition, idOf, label, openSocket, readMetrics, waitForMetrics } from "../_client.ts";
import { addHeldModel, copyDigits, type HeldFile, heldModelEnv } from "./_model_copy.ts";

const CLIENTS = 100;
/** How far resident memory may stay above the warmed-up baseline after a round (bytes). */
const MEMORY_BOUND = 48 * 1024 * 1024;

const outcome = (m: Exposition, o: string) => m.value("gag_jobs_total", { outcome: o });

/**
 * Runs one round: the first client's job takes the slot (held) and the client leaves once it has started;
 * every other client sends a job and closes its socket on the first reply (its job waits). Then the held
 * load is let go, after the server has seen every client leave.
 */
async function round(url: string, wsUrl: string, held: HeldFile, tag: string): Promise<void> {
  const runner = await openSocket(wsUrl);
  runner.send({
    type: "generate",
    id: `${tag}-held`,
    model: "held",
    prompt: "a zero",
    steps: 8,
    previews: false,
  });
  await runner.waitFor((r) => label(r) === "started" && idOf(r) === `${tag}-held`, 60_000);
  await Promise.all(Array.from({ length: CLIENTS - 1 }, async (_, i) => {
    const ws = await openSocket(wsUrl);
    ws.send({ type: "generate", id: `${tag}-${i}`, prompt: "a zero", steps: 8, previews: false });
    const first = await ws.read();
    if (label(first) !== "queued") throw new Error(`Expected 'queued' first, got ${label(first)}`);
    ws.ws.close();
    await ws.closed;
  }));
  runner.ws.close();
  await runner.closed;
  // A socket's jobs are aborted before it stops counting as open.
  await waitForMetrics(
    url,
    (m) => m.value("gag_websocket_connections") === 0 && m.value("gag_queue_depth") === 0,
  );
  await held.release();
}

/** Waits until no job runs or waits and no socket is open; returns the metrics then. */
function settled(url: string): Promise<Exposition> {
  return waitForMetrics(
    url,
    (m) =>
      m.value("gag_queue_depth") === 0 && m.value("gag_jobs_running") === 0 &&
      m.value("gag_websocket_connections") === 0,
    { timeoutMs: 60_000 },
  );
}

Deno.test({
  name: `${CLIENTS} clients that disconnect mid-job, twice`,
  async fn(t) {
    await using copy = await copyDigits();
    const held = await addHeldModel(copy);
    await using server = await startServer({
      env: {
        ...heldModelEnv(copy),
        QUEUE_SIZE: String(2 * CLIENTS),
      },
    });
    const { url, wsUrl } = server;

    // The warm-up round grows the heap, socket buffers and allocator pools to their working size.
    await round(url, wsUrl, held, "warm");
    let m = await settled(url);
    const baseline = m.value("process_resident_memory_bytes");

    for (const tag of ["r1", "r2"]) {
      await t.step(`round ${tag}: every job is cancelled and the queue empties`, async () => {
        const before = m;
        await round(url, wsUrl, held, tag);
        m = await settled(url);
        equal(outcome(m, "cancelled") - outcome(before, "cancelled"), CLIENTS, "every job is cancelled");
        equal(outcome(m, "done") - outcome(before, "done"), 0, "no job runs to the end for nobody");
        equal(outcome(m, "error") - outcome(before, "error"), 0);
        equal(outcome(m, "rejected") - outcome(before, "rejected"), 0);
      });
    }

    await t.step("HTTP clients that abort their request cancel their job, running or waiting", async () => {
      const before = await readMetrics(url);
      const post = (model: string, signal: AbortSignal) =>
        fetch(`${url}/api/generate`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model, prompt: "a zero", steps: 8 }),
          signal,
        }).catch((e: Error) => e.name);
      const running = new AbortController(), waiting = new AbortController();
      const requests = [post("held", running.signal)];
      await waitForMetrics(url, (m) => m.value("gag_jobs_running") === 1);
      requests.push(post("digits", waiting.signal));
      await waitForMetrics(url, (m) => m.value("gag_queue_depth") === 1);
      running.abort();
      waiting.abort();
      for (const r of await Promise.all(requests)) equal(r, "AbortError");
      // The waiting job's cancel shows in the queue depth; the running one's was sent first.
      await waitForMetrics(url, (m) => m.value("gag_queue_depth") === 0);
      await held.release();
      m = await settled(url);
      equal(outcome(m, "cancelled") - outcome(before, "cancelled"), 2);
      equal(outcome(m, "done") - outcome(before, "done"), 0);
    });

    await t.step(
      `resident memory stays within ${MEMORY_BOUND >> 20} MiB of the warmed-up baseline`,
      async () => {
        const rss = m.value("process_resident_memory_bytes");
        ok(
          rss - baseline < MEMORY_BOUND,
          `RSS went from ${(baseline / 2 ** 20).toFixed(1)} MiB to ${(rss / 2 ** 20).toFixed(1)} MiB`,
        );
        // Still serving after all that.
        await using ws = await openSocket(wsUrl);
        ws.send({ type: "generate", id: "after", prompt: "a zero", steps: 2 });
        equal(label((await ws.job("after", 120_000)).at(-1)!), "done");
        const final = await readMetrics(url);
        console.log(
          `RSS baseline ${(baseline / 2 ** 20).toFixed(1)} MiB, after ${2 * CLIENTS} disconnects ` +
            `${(rss / 2 ** 20).toFixed(1)} MiB, now ${
              (final.value("process_resident_memory_bytes") / 2 ** 20).toFixed(1)
            } MiB`,
        );
      },
    );
  },
});
