/**
 * The guidance and CFG controls of one slot (A or B): a mode picker, one slider per parameter with the
 * model's range and default, and the CFG | APG picker with its sliders.
 *
 * @module
 */

import { $, cloneTemplate, fillRadioGroup } from "./dom.js";
import { clearFieldError } from "./field_errors.js";
import {
  APG_PARAMS,
  CFG_MODE_LABELS,
  cfgParam,
  GUIDANCE_LABELS,
  guidanceParams,
  parseNumber,
  roundToStep,
} from "./settings.js";

/** The guidance and CFG controls of one slot. */
export class SlotControls {
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
   * @param {any} model an entry of `GET /api/models`
   */
  render(model) {
    this.model = model;
    const modes = model.guidance?.modes ?? ["none"];
    if (!modes.includes(this.mode)) this.mode = "none";
    const group = $("[data-modes]", this.root);
    group.setAttribute("aria-labelledby", `${this.slot}-mode-label`);
    $("[data-mode-label]", this.root).id = `${this.slot}-mode-label`;
    fillRadioGroup(group, {
      name: `${this.slot}-mode`,
      options: modes.map((mode) => [mode, GUIDANCE_LABELS[mode] ?? mode]),
      checked: this.mode,
      onPick: (mode) => {
        this.mode = mode;
        this._renderParams();
        this.onChange();
      },
    });
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
    fillRadioGroup(group, {
      name: `${this.slot}-cfg-mode`,
      options: Object.entries(CFG_MODE_LABELS),
      checked: this.cfgMode,
      onPick: (mode) => {
        this.cfgMode = mode;
        this._renderCfg();
        this.onChange();
      },
    });
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
    reset.setAttribute("aria-label", `Reset ${spec.label} to ${spec.value}`);
    for (const input of [number, range]) {
      input.min = String(spec.min);
      input.max = String(spec.max);
      input.step = String(spec.step);
    }
    hint.textContent = `default ${spec.value} · range ${spec.min}–${spec.max}`;
    const over = $(".over", node);
    over.id = `${id}-over`;
    number.setAttribute("aria-describedby", `${id}-hint ${id}-over ${id}-error`);
    const markOver = (/** @type {number | undefined} */ value) => {
      const high = spec.overFrom !== undefined && value !== undefined && value >= spec.overFrom;
      node.classList.toggle("over-guiding", high);
      over.hidden = !high;
      over.textContent = high
        ? `From ${spec.overFrom} on, this model over-guides: the digit follows the prompt less`
        : "";
    };
    const show = (/** @type {number} */ value) => {
      number.value = String(value);
      range.value = String(value);
      node.classList.toggle("changed", value !== spec.value);
      markOver(value);
    };
    show(current ?? spec.value);
    range.addEventListener("input", () => {
      const value = roundToStep(Number(range.value), spec.step);
      number.value = String(value);
      store(value === spec.value ? undefined : value);
      node.classList.toggle("changed", value !== spec.value);
      markOver(value);
      clearFieldError(node);
    });
    number.addEventListener("input", () => {
      const value = parseNumber(number.value);
      if (value !== undefined && Number.isFinite(value)) range.value = String(value);
      store(value === spec.value ? undefined : value);
      node.classList.toggle("changed", value !== spec.value);
      markOver(value);
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
