import { deepStrictEqual, equal, ok, rejects } from "@std/assert";
import { BusyError, JobQueue } from "../../routes/queue.ts";

/** A job that runs until the test finishes it or its signal aborts; records when it started. */
function controllable(log: string[], name: string) {
  const finish = Promise.withResolvers<string>();
  const job = (signal: AbortSignal) => {
    log.push(`start ${name}`);
    signal.addEventListener("abort", () => finish.reject(signal.reason), { once: true });
    return finish.promise;
  };
  return { job, finish: () => finish.resolve(name), fail: (e: Error) => finish.reject(e) };
}

/** Lets settled promises run their handlers. */
const settle = () => new Promise((r) => setTimeout(r, 0));

Deno.test("JobQueue.run() runs at most `concurrency` jobs and starts the waiting ones in FIFO order", async () => {
  const log: string[] = [];
  const queue = new JobQueue(2, 10);
  const jobs = ["a", "b", "c", "d"].map((n) => controllable(log, n));
  const results = jobs.map((j) => queue.run(j.job));
  deepStrictEqual(log, ["start a", "start b"]);
  equal(queue.running, 2);
  equal(queue.waiting, 2);
  jobs[1].finish();
  await settle();
  deepStrictEqual(log, ["start a", "start b", "start c"]);
  jobs[0].finish();
  jobs[2].finish();
  await settle();
  jobs[3].finish();
  deepStrictEqual(await Promise.all(results), ["a", "b", "c", "d"]);
  deepStrictEqual(log, ["start a", "start b", "start c", "start d"]);
  equal(queue.running, 0);
  equal(queue.waiting, 0);
  equal(queue.stats.outcomes.done, 4);
});

Deno.test("JobQueue.run() refuses a job with BusyError when every slot and waiting place is taken", async () => {
  const log: string[] = [];
  const queue = new JobQueue(1, 1);
  const a = controllable(log, "a"), b = controllable(log, "b"), c = controllable(log, "c");
  const ra = queue.run(a.job), rb = queue.run(b.job);
  equal(queue.full, true);
  const refused = await queue.run(c.job).catch((e) => e);
  ok(refused instanceof BusyError, `expected BusyError, got ${refused}`);
  ok(refused.retryAfterSeconds >= 1, `Retry-After must be at least 1 s: ${refused.retryAfterSeconds}`);
  equal(queue.stats.outcomes.rejected, 1);
  deepStrictEqual(log, ["start a"]);
  a.finish();
  await settle();
  equal(queue.full, false);
  b.finish();
  deepStrictEqual(await Promise.all([ra, rb]), ["a", "b"]);
});

Deno.test("JobQueue with capacity 0 refuses jobs only while all slots run", async () => {
  const log: string[] = [];
  const queue = new JobQueue(1, 0);
  const a = controllable(log, "a");
  const ra = queue.run(a.job);
  await rejects(queue.run(controllable(log, "b").job), BusyError);
  a.finish();
  await ra;
  const c = controllable(log, "c");
  const rc = queue.run(c.job);
  c.finish();
  equal(await rc, "c");
});

Deno.test("cancelling a waiting job removes only that job and the rest still run in order", async () => {
  const log: string[] = [];
  const queue = new JobQueue(1, 10);
  const jobs = ["a", "b", "c", "d"].map((n) => controllable(log, n));
  const cancelB = new AbortController();
  const results = jobs.map((j, i) => queue.run(j.job, i === 1 ? { signal: cancelB.signal } : {}));
  equal(queue.waiting, 3);
  cancelB.abort();
  await rejects(results[1], (e: unknown) => e instanceof DOMException && e.name === "AbortError");
  equal(queue.waiting, 2, "only the cancelled job leaves the queue");
  equal(queue.stats.outcomes.cancelled, 1, "a cancel is counted once");
  for (const j of [jobs[0], jobs[2], jobs[3]]) {
    j.finish();
    await settle();
  }
  deepStrictEqual(await Promise.all([results[0], results[2], results[3]]), ["a", "c", "d"]);
  deepStrictEqual(log, ["start a", "start c", "start d"]);
  equal(queue.running + queue.waiting, 0);
});

