/**
 * The live-preview page: builds the form from `GET /api/models`, sends `generate` messages over `/ws`,
 * paints preview frames as they arrive and keeps a history of results.
 *
 * @module
 */

import { Connection, socketUrl } from "./connection.js";
import { History } from "./history.js";
import { MIME } from "./protocol.js";
import {
  APG_PARAMS,
  buildRequest,
  CFG_MODE_LABELS,
  cfgParam,
  describeGuidance,
  describeSettings,
  GUIDANCE_LABELS,
  guidanceParams,
  makeJobId,
  parseNumber,
  pickModel,
  randomSeed,
  roundToStep,
} from "./settings.js";

const SETTINGS_KEY = "digits.settings.v1";
const SLOTS = /** @type {const} */ (["a", "b"]);
/** Job states in which the server may still send something. */
const ACTIVE = new Set(["waiting", "sent", "queued", "running", "cancelling"]);

/**
 * @param {string} selector
 * @param {ParentNode} [root]
 * @returns {any}
 */
const $ = (selector, root = document) => root.querySelector(selector);

/**
 * @param {string} id
 * @returns {any}
 */
function cloneTemplate(id) {
  return /** @type {HTMLTemplateElement} */ ($(`#${id}`)).content.firstElementChild.cloneNode(true);
}

/** @param {number} ms */
function formatMs(ms) {
  if (ms === undefined || ms === null) return "";
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Resolves after the browser has painted what was drawn so far (or after 100 ms in a hidden tab, where
 * animation frames stop).
 *
 * @returns {Promise<void>}
 */
function nextPaint() {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 100);
    requestAnimationFrame(() => {
      clearTimeout(timer);
      setTimeout(resolve, 0);
    });
  });
}

