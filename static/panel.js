/**
 * The canvas, progress bar and result of one slot: paints preview frames in order, then the final image,
 * and offers it for download.
 *
 * @module
 */

import { $, cloneTemplate, copyText, formatMs, nextPaint } from "./dom.js";
import { MIME } from "./protocol.js";
import { describeGuidance } from "./settings.js";

/**
 * One job in flight or finished.
 *
 * @typedef {object} Job
 * @property {string} id
 * @property {"a" | "b"} slot
 * @property {import("./settings.js").Settings} settings
 * @property {string} state waiting, sent, queued, running, cancelling, done, cancelled, error
 * @property {number} frames preview frames drawn
 * @property {number} [elapsedMs]
 * @property {Blob} [finalBlob]
 * @property {string} [finalUrl]
 * @property {Record<string, unknown>} [request] the request fields sent for it
 * @property {string} [runtime] where it ran, e.g. `the server (wasm)`
 * @property {import("./jobs.js").Runner} [runner] where it was sent, to cancel it there
 */

/** The canvas, progress and result of one slot. */
export class Panel {
  /**
   * @param {"a" | "b"} slot
   * @param {HTMLElement} container
   * @param {(text: string) => void} announce puts a line in the page's status line
   */
  constructor(slot, container, announce) {
    this.slot = slot;
    this.root = cloneTemplate("panel-template");
    this.root.dataset.slot = slot;
    container.append(this.root);
    this.canvas = $("canvas", this.root);
    this.img = $("img", this.root);
    this.overlay = $(".overlay", this.root);
    this.bar = $("progress", this.root);
    this.stepText = $(".step-text", this.root);
    this.elapsed = $(".elapsed", this.root);
    this.error = $(".panel-error", this.root);
    this.download = $(".download", this.root);
    this.original = $(".download-original", this.root);
    this.copySeed = $(".copy-seed", this.root);
    this.label = $(".panel-label", this.root);
    this.meta = $(".panel-meta", this.root);
    this.ctx = this.canvas.getContext("2d");
    /** @type {Job | null} */
    this.job = null;
    /** @type {{ frame: import("./protocol.js").Frame, job: Job | null } | null} */
    this._nextPreview = null;
    /** @type {Job | null} */
    this._finalPending = null;
    /** @type {{ job: Job | null, event: { steps: number, elapsedMs: number } } | null} */
    this._donePending = null;
    this._finalShown = false;
    this._pumping = false;
    this.name = "Preview";
    this.canvas.setAttribute("aria-label", `${this.name}: nothing generated yet`);
    this.download.addEventListener("click", (/** @type {MouseEvent} */ e) => {
      e.preventDefault();
      if (this._finalShown) this._saveDisplayed().catch((error) => announce(error.message));
    });
    new ResizeObserver(() => this._labelDownload()).observe(this.img);
    this.copySeed.addEventListener("click", () => {
      const seed = this.job?.settings.seed;
      if (seed === undefined) return;
      copyText(String(seed)).then(
        () => announce(`Seed ${seed} copied`),
        (error) => announce(error.message),
      );
    });
    this.clear();
  }

  /** @param {string} name e.g. "A" */
  setName(name) {
    this.name = name;
    this.label.textContent = this.job ? `${name} · ${describeGuidance(this.job.settings)}` : name;
  }

  /**
   * Sizes the canvas to the model's images; CSS scales it up without smoothing.
   *
   * @param {number} width
   * @param {number} height
   */
  resize(width, height) {
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    this.root.style.setProperty("--aspect", `${width} / ${height}`);
    this.clear();
  }

  clear() {
    this.ctx.imageSmoothingEnabled = false;
    this.ctx.fillStyle = "#000";
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }

