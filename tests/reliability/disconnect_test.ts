/**
 * Clients that go away mid-job: 100 sockets each submit an 8-step job and disconnect, a quarter once
 * their job runs and the rest while it waits. Every job must be cancelled (none runs to the end for nobody), the
 * queue must empty, and resident memory must stay near its level after an identical warm-up round.
 */
import { equal, ok } from "@std/assert";
import { E2E, startServer, step } from "../_server.ts";
import { type Exposition, label, openSocket, readMetrics, waitForMetrics } from "../_client.ts";

const CLIENTS = 100;
/** Every this-many-th client leaves while its job runs; the others while it waits. */
const RUNNING_EVERY = 4;
/** How far resident memory may stay above the warmed-up baseline after a round (bytes). */
const MEMORY_BOUND = 48 * 1024 * 1024;

/**
 * Runs one round: every client sends a job and closes its socket on the first reply (its job waits), or,
 * for every {@linkcode RUNNING_EVERY}-th client, on its job's first progress event (it runs). Returns how
 * many jobs were running when their client left.
 */
async function round(wsUrl: string, tag: string): Promise<number> {
  const running = await Promise.all(Array.from({ length: CLIENTS }, async (_, i) => {
    const ws = await openSocket(wsUrl);
    ws.send({ type: "generate", id: `${tag}-${i}`, prompt: "a zero", steps: 8, previews: false });
    const first = await ws.read();
    if (label(first) !== "queued") throw new Error(`Expected 'queued' first, got ${label(first)}`);
    const leaveRunning = i % RUNNING_EVERY === 0;
    if (leaveRunning) await ws.waitFor((r) => label(r) === "progress", 60_000);
    ws.ws.close();
    await ws.closed;
    return leaveRunning;
  }));
  return running.filter(Boolean).length;
}

const outcome = (m: Exposition, o: string) => m.value("gag_jobs_total", { outcome: o });

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
  ...E2E,
  async fn(t) {
    await using server = await startServer({ env: { CONCURRENCY: "1", QUEUE_SIZE: String(2 * CLIENTS) } });
    const { url, wsUrl } = server;

    // The warm-up round grows the heap, socket buffers and allocator pools to their working size.
    await round(wsUrl, "warm");
    let m = await settled(url);
    const baseline = m.value("process_resident_memory_bytes");

    for (const tag of ["r1", "r2"]) {
      await step(t, `round ${tag}: every job is cancelled and the queue empties`, async () => {
        const before = m;
        const midJob = await round(wsUrl, tag);
        equal(midJob, CLIENTS / RUNNING_EVERY, "these clients leave while their job runs");
        m = await settled(url);
        equal(outcome(m, "cancelled") - outcome(before, "cancelled"), CLIENTS, "every job is cancelled");
        equal(outcome(m, "done") - outcome(before, "done"), 0, "no job runs to the end for nobody");
        equal(outcome(m, "error") - outcome(before, "error"), 0);
        equal(outcome(m, "rejected") - outcome(before, "rejected"), 0);
      });
    }

    await step(t, "HTTP clients that abort their request cancel their job, running or waiting", async () => {
      const before = await readMetrics(url);
      const aborts = [new AbortController(), new AbortController()];
      const requests = aborts.map((c) =>
        fetch(`${url}/api/generate`, {
          method: "POST",
          body: JSON.stringify({ prompt: "a zero", steps: 8 }),
          signal: c.signal,
        }).catch((e: Error) => e.name)
      );
      await waitForMetrics(url, (m) => m.value("gag_jobs_running") === 1 && m.value("gag_queue_depth") === 1);
      for (const c of aborts) c.abort();
      for (const r of await Promise.all(requests)) equal(r, "AbortError");
      m = await settled(url);
      equal(outcome(m, "cancelled") - outcome(before, "cancelled"), 2);
      equal(outcome(m, "done") - outcome(before, "done"), 0);
    });

    await step(
      t,
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
        equal(label((await ws.job("after")).at(-1)!), "done");
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
