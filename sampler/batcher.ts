/**
 * Batching of concurrent jobs: the runs that jobs make on one session at about the same time are merged
 * into one call along the batch axis, and each job gets its own rows of the outputs back.
 *
 * A job joins the session before its first run and leaves after its last. Runs wait until every joined
 * job has one pending (jobs step in lockstep) and as many runs are pending as the last round brought (the
 * next jobs of a busy server's clients arrive right after the last ones left), until `maxBatch` rows are
 * pending, or at most `maxWaitMs` after the first of them arrived; and never while a call is running: what
 * arrives meanwhile goes in the next call. A round is a call and the runs that arrived while it ran; those
 * runs go as soon as the call ends (once every joined job has a run pending), and a call of only such runs
 * finishes its round rather than starting one, so a burst split over two calls is expected whole next time. A lone job on an idle session therefore never waits. Every input must lead with the batch axis (a 1-row input is
 * repeated over its run's rows, as the guidance inputs are); runs whose other dims or types differ are
 * not merged. Each run keeps everything that is per row: its own sample, time, text states and guidance
 * scalars go in, its own rows come out, so jobs at different steps, with different step counts,
 * prompts, seeds, guidance or CFG share calls. A run whose signal aborts while it waits leaves the batch;
 * when a merged call fails, its runs are retried one by one, so only the run at fault fails.
 *
 * @module
 */
import type { Session, TensorData, TensorValue } from "./backend.ts";

/** Options of {@linkcode createBatcher}. */
export interface BatchingOptions {
  /** Most rows per call (default {@linkcode BATCHING_DEFAULTS}); 1 turns merging off. */
  maxBatch?: number;
  /** Longest wait (ms) for the other jobs' runs once one run is pending. */
  maxWaitMs?: number;
}

/**
 * Defaults: 8 rows (per-sample time stops falling beyond that on the digits model), and 10 ms, which a
 * lone job never waits and which costs a straggler less than the separate call it saves.
 */
export const BATCHING_DEFAULTS = { maxBatch: 8, maxWaitMs: 10 } as const;

/** A job's membership of a batched session. */
export interface BatchMember extends Disposable {
  /** Ends the membership: batches stop waiting for this job. */
  leave(): void;
}

/** A session whose concurrent runs share calls. */
export interface BatchedSession extends Session {
  /** Joins a job: batches wait (up to `maxWaitMs`) for its runs until it leaves. */
  join(): BatchMember;
  /** Runs one job's feeds, merged with other jobs' runs; a run waiting for a batch leaves it on abort. */
  run(
    feeds: Record<string, TensorValue>,
    options?: { signal?: AbortSignal },
  ): Promise<Record<string, TensorValue>>;
  /** Calls made and rows run so far (for metrics and tests). */
  readonly stats: { calls: number; rows: number; merged: number };
}

