/**
 * The jobs in flight and finished: turns the runner's events and frames into panel updates, status lines
 * and errors.
 *
 * @module
 */

import { formatMs } from "./dom.js";
import { fieldMessage, styleError } from "./messages.js";
import { MIME } from "./protocol.js";

/** Job states in which a runner may still send something. */
const ACTIVE = new Set(["waiting", "sent", "queued", "running", "cancelling"]);

/**
 * Where a job is sent and cancelled: the server's socket, or this device.
 *
 * @typedef {object} Runner
 * @property {(job: import("./panel.js").Job, request: Record<string, unknown>) => void} start
 * @property {(job: import("./panel.js").Job) => boolean} cancel returns false when the job never left the
 *   page (it is then cancelled at once)
 */

/** Every job of the page, by request id. */
export class JobBoard {
  /**
   * @param {{
   *   pair: import("./ab_pair.js").AbPair,
   *   errors: import("./field_errors.js").FieldErrors,
   *   announce: (text: string) => void,
   *   onFinished: (job: import("./panel.js").Job, event: any) => void,
   *   onChange: () => void,
   * }} options `onFinished` runs when a job's `done` event arrives; `onChange` whenever a job changes state
   */
  constructor({ pair, errors, announce, onFinished, onChange }) {
    this.pair = pair;
    this.errors = errors;
    this.announce = announce;
    this.onFinished = onFinished;
    this.onChange = onChange;
    /** @type {Map<string, import("./panel.js").Job>} */
    this.jobs = new Map();
  }

  /** @returns {import("./panel.js").Job[]} the jobs a runner may still send something for */
  active() {
    return [...this.jobs.values()].filter((job) => ACTIVE.has(job.state));
  }

  /**
   * Adds a job and shows it in its slot's panel.
   *
   * @param {import("./panel.js").Job} job
   */
  add(job) {
    this.jobs.set(job.id, job);
    this.pair.panels[job.slot].attach(job);
  }

  /**
   * The panel that shows a job, if it still does.
   *
   * @param {string} id
   */
  panelFor(id) {
    const job = this.jobs.get(id);
    if (!job) return null;
    const panel = this.pair.panels[job.slot];
    return panel.job === job ? panel : null;
  }

  /** Cancels every active job through the runner it went to. */
  cancelAll() {
    const active = this.active();
    for (const job of active) {
      if (!job.runner?.cancel(job)) {
        this.finishCancelled(job);
        continue;
      }
      job.state = "cancelling";
      this.pair.panels[job.slot].setState("cancelling", "Cancelling…");
    }
    if (active.length) this.announce("Cancelling…");
    this.onChange();
  }

  /** @param {import("./panel.js").Job} job */
  finishCancelled(job) {
    job.state = "cancelled";
    if (this.pair.panels[job.slot].job === job) this.pair.panels[job.slot].cancelled();
    this.announce("Cancelled.");
    this.onChange();
  }

  /**
   * Marks active jobs failed, e.g. when the socket they ran over closed.
   *
   * @param {string} message
   */
  failActive(message) {
    for (const job of this.jobs.values()) {
      if (job.state === "waiting" || !ACTIVE.has(job.state)) continue;
      job.state = "error";
      this.panelFor(job.id)?.failed(message);
    }
    this.onChange();
  }

  /**
   * Applies one JSON event (`queued`, `started`, `progress`, `done`, `cancelled`, `error`, and this device's
   * `preparing`).
   *
   * @param {any} event
   */
  onEvent(event) {
    const job = event.id ? this.jobs.get(event.id) : undefined;
    const panel = event.id ? this.panelFor(event.id) : null;
    switch (event.type) {
      case "queued":
        if (!job) return;
        if (job.state !== "cancelling") job.state = "queued";
        panel?.queued(event.position);
        if (panel && job.state === "queued") this.announce(`Queued, position ${event.position}.`);
        break;
      case "preparing":
        // This device downloads the runtime and model, or runs an earlier job, before it starts this one.
        if (!job || job.state === "cancelling") return;
        job.state = "queued";
        panel?.setState("queued", "Preparing this device…");
        break;
      case "started":
        if (!job) return;
        if (job.state !== "cancelling") job.state = "running";
        if (event.seed !== undefined) job.settings.seed = event.seed;
        if (event.steps !== undefined) job.settings.steps = event.steps;
        panel?.started(event);
        break;
      case "progress":
        panel?.progress(event);
        break;
      case "done":
        if (!job) return;
        job.state = "done";
        job.elapsedMs = event.elapsedMs;
        if (event.seed !== undefined) job.settings.seed = event.seed;
        panel?.done(event);
        if (panel) {
          this.announce(
            `Done${this.pair.on ? ` (${job.slot.toUpperCase()})` : ""} in ${
              formatMs(event.elapsedMs)
            }, seed ${job.settings.seed}${job.runtime ? `, on ${job.runtime}` : ""}.`,
          );
        }
        this.onFinished(job, event);
        break;
      case "cancelled":
        if (job) this.finishCancelled(job);
        break;
      case "error": {
        if (job && !ACTIVE.has(job.state)) {
          // E.g. a cancel that crossed the job's `done`: the job is over and its result stands.
          console.info(`Ignoring an error for finished job ${job.id}:`, event.message);
          break;
        }
        if (job) job.state = "error";
        const placed = this.showError(event, job, panel);
        this.announce(placed ? "Not generated: see the highlighted field." : "Not generated.");
        break;
      }
    }
    this.onChange();
  }

  /**
   * Applies one image frame: a preview is painted, a final kept as the job's result.
   *
   * @param {import("./protocol.js").Frame} frame
   */
  onFrame(frame) {
    const job = this.jobs.get(frame.id);
    if (!job) return;
    const panel = this.panelFor(frame.id);
    if (frame.kind === "preview") {
      panel?.preview(frame);
      return;
    }
    // Copy the bytes out of the socket's buffer so the blob does not keep the whole message alive.
    job.finalBlob = new Blob([frame.image.slice()], { type: MIME[frame.format] });
    job.finalUrl = URL.createObjectURL(job.finalBlob);
    panel?.final();
  }

  /**
   * Shows an `error` event once, in the project's wording: next to the field it names (each of its issues
   * next to its own field), else in the job's panel, else under the prompt.
   *
   * @param {any} event
   * @param {import("./panel.js").Job} [job]
   * @param {import("./panel.js").Panel | null} [panel] the panel showing the job, if it still does
   * @returns {boolean} whether it was shown next to a field
   */
  showError(event, job, panel) {
    const slot = job?.slot ?? "a";
    const styled = styleError(event);
    const elsewhere = (/** @type {string} */ message) => {
      if (panel) panel.failed(message);
      else this.errors.show(message, undefined);
    };
    if (event.code === "unauthorized") {
      elsewhere(`${styled.message}. Open the page with ?token=… in its address`);
      return false;
    }
    const issues = styled.issues.length > 1
      ? styled.issues
      : [{ field: styled.field, message: styled.message }];
    const unplaced = issues.filter((i) =>
      !i.field || !this.errors.show(fieldMessage(i.message, i.field), i.field, slot, { fallback: false })
    );
    panel?.failed("");
    if (unplaced.length) elsewhere(unplaced.map((i) => i.message).join("; "));
    return unplaced.length < issues.length;
  }
}
