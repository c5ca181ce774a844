/**
 * A bounded job queue: at most `concurrency` jobs run, at most `capacity` wait; the rest are refused.
 *
 * @module
 */

/** Thrown when the queue is full. */
export class BusyError extends Error {
  override name = "BusyError";
  constructor(readonly retryAfterSeconds: number) {
    super(`Cannot accept the job as the server is busy: retry in about ${retryAfterSeconds} s`);
  }
}

/** Options of one job. */
export interface JobOptions {
  /** Cancels the job, waiting or running. */
  signal?: AbortSignal;
  /** Called with the 1-based queue position whenever it changes (0 = started). */
  onPosition?: (position: number) => void;
}

interface Waiting {
  start: () => void;
  onPosition?: (position: number) => void;
}

/** Queue counters for metrics. */
export interface QueueStats {
  running: number;
  waiting: number;
  outcomes: Record<"done" | "cancelled" | "error" | "rejected", number>;
  /** Recent job durations in ms (for the latency histogram). */
  durations: number[];
}

/** A bounded FIFO job queue. */
export class JobQueue {
  #running = 0;
  #waiting: Waiting[] = [];
  #avgMs = 1000;
  #controllers = new Set<AbortController>();
  #lastActive = performance.now();
  readonly stats: QueueStats = {
    running: 0,
    waiting: 0,
    outcomes: { done: 0, cancelled: 0, error: 0, rejected: 0 },
    durations: [],
  };
  /** Called with each finished job's duration (ms) and outcome. */
  onFinish?: (ms: number, outcome: "done" | "cancelled" | "error") => void;

  constructor(readonly concurrency: number, readonly capacity: number) {}

  /** Jobs running now. */
  get running(): number {
    return this.#running;
  }
  /** Jobs waiting now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Milliseconds since the queue last had a job (0 while it has one). */
  idleMs(): number {
    return this.#running || this.#waiting.length ? 0 : performance.now() - this.#lastActive;
  }

  /** Whether a job submitted now would be refused. */
  get full(): boolean {
    return this.#running >= this.concurrency && this.#waiting.length >= this.capacity;
  }

  /** Seconds a refused client should wait, from the recent average job time. */
  retryAfter(): number {
    return Math.max(1, Math.ceil(((this.#waiting.length + 1) * this.#avgMs) / this.concurrency / 1000));
  }

  /**
   * Runs `job` when a slot is free. Rejects with `BusyError` at once when the queue is full, and with
   * the signal's reason when cancelled while waiting.
   */
  run<T>(job: (signal: AbortSignal) => Promise<T>, { signal, onPosition }: JobOptions = {}): Promise<T> {
    if (this.full) {
      this.stats.outcomes.rejected++;
      return Promise.reject(new BusyError(this.retryAfter()));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const controller = new AbortController();
      this.#controllers.add(controller);
      const forward = () => controller.abort(signal?.reason);
      signal?.addEventListener("abort", forward, { once: true });
      const entry: Waiting = {
        onPosition,
        start: () => {
          this.#running++;
          this.#sync();
          onPosition?.(0);
          const t0 = performance.now();
          // The slot is freed before the caller hears the outcome, so it may submit again at once.
          const finish = (outcome: "done" | "cancelled" | "error", settle: () => void) => {
            this.#controllers.delete(controller);
            signal?.removeEventListener("abort", forward);
            const ms = performance.now() - t0;
            if (outcome === "done") this.#avgMs = 0.8 * this.#avgMs + 0.2 * ms;
            this.stats.outcomes[outcome]++;
            this.stats.durations.push(ms);
            if (this.stats.durations.length > 1000) this.stats.durations.shift();
            this.#running--;
            try {
              this.#next();
              this.onFinish?.(ms, outcome);
            } finally {
              settle();
            }
          };
          // A job that throws synchronously still settles the promise and frees its slot.
          new Promise<T>((ok) => ok(job(controller.signal))).then(
            (value) => finish("done", () => resolve(value)),
            (e) => finish(controller.signal.aborted ? "cancelled" : "error", () => reject(e)),
          );
        },
      };
      // One listener handles every way a waiting job is cancelled (its signal, cancelAll), once; a
      // running job sees the aborted signal itself.
      controller.signal.addEventListener("abort", () => {
        const i = this.#waiting.indexOf(entry);
        if (i === -1) return;
        this.#waiting.splice(i, 1);
        this.#controllers.delete(controller);
        signal?.removeEventListener("abort", forward);
        this.#sync();
        this.#announce();
        this.stats.outcomes.cancelled++;
        reject(controller.signal.reason);
      }, { once: true });
      this.#waiting.push(entry);
      this.#sync();
      onPosition?.(this.#waiting.length);
      this.#next();
    });
  }

  /** Cancels every waiting and running job (on shutdown). */
  cancelAll(reason = "server shutting down"): void {
    for (const c of [...this.#controllers]) c.abort(new DOMException(reason, "AbortError"));
  }

  #sync() {
    this.#lastActive = performance.now();
    this.stats.running = this.#running;
    this.stats.waiting = this.#waiting.length;
  }

  #announce() {
    this.#waiting.forEach((w, i) => w.onPosition?.(i + 1));
  }

  #next() {
    let started = false;
    while (this.#running < this.concurrency && this.#waiting.length) {
      this.#waiting.shift()!.start();
      started = true;
    }
    this.#sync();
    if (started) this.#announce();
  }
}
