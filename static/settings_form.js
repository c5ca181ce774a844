/**
 * The form outside the slots: model, prompt, negative prompt, steps and the seed with its lock; reads it
 * into settings, puts saved settings back and keeps them across reloads.
 *
 * @module
 */

import { $ } from "./dom.js";
import { SLOTS } from "./ab_pair.js";
import { parseNumber, pickModel, randomSeed } from "./settings.js";

const SETTINGS_KEY = "digits.settings.v1";

/**
 * A model's name for the menu: its name up to the first parenthesis (the rest goes in the hint below).
 *
 * @param {{ id: string, name?: string }} model
 * @returns {string}
 */
function shortName(model) {
  return (model.name ?? model.id).split(" (")[0].trim() || model.id;
}

/** The form's fields and the model they are set up for. */
export class SettingsForm {
  /**
   * @param {import("./ab_pair.js").AbPair} pair
   */
  constructor(pair) {
    this.pair = pair;
    this.form = /** @type {HTMLFormElement} */ ($("#form"));
    this.prompt = $("#prompt");
    this.negative = $("#negative");
    this.modelSelect = $("#model");
    this.steps = $("#steps");
    this.seed = $("#seed");
    this.lock = $("#lock");
    /** @type {any[]} */
    this.models = [];
    /** @type {any} */
    this.model = null;
    this.seedLocked = false;
    /** Whether the seed field holds a seed the user typed, which the next generation uses even unlocked. */
    this.typed = false;
  }

  /** Input elements of the fields outside the slots, by request field. */
  get inputs() {
    return {
      prompt: this.prompt,
      negativePrompt: this.negative,
      model: this.modelSelect,
      steps: this.steps,
      seed: this.seed,
    };
  }

  /**
   * Fills the model menu.
   *
   * @param {any[]} models the entries of `GET /api/models`
   */
  setModels(models) {
    this.models = models;
    this.modelSelect.replaceChildren(...models.map((m) => {
      const option = document.createElement("option");
      option.value = m.id;
      option.textContent = shortName(m);
      option.title = m.name ?? m.id;
      return option;
    }));
  }

  /**
   * Sets the form up for a model: its step range and the slots' sliders.
   *
   * @param {any} next an entry of `GET /api/models`
   */
  applyModel(next) {
    this.model = next;
    this.modelSelect.value = next.id;
    this.steps.max = String(next.maxSteps);
    this.steps.placeholder = String(next.defaultSteps);
    const steps = parseNumber(this.steps.value);
    if (steps === undefined || !(steps >= 1 && steps <= next.maxSteps)) {
      this.steps.value = String(next.defaultSteps);
    }
    // No-break spaces keep each "max 8" on one line in a narrow column.
    $("#steps-hint").textContent = `default\u00a0${next.defaultSteps} · max\u00a0${next.maxSteps}`;
    const hint = $("#model-hint");
    hint.textContent = next.description ?? (next.name && next.name !== shortName(next) ? next.name : "");
    hint.hidden = hint.textContent === "";
    this.pair.render(next);
  }

  /** @param {boolean} locked */
  setSeedLocked(locked) {
    this.seedLocked = locked;
    if (locked) this.typed = false;
    this.lock.setAttribute("aria-pressed", String(locked));
    this.lock.setAttribute("aria-label", locked ? "Unlock seed" : "Lock seed");
    $("use", this.lock).setAttribute("href", locked ? "#icon-lock" : "#icon-unlock");
    $("#seed-hint").textContent = locked
      ? "Locked: every generation uses this seed."
      : "Random: a new seed each time.";
  }

  /** Notes a seed typed into the field: the next generation uses it, locked or not. */
  seedTyped() {
    this.typed = this.seed.value.trim() !== "";
    if (!this.seedLocked) {
      $("#seed-hint").textContent = this.typed
        ? "The next image uses this seed; lock it to keep it."
        : "Random: a new seed each time.";
    }
  }

  /**
   * The seed of the next generation: the locked or typed one, else a new random one shown in the field.
   *
   * @returns {number | undefined} undefined for an empty field (never), NaN for text that is no number
   */
  takeSeed() {
    if (!(this.seedLocked || this.typed) || this.seed.value.trim() === "") {
      this.seed.value = String(randomSeed());
    }
    if (this.typed && !this.seedLocked) this.setSeedLocked(false);
    this.typed = false;
    return parseNumber(this.seed.value);
  }

  /** What the form holds, as saved settings. */
  read() {
    return {
      model: this.model?.id,
      prompt: this.prompt.value,
      negativePrompt: this.negative.value,
      steps: this.steps.value,
      seed: this.seed.value,
      seedLocked: this.seedLocked,
      ab: this.pair.on,
      slots: { a: this.pair.slots.a.value(), b: this.pair.slots.b.value() },
    };
  }

  /** Keeps the form's settings for the next visit. */
  save() {
    try {
      localStorage.setItem(SETTINGS_KEY, JSON.stringify(this.read()));
    } catch {
      // Private mode or full storage: settings just do not survive a reload.
    }
  }

  /** @returns {any} the settings saved on the last visit, or null */
  load() {
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
  restore(saved) {
    const next = pickModel(this.models, saved.model);
    if (next && next !== this.model) this.applyModel(next);
    this.prompt.value = saved.prompt ?? "";
    this.negative.value = saved.negativePrompt ?? "";
    if (saved.steps !== undefined && saved.steps !== "") this.steps.value = String(saved.steps);
    this.seed.value = saved.seed !== undefined ? String(saved.seed) : "";
    this.setSeedLocked(Boolean(saved.seedLocked));
    for (const slot of SLOTS) if (saved.slots?.[slot]) this.pair.slots[slot].set(saved.slots[slot]);
    this.pair.set(Boolean(saved.ab));
  }
}
