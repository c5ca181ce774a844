import assert from "@std/assert";
import type { Session, TensorValue } from "../../sampler/backend.ts";
import { createBatcher } from "../../sampler/batcher.ts";

/** A session computing y = 10·x + g per row (x [n, 2], g [n or 1, 1]) that records each call's rows. */
function fakeSession({ failOnNaN = false } = {}) {
  const calls: number[][] = [];
  const session: Session = {
    inputNames: ["x", "g"],
    outputNames: ["y"],
    types: {},
    run(feeds) {
      const x = feeds.x.data as Float32Array, g = feeds.g.data as Float32Array;
      const n = feeds.x.dims[0];
      calls.push(Array.from({ length: n }, (_, r) => x[2 * r]));
      if (failOnNaN && x.some(Number.isNaN)) {
        return Promise.reject(new Error("Cannot run as an input is NaN"));
      }
      const y = x.map((v, i) => 10 * v + g[g.length === 1 ? 0 : Math.floor(i / 2)]);
      return Promise.resolve({ y: { data: y, dims: [n, 2] } });
    },
    release: () => Promise.resolve(),
  };
  return { session, calls };
}

const feeds = (rows: number[], g: number[]): Record<string, TensorValue> => ({
  x: { data: Float32Array.from(rows.flatMap((r) => [r, r + 0.5])), dims: [rows.length, 2] },
  g: { data: Float32Array.from(g), dims: [g.length, 1] },
});

Deno.test("createBatcher() merges the runs of joined jobs into one call and gives each its own rows", async () => {
  const { session, calls } = fakeSession();
  const batched = createBatcher(session, { maxWaitMs: 60_000 });
  const a = batched.join(), b = batched.join();
  const first = batched.run(feeds([1], [0.25]));
  assert.equal(calls.length, 0, "the first run waits for the other job");
  const second = batched.run(feeds([2, 3], [1]));
  const [ya, yb] = await Promise.all([first, second]);
  assert.deepEqual(calls, [[1, 2, 3]]);
  assert.deepEqual([...ya.y.data], [10.25, 15.25]);
  assert.deepEqual(ya.y.dims, [1, 2]);
  // The 1-row g of the second run is repeated over its two rows.
  assert.deepEqual([...yb.y.data], [21, 26, 31, 36]);
  assert.deepEqual(yb.y.dims, [2, 2]);
  a.leave(), b.leave();
});

Deno.test("createBatcher() runs a lone job at once", () => {
  const { session, calls } = fakeSession();
  const batched = createBatcher(session, { maxWaitMs: 60_000 });
  using _member = batched.join();
  const done = batched.run(feeds([1], [0]));
  assert.deepEqual(calls, [[1]]);
  return done.then(() => {});
});

Deno.test("createBatcher() takes runs that arrive during a call into the next call", async () => {
  const { session, calls } = fakeSession();
  const held = Promise.withResolvers<void>();
  const run = session.run;
  let first = true;
  session.run = async (f) => {
    if (first) first = false, await held.promise;
    return await run(f);
  };
  const batched = createBatcher(session, { maxWaitMs: 60_000 });
  const lone = batched.join();
  const one = batched.run(feeds([1], [0])).finally(() => lone.leave());
  const others = [batched.join(), batched.join()];
  const rest = [2, 3].map((r, i) => batched.run(feeds([r], [0])).finally(() => others[i].leave()));
  assert.deepEqual(calls, [], "the first call is still running");
  held.resolve();
  await Promise.all([one, ...rest]);
  assert.deepEqual(calls, [[1], [2, 3]]);
});

Deno.test("createBatcher() puts at most maxBatch rows in a call", async () => {
  const { session, calls } = fakeSession();
  // The last run waits (for as many runs as the last call held) until maxWaitMs.
  const batched = createBatcher(session, { maxBatch: 2, maxWaitMs: 1 });
  const members = [batched.join(), batched.join(), batched.join()];
  await Promise.all([1, 2, 3].map((r, i) => batched.run(feeds([r], [0])).finally(() => members[i].leave())));
  assert.deepEqual(calls, [[1, 2], [3]]);
});

Deno.test("createBatcher() sends a waiting run when the job it waits for leaves", async () => {
  const { session, calls } = fakeSession();
  const batched = createBatcher(session, { maxWaitMs: 60_000 });
  const a = batched.join(), b = batched.join();
  const run = batched.run(feeds([1], [0]));
  assert.equal(calls.length, 0);
  b.leave();
  await run;
  assert.deepEqual(calls, [[1]]);
  a.leave();
});

Deno.test("createBatcher() sends a waiting run after maxWaitMs when other jobs do not call", async () => {
  const { session, calls } = fakeSession();
  const batched = createBatcher(session, { maxWaitMs: 1 });
  const a = batched.join(), b = batched.join();
  await batched.run(feeds([1], [0]));
  assert.deepEqual(calls, [[1]]);
  a.leave(), b.leave();
});