/** @param {Blob} blob @returns {Promise<string>} */
function blobToDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(/** @type {string} */ (reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/** @param {string} text @returns {Promise<void>} */
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // No clipboard API outside secure contexts (a phone on the LAN): fall back to a selection.
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  if (!ok) throw new Error("Cannot copy as the browser refused clipboard access");
}

/** The token from the page URL, when the server needs one. */
const token = new URL(location.href).searchParams.get("token");

/** @param {string} path */
function apiFetch(path) {
  return fetch(new URL(path, location.href), {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    cache: "no-store",
  });
}

// ---------------------------------------------------------------------------------------------- slot

/** The guidance and CFG controls of one slot (A or B). */
class SlotControls {
  /**
   * @param {"a" | "b"} slot
   * @param {HTMLElement} container
   */
  constructor(slot, container) {
    this.slot = slot;
    this.root = cloneTemplate("slot-template");
    this.root.dataset.slot = slot;
    container.append(this.root);
    this.mode = "none";
    /** Values the user set, per mode, so switching modes and back keeps them. */
    /** @type {Record<string, Record<string, number | undefined>>} */
    this.values = {};
    /** @type {number | undefined} */
    this.cfg = undefined;
    /** How the CFG scale is applied: plain CFG or APG. */
    this.cfgMode = "cfg";
    /** APG values the user set (undefined: the default); `r` is sent only while `rOn`. */
    /** @type {Record<string, number | undefined>} */
    this.apg = {};
    this.rOn = false;
    this.model = null;
    /** @type {() => void} */
    this.onChange = () => {};
  }

  /** @param {string} text */
  setLegend(text) {
    $(".slot-legend", this.root).textContent = text;
  }

  /**
   * Rebuilds the controls for a model, keeping the user's values where the new ranges allow them.
   *
   * @param {any} model
   */
  render(model) {
    this.model = model;
    const modes = model.guidance?.modes ?? ["none"];
    if (!modes.includes(this.mode)) this.mode = "none";
    const group = $("[data-modes]", this.root);
    group.setAttribute("aria-labelledby", `${this.slot}-mode-label`);
    $("[data-mode-label]", this.root).id = `${this.slot}-mode-label`;
    group.replaceChildren(...modes.map((mode) => {
      const label = document.createElement("label");
      label.className = "seg";
      const input = document.createElement("input");
      input.type = "radio";
      input.name = `${this.slot}-mode`;
      input.value = mode;
      input.checked = mode === this.mode;
      input.addEventListener("change", () => {
        if (!input.checked) return;
        this.mode = mode;
        this._renderParams();
        this.onChange();
      });
      const span = document.createElement("span");
      span.textContent = GUIDANCE_LABELS[mode] ?? mode;
      label.append(input, span);
      return label;
    }));
    this._renderParams();
    this._renderCfg();
  }

  /** The CFG mode picker (CFG | APG), the CFG scale, and APG's sliders when APG is picked. */
  _renderCfg() {
    const cfg = cfgParam(this.model);
    if (this.cfg !== undefined && !(this.cfg >= cfg.min && this.cfg <= cfg.max)) this.cfg = undefined;
    const picker = cloneTemplate("cfg-mode-template");
    const labelId = `${this.slot}-cfg-mode-label`;
    $("[data-cfg-mode-label]", picker).id = labelId;
    const group = $("[data-cfg-modes]", picker);
    group.setAttribute("aria-labelledby", labelId);
    group.replaceChildren(
      ...Object.entries(CFG_MODE_LABELS).map(([mode, text]) => {
        const label = document.createElement("label");
        label.className = "seg";
        const input = document.createElement("input");
        input.type = "radio";
        input.name = `${this.slot}-cfg-mode`;
        input.value = mode;
        input.checked = mode === this.cfgMode;
        input.addEventListener("change", () => {
          if (!input.checked) return;
          this.cfgMode = mode;
          this._renderCfg();
          this.onChange();
        });
        const span = document.createElement("span");
        span.textContent = text;
        label.append(input, span);
        return label;
      }),
    );
    const nodes = [
      picker,
      this._param(cfg, "cfg", this.cfg, (v) => {
        this.cfg = v;
      }),
    ];
    if (this.cfgMode === "apg") {
      for (const spec of APG_PARAMS) {
        const field = `apg.${spec.name}`;
        const node = this._param(spec, field, this.apg[spec.name], (v) => {
          this.apg[spec.name] = v;
        });
        node.classList.add("apg");
        if (spec.optional) this._optional(node, spec);
        nodes.push(node);
      }
    }
    $("[data-cfg]", this.root).replaceChildren(...nodes);
  }

  /**
   * Gives an optional slider (APG's r) an on/off switch; off, its number box is empty and disabled
   * and nothing is sent.
   *
   * @param {HTMLElement} node from {@linkcode _param}
   * @param {import("./settings.js").ParamSpec} spec
   */
  _optional(node, spec) {
    const number = $(".param-number", node);
    const range = $(".param-range", node);
    const reset = $(".reset", node);
    const toggle = document.createElement("input");
    toggle.type = "checkbox";
    toggle.className = "param-toggle";
    toggle.checked = this.rOn;
    toggle.setAttribute("aria-label", `Use ${spec.label}`);
    const sync = () => {
      for (const input of [number, range, reset]) input.disabled = !this.rOn;
      number.placeholder = "off";
      if (!this.rOn) number.value = "";
      else if (number.value === "") number.value = String(this.apg[spec.name] ?? spec.value);
      $(".hint", node).textContent = this.rOn
        ? `range ${spec.min}–${spec.max} (any value above 0)`
        : "off: no limit on the guidance's norm";
    };
    toggle.addEventListener("change", () => {
      this.rOn = toggle.checked;
      sync();
      clearFieldError(node);
      this.onChange();
    });
    $(".param-head", node).prepend(toggle);
    sync();
  }

  _renderParams() {
    const specs = guidanceParams(this.model, this.mode);
    const saved = (this.values[this.mode] ??= {});
    $("[data-params]", this.root).replaceChildren(...specs.map((spec) => {
      if (saved[spec.name] !== undefined && !(saved[spec.name] >= spec.min && saved[spec.name] <= spec.max)) {
        saved[spec.name] = undefined;
      }
      return this._param(spec, `guidance.${spec.name}`, saved[spec.name], (v) => {
        saved[spec.name] = v;
      });
    }));
  }

  /**
   * One slider with a number box beside it; the number box holds the value that is sent, so a value
   * outside the slider's range can still be typed (and the server's message shown).
   *
   * @param {import("./settings.js").ParamSpec} spec
   * @param {string} field the request field, for error messages
   * @param {number | undefined} current
   * @param {(value: number | undefined) => void} store
   */
  _param(spec, field, current, store) {
    const node = cloneTemplate("param-template");
    const id = `${this.slot}-${field.replace(".", "-")}`;
    const label = $("label", node);
    const number = $(".param-number", node);
    const range = $(".param-range", node);
    const hint = $(".hint", node);
    const error = $(".field-error", node);
    const reset = $(".reset", node);
    node.dataset.field = field;
    label.textContent = spec.label;
    label.htmlFor = id;
    label.id = `${id}-label`;
    number.id = id;
    number.name = id;
    range.setAttribute("aria-labelledby", `${id}-label`);
    range.setAttribute("aria-describedby", `${id}-hint`);
    range.tabIndex = -1; // the number box and the slider are one control to the keyboard; arrows work on both
    hint.id = `${id}-hint`;
    error.id = `${id}-error`;
    error.dataset.errorFor = field;
    number.setAttribute("aria-describedby", `${id}-hint ${id}-error`);
    reset.setAttribute("aria-label", `Reset ${spec.label} to ${spec.value}`);
    for (const input of [number, range]) {
      input.min = String(spec.min);
      input.max = String(spec.max);
      input.step = String(spec.step);
    }
    hint.textContent = `default ${spec.value} · range ${spec.min}–${spec.max}`;
    const show = (/** @type {number} */ value) => {
      number.value = String(value);
      range.value = String(value);
      node.classList.toggle("changed", value !== spec.value);
    };
    show(current ?? spec.value);
    range.addEventListener("input", () => {
      const value = roundToStep(Number(range.value), spec.step);
      number.value = String(value);
      store(value === spec.value ? undefined : value);
      node.classList.toggle("changed", value !== spec.value);
      clearFieldError(node);
    });
    number.addEventListener("input", () => {
      const value = parseNumber(number.value);
      if (value !== undefined && Number.isFinite(value)) range.value = String(value);
      store(value === spec.value ? undefined : value);
      node.classList.toggle("changed", value !== spec.value);
      clearFieldError(node);
    });
    reset.addEventListener("click", () => {
      show(spec.value);
      store(undefined);
      clearFieldError(node);
    });
    return node;
  }

  /**
   * The guidance, CFG and APG this slot would send, with defaults filled in; `apg` only in APG mode.
   *
   * @returns {{ guidance: Record<string, any>, cfg: number | undefined, apg?: Record<string, any> }}
   */
  value() {
    /** @type {Record<string, any>} */
    const guidance = { mode: this.mode };
    for (const node of this.root.querySelectorAll("[data-params] .param")) {
      guidance[node.dataset.field.slice("guidance.".length)] = parseNumber($(".param-number", node).value);
    }
    const cfg = parseNumber($("[data-cfg] .param-number", this.root)?.value ?? "");
    if (this.cfgMode !== "apg") return { guidance, cfg };
    /** @type {Record<string, any>} */
    const apg = {};
    for (const node of this.root.querySelectorAll("[data-cfg] .param.apg")) {
      const number = $(".param-number", node);
      apg[node.dataset.field.slice("apg.".length)] = number.disabled ? undefined : parseNumber(number.value);
    }
    return { guidance, cfg, apg };
  }

  /**
   * Sets the controls from saved settings.
   *
   * @param {{ guidance?: Record<string, any>, cfg?: number, apg?: Record<string, any> }} settings
   */
  set({ guidance = { mode: "none" }, cfg, apg }) {
    const { mode = "none", ...params } = guidance;
    this.mode = mode;
    const defaults = this.model?.guidance?.defaults?.[mode] ?? {};
    this.values[mode] = Object.fromEntries(
      Object.entries(params).map(([k, v]) => [k, v === defaults[k] ? undefined : v]),
    );
    this.cfg = cfg === cfgParam(this.model).value ? undefined : cfg;
    this.cfgMode = apg ? "apg" : "cfg";
    this.rOn = apg?.r !== undefined;
    this.apg = Object.fromEntries(
      APG_PARAMS.map((spec) => [spec.name, apg?.[spec.name] === spec.value ? undefined : apg?.[spec.name]]),
    );
    if (this.model) this.render(this.model);
  }

  /** @param {string} mode */
  setMode(mode) {
    this.mode = mode;
    if (this.model) this.render(this.model);
  }

  /**
   * The element that shows errors for a request field in this slot, if it has one.
   *
   * @param {string} field
   * @returns {HTMLElement | null}
   */
  errorSlot(field) {
    return this.root.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
  }
}

// --------------------------------------------------------------------------------------------- panel

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
 */

/** The canvas, progress and result of one slot. */
class Panel {
  /**
   * @param {"a" | "b"} slot
   * @param {HTMLElement} container
   */
  constructor(slot, container) {
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
    this.download.removeAttribute("href");
    this.download.setAttribute("aria-disabled", "true");
    this.copySeed.disabled = true;
    this.setName(this.name);
    this.meta.textContent = job.settings.seed !== undefined ? `seed ${job.settings.seed}` : "";
    this.canvas.setAttribute("aria-label", `${this.name}: live preview, waiting`);
    this.setState(job.state, job.state === "waiting" ? "Waiting for the connection…" : "Sending…");
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
      bitmap = await createImageBitmap(new Blob([frame.image], { type: MIME[frame.format] }));
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
    this.download.href = job.finalUrl;
    this.download.download = `digits-${seed}-${job.settings.guidance.mode}.${ext}`;
    this.download.removeAttribute("aria-disabled");
    this.copySeed.disabled = seed === undefined;
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

// ----------------------------------------------------------------------------------------------- app

const form = /** @type {HTMLFormElement} */ ($("#form"));
const promptInput = $("#prompt");
const negativeInput = $("#negative");
const modelSelect = $("#model");
const stepsInput = $("#steps");
const seedInput = $("#seed");
const lockButton = $("#lock");
const abToggle = $("#ab");
const cancelButton = $("#cancel");
const statusLine = $("#status");
const historyList = $("#history-list");

/** @type {any[]} */
let models = [];
/** @type {any} */
let model = null;
let seedLocked = false;
/** @type {Map<string, Job>} */
const jobs = new Map();
const slots = { a: new SlotControls("a", $("#slots")), b: new SlotControls("b", $("#slots")) };
const panels = { a: new Panel("a", $("#panels")), b: new Panel("b", $("#panels")) };
const history = new History();
const connection = new Connection(socketUrl(location.href));

/** @param {string} text */
function announce(text) {
  statusLine.textContent = text;
}

/** Input elements of the fields outside the slots, by request field. */
const FIELD_INPUTS = {
  prompt: promptInput,
  negativePrompt: negativeInput,
  model: modelSelect,
  steps: stepsInput,
  seed: seedInput,
};

/** @param {Element} scope an error element, or a field wrapper holding one */
function clearFieldError(scope) {
  const error = scope.matches(".field-error") ? scope : scope.querySelector(".field-error");
  if (error) error.textContent = "";
  scope.closest(".field")?.querySelectorAll("[aria-invalid]").forEach((el) =>
    el.removeAttribute("aria-invalid")
  );
}

function clearErrors() {
  for (const el of document.querySelectorAll(".field-error")) el.textContent = "";
  for (const el of document.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

/**
 * Shows a server error next to the field it names, or under the prompt when it names none.
 *
 * @param {string} message
 * @param {string | undefined} field e.g. `steps` or `guidance.scale`
 * @param {"a" | "b"} [slot] the slot of the job it is about
 * @param {{ fallback?: boolean }} [options] `fallback: false` shows nothing for a field without a place
 * @returns {boolean} whether it was shown next to a field
 */
function showFieldError(message, field, slot = "a", { fallback = true } = {}) {
  /** @type {HTMLElement | null} */
  let target = null;
  if (field) {
    if (field.startsWith("guidance") || field === "cfg" || field.startsWith("apg")) {
      target = slots[slot].errorSlot(field) ?? slots[slot].errorSlot("guidance");
    } else {
      // A nested field such as `previews.size` falls back to its parent's slot, when there is one.
      target = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`) ??
        form.querySelector(`[data-error-for="${CSS.escape(field.split(".")[0])}"]`);
    }
  }
  const placed = target !== null;
  if (!target && !fallback) return false;
  target ??= $("#err-general");
  target.textContent = message;
  const input = FIELD_INPUTS[/** @type {keyof FIELD_INPUTS} */ (field)] ??
    target.closest(".field")?.querySelector("input:not([type=range]), select, textarea");
  if (placed) input?.setAttribute("aria-invalid", "true");
  if (placed && input && document.activeElement === document.body) input.focus({ preventScroll: true });
  return placed;
}

/**
 * Shows an `error` event: each of its `issues` next to its field when there are several, else the message
 * next to `field`.
 *
 * @param {any} event
 * @param {"a" | "b"} [slot]
 */
function showServerError(event, slot) {
  const message = event.message ?? `The server answered ${event.code}`;
  if (event.code === "unauthorized") {
    showFieldError(`${message}. Open the page with ?token=… in its address.`, undefined);
    return;
  }
  const issues = Array.isArray(event.issues) ? event.issues.filter((i) => i?.field && i.message) : [];
  if (issues.length > 1) {
    const unplaced = issues.filter((i) => !showFieldError(i.message, i.field, slot, { fallback: false }));
    if (unplaced.length) showFieldError(message, undefined);
    return;
  }
  showFieldError(message, event.field, slot);
}

// ----------------------------------------------------------------------------------------- settings

/** @param {any} next */
function applyModel(next) {
  model = next;
  modelSelect.value = next.id;
  stepsInput.max = String(next.maxSteps);
  stepsInput.placeholder = String(next.defaultSteps);
  const steps = parseNumber(stepsInput.value);
  if (steps === undefined || !(steps >= 1 && steps <= next.maxSteps)) {
    stepsInput.value = String(next.defaultSteps);
  }
  $("#steps-hint").textContent = `default ${next.defaultSteps} · max ${next.maxSteps}`;
  for (const slot of SLOTS) {
    slots[slot].render(next);
    panels[slot].resize(next.width, next.height);
  }
}

/** @param {boolean} on */
function setAb(on) {
  abToggle.checked = on;
  document.body.classList.toggle("ab", on);
  slots.b.root.hidden = !on;
  panels.b.root.hidden = !on;
  $("#panels").dataset.count = on ? "2" : "1";
  slots.a.setLegend(on ? "A · guidance" : "Guidance");
  slots.b.setLegend("B · guidance");
  panels.a.setName(on ? "A" : "Preview");
  panels.b.setName("B");
}

/** @param {boolean} locked */
function setSeedLocked(locked) {
  seedLocked = locked;
  lockButton.setAttribute("aria-pressed", String(locked));
  lockButton.setAttribute("aria-label", locked ? "Unlock seed" : "Lock seed");
  $("use", lockButton).setAttribute("href", locked ? "#icon-lock" : "#icon-unlock");
  $("#seed-hint").textContent = locked
    ? "Locked: every generation uses this seed."
    : "Random: a new seed each time.";
}

function formSettings() {
  return {
    model: model?.id,
    prompt: promptInput.value,
    negativePrompt: negativeInput.value,
    steps: stepsInput.value,
    seed: seedInput.value,
    seedLocked,
    ab: abToggle.checked,
    slots: { a: slots.a.value(), b: slots.b.value() },
  };
}

function saveSettings() {
  try {
    localStorage.setItem(SETTINGS_KEY, JSON.stringify(formSettings()));
  } catch {
    // Private mode or full storage: settings just do not survive a reload.
  }
}

function loadSettings() {
  try {
    return JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? "null");
  } catch {
    return null;
  }
}

/**
 * Puts settings (saved, or from a history entry) back into the form.
 *
 * @param {any} saved
 */
function restoreForm(saved) {
  const next = pickModel(models, saved.model);
  if (next && next !== model) applyModel(next);
  promptInput.value = saved.prompt ?? "";
  negativeInput.value = saved.negativePrompt ?? "";
  if (saved.steps !== undefined && saved.steps !== "") stepsInput.value = String(saved.steps);
  seedInput.value = saved.seed !== undefined ? String(saved.seed) : "";
  setSeedLocked(Boolean(saved.seedLocked));
  for (const slot of SLOTS) if (saved.slots?.[slot]) slots[slot].set(saved.slots[slot]);
  setAb(Boolean(saved.ab));
}

// ----------------------------------------------------------------------------------------------- jobs

function activeJobs() {
  return [...jobs.values()].filter((job) => ACTIVE.has(job.state));
}

function updateButtons() {
  cancelButton.disabled = activeJobs().length === 0;
}

function generate() {
  clearErrors();
  $("#prompt-note").textContent = "";
  if (!model) {
    showFieldError("Cannot generate yet as the model list has not loaded", "model");
    return;
  }
  const prompt = promptInput.value.trim();
  if (!seedLocked || seedInput.value.trim() === "") seedInput.value = String(randomSeed());
  const base = {
    model: model.id,
    prompt,
    negativePrompt: negativeInput.value.trim() || undefined,
    steps: parseNumber(stepsInput.value),
    seed: parseNumber(seedInput.value),
  };
  // Let the server judge the values, so its messages show next to the fields; NaN would not survive JSON.
  for (const [field, value] of Object.entries({ steps: base.steps, seed: base.seed })) {
    if (value !== undefined && !Number.isFinite(value)) {
      showFieldError(`Cannot generate as '${field}' is not a number`, field);
      return;
    }
  }
  const used = abToggle.checked ? SLOTS : /** @type {const} */ (["a"]);
  for (const slot of used) {
    const { guidance, cfg, apg } = slots[slot].value();
    /** @type {Job} */
    const job = {
      id: makeJobId(slot),
      slot,
      settings: { ...base, guidance, cfg, ...(apg ? { apg } : {}) },
      state: connection.state === "open" ? "sent" : "waiting",
      frames: 0,
    };
    jobs.set(job.id, job);
    panels[slot].attach(job);
    connection.send({
      type: "generate",
      id: job.id,
      ...buildRequest(job.settings),
      previews: { every: 1, format: "png" },
    });
  }
  saveSettings();
  announce(
    connection.state === "open"
      ? `Generating “${prompt}” with seed ${base.seed}${used.length > 1 ? ", A and B" : ""}…`
      : "Waiting for the connection to the server…",
  );
  updateButtons();
}

function cancelAll() {
  const active = activeJobs();
  for (const job of active) {
    if (job.state === "waiting") {
      connection.dropPending((m) => m.id === job.id);
      finishCancelled(job);
      continue;
    }
    job.state = "cancelling";
    panels[job.slot].setState("cancelling", "Cancelling…");
    connection.send({ type: "cancel", id: job.id });
  }
  if (active.length) announce("Cancelling…");
  updateButtons();
}

/** @param {Job} job */
function finishCancelled(job) {
  job.state = "cancelled";
  if (panels[job.slot].job === job) panels[job.slot].cancelled();
  announce("Cancelled.");
  updateButtons();
}

/** @param {string} id */
function panelFor(id) {
  const job = jobs.get(id);
  if (!job) return null;
  const panel = panels[job.slot];
  return panel.job === job ? panel : null;
}

/** @param {any} event */
function onEvent(event) {
  const job = event.id ? jobs.get(event.id) : undefined;
  const panel = event.id ? panelFor(event.id) : null;
  switch (event.type) {
    case "queued":
      if (!job) return;
      if (job.state !== "cancelling") job.state = "queued";
      panel?.queued(event.position);
      if (panel && job.state === "queued") announce(`Queued, position ${event.position}.`);
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
      if (panel && job.slot === "a") {
        $("#prompt-note").textContent = event.unknownWords?.length
          ? `The model does not know ${
            event.unknownWords.map((w) => `“${w}”`).join(", ")
          }; those words were ignored.`
          : "";
      }
      if (panel) {
        announce(
          `Done${abToggle.checked ? ` (${job.slot.toUpperCase()})` : ""} in ${
            formatMs(event.elapsedMs)
          }, seed ${job.settings.seed}.`,
        );
      }
      addToHistory(job);
      break;
    case "cancelled":
      if (job) finishCancelled(job);
      break;
    case "error": {
      const message = event.message ?? `The server answered ${event.code}`;
      if (job && !ACTIVE.has(job.state)) {
        // E.g. a cancel that crossed the job's `done`: the job is over and its result stands.
        console.info(`Ignoring an error for finished job ${job.id}:`, message);
        break;
      }
      if (job) {
        job.state = "error";
        panel?.failed(message);
      }
      showServerError(event, job?.slot);
      announce(`Error: ${message}`);
      break;
    }
  }
  updateButtons();
}

/** @param {import("./protocol.js").Frame} frame */
function onFrame(frame) {
  const job = jobs.get(frame.id);
  if (!job) return;
  const panel = panelFor(frame.id);
  if (frame.kind === "preview") {
    panel?.preview(frame);
    return;
  }
  // Copy the bytes out of the socket's buffer so the blob does not keep the whole message alive.
  job.finalBlob = new Blob([frame.image.slice()], { type: MIME[frame.format] });
  job.finalUrl = URL.createObjectURL(job.finalBlob);
  panel?.final();
}

/** @param {Job} job */
async function addToHistory(job) {
  if (!job.finalBlob) return;
  const entry = {
    id: job.id,
    at: Date.now(),
    settings: job.settings,
    elapsedMs: job.elapsedMs,
    image: await blobToDataUrl(job.finalBlob),
  };
  history.add(entry);
  renderHistory();
}

function renderHistory() {
  $("#history-empty").hidden = history.entries.length > 0;
  $("#history-clear").disabled = history.entries.length === 0;
  historyList.replaceChildren(...history.entries.map((entry) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "history-item";
    button.dataset.id = entry.id;
    const summary = describeSettings(entry.settings);
    button.title = `${summary}${entry.elapsedMs !== undefined ? `, ${formatMs(entry.elapsedMs)}` : ""}`;
    button.setAttribute("aria-label", `Restore settings: ${summary}`);
    const img = document.createElement("img");
    img.src = entry.image;
    img.alt = "";
    const caption = document.createElement("span");
    caption.className = "history-caption";
    caption.textContent = GUIDANCE_LABELS[entry.settings.guidance?.mode] ?? entry.settings.guidance?.mode ??
      "";
    const seed = document.createElement("span");
    seed.className = "history-seed";
    seed.textContent = String(entry.settings.seed ?? "");
    button.append(img, caption, seed);
    button.addEventListener("click", () => restoreFromHistory(entry));
    li.append(button);
    return li;
  }));
}

/** @param {import("./history.js").HistoryEntry} entry */
function restoreFromHistory(entry) {
  const s = entry.settings;
  restoreForm({
    model: s.model,
    prompt: s.prompt,
    negativePrompt: s.negativePrompt,
    steps: s.steps,
    seed: s.seed,
    seedLocked: true,
    ab: false,
    slots: { a: { guidance: s.guidance, cfg: s.cfg, apg: s.apg } },
  });
  clearErrors();
  announce(`Restored settings: ${describeSettings(s)}.`);
  promptInput.focus();
}

// ------------------------------------------------------------------------------------------ connection

const connectionBox = $("#connection");
const connectionText = $("#connection-text");
let backend = "";

connection.addEventListener("status", (e) => {
  const { state, retryInMs } = /** @type {CustomEvent} */ (e).detail;
  connectionBox.dataset.state = state;
  if (state === "open") {
    connectionText.textContent = backend ? `Connected · ${backend}` : "Connected";
    for (const job of jobs.values()) {
      if (job.state === "waiting") {
        job.state = "sent";
        if (panels[job.slot].job === job) panels[job.slot].setState("sent", "Sending…");
      }
    }
  } else if (state === "connecting") {
    connectionText.textContent = "Connecting…";
  } else {
    connectionText.textContent = retryInMs !== undefined
      ? `Disconnected · retrying in ${Math.max(1, Math.round(retryInMs / 1000))} s`
      : "Disconnected";
    // The server forgets a socket's jobs when it closes, so nothing more will come for them.
    for (const job of jobs.values()) {
      if (job.state === "waiting" || !ACTIVE.has(job.state)) continue;
      job.state = "error";
      if (panels[job.slot].job === job) {
        panels[job.slot].failed("The connection dropped before this image finished");
      }
    }
    updateButtons();
  }
});
connection.addEventListener("message", (e) => onEvent(/** @type {CustomEvent} */ (e).detail));
connection.addEventListener("frame", (e) => onFrame(/** @type {CustomEvent} */ (e).detail));
globalThis.addEventListener("online", () => {
  if (connection.state === "closed") connection.connect();
});

// ------------------------------------------------------------------------------------------------ wiring

form.addEventListener("submit", (e) => {
  e.preventDefault();
  generate();
});
promptInput.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    form.requestSubmit();
  }
});
form.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    form.requestSubmit();
  }
});
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && activeJobs().length) {
    e.preventDefault();
    cancelAll();
  }
});
cancelButton.addEventListener("click", cancelAll);
for (const chip of document.querySelectorAll("[data-example]")) {
  chip.addEventListener("click", () => {
    promptInput.value = chip.textContent.trim();
    promptInput.focus();
  });
}
for (const [field, input] of Object.entries(FIELD_INPUTS)) {
  input.addEventListener("input", () => {
    const error = document.querySelector(`[data-error-for="${field}"]`);
    if (error) clearFieldError(error);
    input.removeAttribute("aria-invalid");
  });
}
modelSelect.addEventListener("change", () => {
  const next = models.find((m) => m.id === modelSelect.value);
  if (next) applyModel(next);
  saveSettings();
});
$("#dice").addEventListener("click", () => {
  seedInput.value = String(randomSeed());
  setSeedLocked(true);
  announce(`New seed ${seedInput.value}, locked.`);
});
lockButton.addEventListener("click", () => setSeedLocked(!seedLocked));
seedInput.addEventListener("input", () => {
  if (seedInput.value.trim() !== "") setSeedLocked(true);
});
abToggle.addEventListener("change", () => {
  const on = abToggle.checked;
  if (on && slots.a.mode === "none" && slots.b.mode === "none" && model?.guidance?.modes?.includes("gag")) {
    slots.a.setMode("gag");
  }
  setAb(on);
  saveSettings();
});
$("#history-clear").addEventListener("click", () => {
  history.clear();
  renderHistory();
  announce("History cleared.");
});

// ------------------------------------------------------------------------------------------------- start

/** Loads the model list, retrying while the server starts. */
async function loadModels() {
  for (let attempt = 0;; attempt++) {
    try {
      const response = await apiFetch("api/models");
      if (!response.ok) throw new Error(`GET /api/models answered ${response.status}`);
      const body = await response.json();
      if (!Array.isArray(body.models) || body.models.length === 0) {
        throw new Error("The server lists no models");
      }
      return body.models;
    } catch (error) {
      const wait = Math.min(10_000, 500 * 2 ** attempt);
      announce(
        `Waiting for the server (${/** @type {Error} */ (error).message}); retrying in ${
          Math.ceil(wait / 1000)
        } s…`,
      );
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

async function loadBackend() {
  try {
    const response = await apiFetch("healthz");
    if (!response.ok) return;
    backend = (await response.json()).backend ?? "";
    if (connection.state === "open") connectionText.textContent = `Connected · ${backend}`;
  } catch {
    // The badge is a nicety; the socket status says whether the server is there.
  }
}

async function start() {
  setAb(false);
  setSeedLocked(false);
  renderHistory();
  connection.connect();
  loadBackend();
  models = await loadModels();
  modelSelect.replaceChildren(...models.map((m) => {
    const option = document.createElement("option");
    option.value = m.id;
    option.textContent = m.name ?? m.id;
    return option;
  }));
  const saved = loadSettings();
  applyModel(pickModel(models, saved?.model));
  if (saved) restoreForm(saved);
  document.body.dataset.ready = "true";
  announce("Ready. Type a prompt and press Enter.");
}

start();