  /**
   * Shows a new job: clears the canvas and result and waits for its first event.
   *
   * @param {Job} job
   */
  attach(job) {
    if (this.job?.finalUrl && this.job.state !== "done") URL.revokeObjectURL(this.job.finalUrl);
    this.job = job;
    this._nextPreview = null;
    this._finalPending = null;
    this._donePending = null;
    this._finalShown = false;
    this.root.dataset.job = job.id;
    delete this.root.dataset.framesAtFinal;
    this.canvas.dataset.frames = "0";
    this.canvas.hidden = false;
    this.img.hidden = true;
    this.img.removeAttribute("src");
    this.clear();
    this.bar.max = job.settings.steps ?? 1;
    this.bar.value = 0;
    this.stepText.textContent = `step 0 / ${job.settings.steps ?? "?"}`;
    this.elapsed.textContent = "";
    this.error.textContent = "";
    for (const link of [this.download, this.original]) {
      link.removeAttribute("href");
      link.setAttribute("aria-disabled", "true");
    }
    this.download.textContent = "Download";
    this.copySeed.disabled = true;
    this.setName(this.name);
    this.meta.textContent = job.settings.seed !== undefined ? `seed ${job.settings.seed}` : "";
    this.canvas.setAttribute("aria-label", `${this.name}: live preview, waiting`);
    const overlay = { waiting: "Waiting for the connection…", sent: "Sending…" }[job.state] ?? "";
    this.setState(job.state === "done" ? "idle" : job.state, overlay);
  }

  /**
   * @param {string} state
   * @param {string} [overlay] text over the canvas, none when empty
   */
  setState(state, overlay = "") {
    this.root.dataset.state = state;
    this.overlay.textContent = overlay;
    this.overlay.hidden = !overlay;
  }

  /** @param {number} position */
  queued(position) {
    this.setState("queued", `Queued · position ${position}`);
  }

  /** @param {{ seed: number, steps: number }} event */
  started(event) {
    this.bar.max = event.steps;
    this.stepText.textContent = `step 0 / ${event.steps}`;
    this.meta.textContent = `seed ${event.seed}`;
    if (this.root.dataset.state !== "cancelling") this.setState("running");
  }

  /** @param {{ step: number, steps: number, elapsedMs: number }} event */
  progress(event) {
    this.bar.max = event.steps;
    this.bar.value = event.step;
    this.stepText.textContent = `step ${event.step} / ${event.steps}`;
    this.elapsed.textContent = formatMs(event.elapsedMs);
    if (this.root.dataset.state !== "cancelling") this.setState("running");
  }

  /**
   * Queues a preview for painting. Frames are painted in order and each stays on screen for at least one
   * paint, but only the newest waiting frame is decoded: a burst of frames shows its latest, not a backlog.
   *
   * @param {import("./protocol.js").Frame} frame
   */
  preview(frame) {
    if (this._finalShown) return;
    this._nextPreview = { frame, job: this.job };
    this._pump();
  }

  /** Queues the job's final image; it shows after the previews before it have been painted. */
  final() {
    this._finalPending = this.job;
    this._pump();
  }

  /**
   * Marks the job done once its final image (if any) is on screen, so `data-state="done"` means the
   * result is visible.
   *
   * @param {{ steps: number, elapsedMs: number }} event
   */
  done(event) {
    this._donePending = { job: this.job, event };
    this._pump();
  }

  async _pump() {
    if (this._pumping) return;
    this._pumping = true;
    try {
      for (;;) {
        if (this._nextPreview) {
          const { frame, job } = this._nextPreview;
          this._nextPreview = null;
          if (job === this.job && !this._finalShown && (await this._paint(frame, job))) await nextPaint();
        } else if (this._finalPending) {
          const job = this._finalPending;
          this._finalPending = null;
          if (job === this.job) await this._showFinal(job);
        } else if (this._donePending) {
          const { job, event } = this._donePending;
          this._donePending = null;
          if (job === this.job) this._showDone(event);
        } else {
          break;
        }
      }
    } finally {
      this._pumping = false;
    }
  }