Deno.test("cancelling the first of two waiting jobs leaves the second waiting and it runs", async () => {
  const log: string[] = [];
  const queue = new JobQueue(1, 10);
  const a = controllable(log, "a"), b = controllable(log, "b"), c = controllable(log, "c");
  const cancel = new AbortController();
  const ra = queue.run(a.job);
  const rb = queue.run(b.job, { signal: cancel.signal }).catch((e) => e);
  const rc = queue.run(c.job);
  cancel.abort();
  await rb;
  equal(queue.waiting, 1);
  a.finish();
  await settle();
  c.finish();
  deepStrictEqual(await Promise.all([ra, rc]), ["a", "c"]);
  deepStrictEqual(log, ["start a", "start c"]);
});

Deno.test("onPosition reports the 1-based place in line as jobs ahead leave, then 0 when the job starts", async () => {
  const log: string[] = [];
  const queue = new JobQueue(1, 10);
  const a = controllable(log, "a"), b = controllable(log, "b"), c = controllable(log, "c");
  const positions: number[] = [];
  const cancelB = new AbortController();
  const ra = queue.run(a.job);
  const rb = queue.run(b.job, { signal: cancelB.signal }).catch(() => "cancelled");
  const rc = queue.run(c.job, { onPosition: (p) => positions.push(p) });
  cancelB.abort();
  await rb;
  a.finish();
  await settle();
  c.finish();
  await Promise.all([ra, rc]);
  deepStrictEqual(positions, [2, 1, 0]);
});

Deno.test("a running job sees its signal abort, rejects with the reason and counts as cancelled", async () => {
  const log: string[] = [];
  const queue = new JobQueue(1, 1);
  const a = controllable(log, "a"), b = controllable(log, "b");
  const cancel = new AbortController();
  const ra = queue.run(a.job, { signal: cancel.signal });
  const rb = queue.run(b.job);
  cancel.abort(new DOMException("client went away", "AbortError"));
  await rejects(ra, { name: "AbortError", message: "client went away" });
  equal(queue.stats.outcomes.cancelled, 1);
  await settle();
  deepStrictEqual(log, ["start a", "start b"], "the freed slot goes to the waiting job");
  b.finish();
  equal(await rb, "b");
});

Deno.test("cancelAll() cancels running and waiting jobs and leaves the queue empty", async () => {
  const log: string[] = [];
  const queue = new JobQueue(2, 5);
  const jobs = ["a", "b", "c", "d", "e"].map((n) => controllable(log, n));
  const results = jobs.map((j) => queue.run(j.job).then(() => "done", (e: Error) => e.message));
  equal(queue.running, 2);
  equal(queue.waiting, 3);
  queue.cancelAll("server shutting down");
  deepStrictEqual(await Promise.all(results), Array(5).fill("server shutting down"));
  equal(queue.running, 0);
  equal(queue.waiting, 0);
  deepStrictEqual(log, ["start a", "start b"], "no waiting job starts while the queue is cancelled");
  equal(queue.stats.outcomes.cancelled, 5);
});

Deno.test("a job that throws synchronously rejects with its error and frees its slot", async () => {
  const queue = new JobQueue(1, 0);
  const finished: string[] = [];
  queue.onFinish = (_ms, outcome) => finished.push(outcome);
  await rejects(
    queue.run(() => {
      throw new Error("broken job");
    }),
    { message: "broken job" },
  );
  equal(queue.running, 0);
  deepStrictEqual(finished, ["error"]);
  equal(await queue.run(() => Promise.resolve("next")), "next");
});

Deno.test("run() with an already aborted signal rejects without taking a place", async () => {
  const queue = new JobQueue(1, 0);
  const log: string[] = [];
  await rejects(queue.run(controllable(log, "a").job, { signal: AbortSignal.abort() }), {
    name: "AbortError",
  });
  deepStrictEqual(log, []);
  equal(queue.running + queue.waiting, 0);
});

Deno.test("retryAfter() grows with the number of waiting jobs", () => {
  const queue = new JobQueue(1, 100);
  const before = queue.retryAfter();
  for (let i = 0; i < 20; i++) queue.run(() => new Promise(() => {})).catch(() => {});
  ok(queue.retryAfter() > before, `${queue.retryAfter()} should exceed ${before}`);
  queue.cancelAll();
});