interface Pending {
  feeds: Record<string, TensorValue>;
  rows: number;
  /** When it arrived (performance.now()). */
  at: number;
  /** It arrived while a call was running. */
  late: boolean;
  /** What runs must share to merge; none for a run that merges with no other. */
  signature?: string;
  resolve(outputs: Record<string, TensorValue>): void;
  reject(error: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

type TypedArrayOf<T extends TensorData> = { new (length: number): T };

function rowsOf(feeds: Record<string, TensorValue>): number {
  return Math.max(1, ...Object.values(feeds).map((v) => v.dims[0] ?? 1));
}

/**
 * Runs merge only when every input has the same element type and dims past the batch axis; a run with an
 * input that does not lead with the batch axis (rank 0, or a leading dim neither 1 nor the run's rows)
 * merges with none.
 */
function signatureOf(feeds: Record<string, TensorValue>, rows: number): string | undefined {
  const names = Object.keys(feeds).sort();
  const unbatchable = names.some((name) => {
    const { dims } = feeds[name];
    return dims.length === 0 || (dims[0] !== 1 && dims[0] !== rows);
  });
  if (unbatchable) return undefined;
  return names.map((name) => {
    const { data, dims } = feeds[name];
    return `${name}:${data.constructor.name}:${dims.slice(1).join("x")}`;
  }).join(";");
}

/** Concatenates the runs' values of one input along the batch axis, repeating 1-row values. */
function concatInput(name: string, group: readonly Pending[], total: number): TensorValue {
  const first = group[0].feeds[name];
  const rowSize = first.data.length / Math.max(1, first.dims[0]);
  const data = new (first.data.constructor as TypedArrayOf<TensorData>)(rowSize * total);
  let row = 0;
  for (const p of group) {
    const value = p.feeds[name];
    if (value.dims[0] === p.rows) {
      (data as Float32Array).set(value.data as Float32Array, row * rowSize);
    } else {
      for (let r = 0; r < p.rows; r++) {
        (data as Float32Array).set(value.data as Float32Array, (row + r) * rowSize);
      }
    }
    row += p.rows;
  }
  return { data, dims: [total, ...first.dims.slice(1)] };
}

/** Each run's rows of the merged outputs; throws when an output does not lead with the batch axis. */
function splitOutputs(
  outputs: Record<string, TensorValue>,
  group: readonly Pending[],
  total: number,
): Record<string, TensorValue>[] {
  const parts = group.map(() => ({} as Record<string, TensorValue>));
  for (const [name, value] of Object.entries(outputs)) {
    if (value.dims[0] !== total) {
      throw new Error(
        `Cannot split the batched output '${name}' as its first dim is not the batch of ${total}: current dims are [${value.dims}]`,
      );
    }
    const rowSize = value.data.length / total;
    let row = 0;
    group.forEach((p, i) => {
      parts[i][name] = {
        data: value.data.slice(row * rowSize, (row + p.rows) * rowSize) as TensorData,
        dims: [p.rows, ...value.dims.slice(1)],
      };
      row += p.rows;
    });
  }
  return parts;
}

/**
 * Wraps a session so that concurrent jobs' runs share calls (see the module comment).
 *
 * @example
 * ```ts
 * const denoiser = createBatcher(session, { maxBatch: 8, maxWaitMs: 2 });
 * using _member = denoiser.join();
 * const out = await denoiser.run(feeds, { signal });
 * ```
 */
export function createBatcher(session: Session, options: BatchingOptions = {}): BatchedSession {
  const maxBatch = options.maxBatch ?? BATCHING_DEFAULTS.maxBatch;
  const maxWaitMs = options.maxWaitMs ?? BATCHING_DEFAULTS.maxWaitMs;
  if (!(Number.isInteger(maxBatch) && maxBatch >= 1)) {
    throw new Error(
      `Cannot batch as 'maxBatch' must be an integer of at least 1: current value is ${maxBatch}`,
    );
  }
  if (!(maxWaitMs >= 0)) {
    throw new Error(`Cannot batch as 'maxWaitMs' must be 0 or more: current value is ${maxWaitMs}`);
  }
  const pending: Pending[] = [];
  const stats = { calls: 0, rows: 0, merged: 0 };
  let members = 0;
  /** Runs of the last round: a busy session expects as many again. */
  let lastRuns = 0;
  /** Runs that arrived while the current call runs. */
  let arrivedDuring = 0;
  let running = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const settle = (p: Pending, outcome: () => void) => {
    if (p.onAbort) p.signal?.removeEventListener("abort", p.onAbort);
    outcome();
  };

  const runAlone = async (p: Pending) => {
    stats.calls++, stats.rows += p.rows;
    try {
      const out = await session.run(p.feeds);
      settle(p, () => p.resolve(out));
    } catch (e) {
      settle(p, () => p.reject(e));
    }
  };

  const runGroup = async (group: Pending[]) => {
    if (group.length === 1) return await runAlone(group[0]);
    const total = group.reduce((n, p) => n + p.rows, 0);
    let parts: Record<string, TensorValue>[];
    try {
      const feeds = Object.fromEntries(
        Object.keys(group[0].feeds).map((n) => [n, concatInput(n, group, total)]),
      );
      stats.calls++, stats.rows += total, stats.merged++;
      parts = splitOutputs(await session.run(feeds), group, total);
    } catch {
      // One run's inputs may be at fault: retry each alone, so only that run fails.
      for (const p of group) await runAlone(p);
      return;
    }
    group.forEach((p, i) => settle(p, () => p.resolve(parts[i])));
  };

  const take = (): Pending[] => {
    const signature = pending[0].signature;
    if (signature === undefined) return pending.splice(0, 1);
    const group: Pending[] = [];
    let rows = 0;
    for (let i = 0; i < pending.length;) {
      const p = pending[i];
      if (p.signature === signature && (group.length === 0 || rows + p.rows <= maxBatch)) {
        group.push(p), rows += p.rows, pending.splice(i, 1);
      } else i++;
    }
    return group;
  };

  const schedule = () => {
    if (running || pending.length === 0) return;
    const rows = pending.reduce((n, p) => n + p.rows, 0);
    // Runs are pending in the order they arrived: the first waited longest.
    const waited = performance.now() - pending[0].at;
    // Runs that all arrived during the last call are the rest of its round: they wait for no more.
    const expected = pending.every((p) => p.late) ? 0 : lastRuns;
    if (rows < maxBatch && pending.length < Math.max(1, members, expected) && waited < maxWaitMs) {
      timer ??= setTimeout(() => {
        timer = undefined;
        schedule();
      }, maxWaitMs - waited);
      return;
    }
    if (timer !== undefined) clearTimeout(timer), timer = undefined;
    running = true;
    const group = take();
    const tail = group.every((p) => p.late);
    arrivedDuring = 0;
    runGroup(group).finally(() => {
      running = false;
      lastRuns = tail ? Math.max(lastRuns, group.length) : group.length + arrivedDuring;
      schedule();
    });
  };

  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    types: session.types,
    stats,
    join() {
      members++;
      let left = false;
      const leave = () => {
        if (left) return;
        left = true;
        members--;
        schedule();
      };
      return { leave, [Symbol.dispose]: leave };
    },
    run(feeds, { signal } = {}) {
      signal?.throwIfAborted();
      return new Promise((resolve, reject) => {
        const rows = rowsOf(feeds);
        const p: Pending = {
          feeds,
          rows,
          at: performance.now(),
          late: running,
          signature: signatureOf(feeds, rows),
          resolve,
          reject,
          signal,
        };
        if (signal) {
          p.onAbort = () => {
            const i = pending.indexOf(p);
            if (i < 0) return;
            pending.splice(i, 1);
            settle(p, () => reject(signal.reason));
            schedule();
          };
          signal.addEventListener("abort", p.onAbort, { once: true });
        }
        if (running) arrivedDuring++;
        pending.push(p);
        schedule();
      });
    },
    release() {
      if (timer !== undefined) clearTimeout(timer), timer = undefined;
      return session.release();
    },
  };
}