  /**
   * @param {import("./protocol.js").Frame} frame
   * @param {Job} job
   * @returns {Promise<boolean>} whether it was painted
   */
  async _paint(frame, job) {
    let bitmap;
    try {
      // Frames from this device carry RGBA pixels; the server's carry encoded images.
      const { rgba } = /** @type {any} */ (frame);
      bitmap = await createImageBitmap(
        rgba
          ? new ImageData(new Uint8ClampedArray(rgba.data), rgba.width, rgba.height)
          : new Blob([frame.image], { type: MIME[frame.format] }),
      );
    } catch (error) {
      console.warn("Cannot decode a preview frame:", error);
      return false;
    }
    if (this.job !== job || this._finalShown) {
      bitmap.close();
      return false;
    }
    this.ctx.imageSmoothingEnabled = false;
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.ctx.drawImage(bitmap, 0, 0, this.canvas.width, this.canvas.height);
    bitmap.close();
    job.frames += 1;
    this.canvas.dataset.frames = String(job.frames);
    this.canvas.dataset.step = String(frame.step);
    this.canvas.setAttribute(
      "aria-label",
      `${this.name}: live preview at step ${frame.step} of ${frame.steps}`,
    );
    return true;
  }

  /** @param {Job} job */
  async _showFinal(job) {
    if (!job.finalUrl) return;
    const { seed, prompt } = job.settings;
    this.img.src = job.finalUrl;
    try {
      await this.img.decode();
    } catch {
      // Shown broken; the download still has the bytes.
    }
    if (this.job !== job) return;
    this._finalShown = true;
    this.root.dataset.framesAtFinal = String(job.frames);
    this.img.alt = `${this.name}: ${prompt} (seed ${seed}, ${describeGuidance(job.settings)})`;
    this.img.hidden = false;
    this.canvas.hidden = true;
    const ext = job.finalBlob?.type === MIME.jpeg ? "jpg" : "png";
    this.original.href = job.finalUrl;
    this.original.download = `${this._fileStem(job)}.${ext}`;
    this.original.textContent = `${this.canvas.width}×${this.canvas.height}`;
    this.original.setAttribute("aria-label", `Download at the model's size, ${this.original.textContent}`);
    this.download.href = job.finalUrl;
    this.download.removeAttribute("aria-disabled");
    this.original.removeAttribute("aria-disabled");
    this._labelDownload();
    this.copySeed.disabled = seed === undefined;
  }

  /** @param {Job} job @returns {string} a file name without extension */
  _fileStem(job) {
    return `${job.settings.model ?? "image"}-${job.settings.seed}-${job.settings.guidance?.mode ?? "none"}`;
  }

  /** How many times the model's size the final image is shown (at least 1, whole, so pixels stay square). */
  _displayScale() {
    const shown = this.img.getBoundingClientRect().width || this.canvas.getBoundingClientRect().width;
    return Math.max(1, Math.round(shown / this.canvas.width));
  }

  /** Names the size the Download button saves: the size the image is shown at. */
  _labelDownload() {
    if (!this._finalShown) return;
    const k = this._displayScale();
    this.download.textContent = `Download ${this.canvas.width * k}×${this.canvas.height * k}`;
  }

  /** Saves the final image at the size it is shown, scaled up without smoothing. */
  async _saveDisplayed() {
    const job = this.job;
    if (!job?.finalUrl) return;
    const k = this._displayScale();
    const canvas = document.createElement("canvas");
    canvas.width = this.canvas.width * k;
    canvas.height = this.canvas.height * k;
    const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.img, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    if (!blob) throw new Error(`Cannot save the image as the browser could not encode ${canvas.width} px`);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `${this._fileStem(job)}-${canvas.width}px.png`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  }

  /** @param {{ steps: number, elapsedMs: number }} event */
  _showDone(event) {
    this.bar.max = event.steps;
    this.bar.value = event.steps;
    this.stepText.textContent = `step ${event.steps} / ${event.steps}`;
    this.elapsed.textContent = formatMs(event.elapsedMs);
    this.setState("done");
  }

  cancelled() {
    this.setState("cancelled", "Cancelled");
    this.canvas.setAttribute("aria-label", `${this.name}: cancelled`);
  }

  /** @param {string} message */
  failed(message) {
    this.setState("error", "Failed");
    this.error.textContent = message;
  }
}