Deno.test("createBatcher() drops a run whose signal aborts while it waits, and the others go on", async () => {
  const { session, calls } = fakeSession();
  const batched = createBatcher(session, { maxWaitMs: 60_000 });
  const members = [batched.join(), batched.join(), batched.join()];
  const controller = new AbortController();
  const cancelled = batched.run(feeds([1], [0]), { signal: controller.signal });
  const kept = batched.run(feeds([2], [0]));
  controller.abort();
  await assert.rejects(cancelled, (e: Error) => e.name === "AbortError");
  members[0].leave();
  const last = batched.run(feeds([3], [0]));
  await Promise.all([kept, last]);
  assert.deepEqual(calls, [[2, 3]]);
  members.forEach((m) => m.leave());
});

Deno.test("createBatcher() retries a failed merged call run by run, so only the faulty run fails", async () => {
  const { session, calls } = fakeSession({ failOnNaN: true });
  const batched = createBatcher(session, { maxWaitMs: 60_000 });
  const members = [batched.join(), batched.join()];
  const [good, bad] = await Promise.allSettled([
    batched.run(feeds([1], [0])),
    batched.run(feeds([NaN], [0])),
  ]);
  assert.equal(good.status, "fulfilled");
  assert.equal(bad.status, "rejected");
  assert.equal(calls.length, 3, "one merged call, then each run alone");
  members.forEach((m) => m.leave());
});

Deno.test("createBatcher() does not merge runs whose dims past the batch axis differ", async () => {
  const { session, calls } = fakeSession();
  const batched = createBatcher(session, { maxWaitMs: 60_000 });
  const members = [batched.join(), batched.join()];
  const wide: Record<string, TensorValue> = {
    x: { data: Float32Array.of(5, 5, 5, 5), dims: [1, 4] },
    g: { data: Float32Array.of(0), dims: [1, 1] },
  };
  await Promise.all(
    [batched.run(feeds([1], [0])), batched.run(wide)].map((p, i) => p.finally(() => members[i].leave())),
  );
  assert.equal(calls.length, 2);
});

Deno.test("createBatcher() sends the runs that arrived during a call at its end, and expects the whole burst next time", async () => {
  const { session, calls } = fakeSession();
  const run = session.run;
  let hold: Promise<void> | undefined;
  session.run = async (f) => {
    await hold;
    return await run(f);
  };
  const batched = createBatcher(session, { maxWaitMs: 60_000 });
  // One job at a time joins and runs, as the clients' next jobs arrive.
  const job = (r: number) => {
    const member = batched.join();
    return batched.run(feeds([r], [0])).finally(() => member.leave());
  };
  await Promise.all([job(1), job(2)]);
  assert.deepEqual(calls, [[1], [2]], "each lone job ran at once");
  // A burst of four: the first two go as a call of two (as many as the last round), the other two arrive
  // while it runs and go right after it, without waiting for more.
  const held = Promise.withResolvers<void>();
  hold = held.promise;
  const a = job(3), b = job(4);
  await Promise.resolve();
  const c = job(5), d = job(6);
  hold = undefined;
  held.resolve();
  await Promise.all([a, b, c, d]);
  assert.deepEqual(calls.slice(2), [[3, 4], [5, 6]]);
  // That round brought four runs, so the next burst waits for four and goes as one call.
  const next = [job(7), job(8)];
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(calls.length, 4, "two of four runs wait for the rest of the burst");
  await Promise.all([...next, job(9), job(10)]);
  assert.deepEqual(calls.slice(4), [[7, 8, 9, 10]]);
});

Deno.test("createBatcher() merges no run with an input that does not lead with the batch axis", async () => {
  const { session, calls } = fakeSession();
  const batched = createBatcher(session, { maxWaitMs: 60_000 });
  const members = [batched.join(), batched.join(), batched.join()];
  // A rank-0 g, or a 3-row g beside a 2-row x, is not per row: such runs go alone, even two alike.
  const scalar = (x: number): Record<string, TensorValue> => ({
    x: { data: Float32Array.of(x, x), dims: [1, 2] },
    g: { data: Float32Array.of(0), dims: [] },
  });
  const odd: Record<string, TensorValue> = {
    x: { data: Float32Array.of(3, 3, 3, 3), dims: [2, 2] },
    g: { data: Float32Array.of(0, 0, 0), dims: [3, 1] },
  };
  const results = await Promise.all(
    [batched.run(scalar(1)), batched.run(scalar(2)), batched.run(odd)].map((p, i) =>
      p.finally(() => members[i].leave())
    ),
  );
  assert.deepEqual(calls, [[1], [2], [3, 3]]);
  assert.deepEqual(results.map((r) => r.y.data[0]), [10, 20, 30]);
});

Deno.test("createBatcher() waits for as many runs as the last call held, as the next jobs of busy clients come", async () => {
  const { session, calls } = fakeSession();
  const batched = createBatcher(session, { maxWaitMs: 60_000 });
  const first = [batched.join(), batched.join()];
  await Promise.all([1, 2].map((r, i) => batched.run(feeds([r], [0])).finally(() => first[i].leave())));
  const next = [batched.join()];
  const three = batched.run(feeds([3], [0]));
  await Promise.resolve();
  assert.deepEqual(calls, [[1, 2]], "the next job waits for a second one");
  next.push(batched.join());
  await Promise.all([three, batched.run(feeds([4], [0]))]);
  assert.deepEqual(calls, [[1, 2], [3, 4]]);
  next.forEach((m) => m.leave());
});
