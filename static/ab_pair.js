/**
 * The A/B pair: two slots of controls and two panels, with the switch that shows the second of each.
 *
 * @module
 */

import { Panel } from "./panel.js";
import { SlotControls } from "./slot_controls.js";

/** The slots, in order. */
export const SLOTS = /** @type {const} */ (["a", "b"]);

/** Slot A alone, or A and B side by side with the same prompt and seed. */
export class AbPair {
  /**
   * @param {{
   *   toggle: HTMLInputElement,
   *   slotsContainer: HTMLElement,
   *   panelsContainer: HTMLElement,
   *   announce: (text: string) => void,
   * }} options
   */
  constructor({ toggle, slotsContainer, panelsContainer, announce }) {
    this.toggle = toggle;
    this.panelsContainer = panelsContainer;
    /** @type {Record<"a" | "b", SlotControls>} */
    this.slots = { a: new SlotControls("a", slotsContainer), b: new SlotControls("b", slotsContainer) };
    /** @type {Record<"a" | "b", Panel>} */
    this.panels = {
      a: new Panel("a", panelsContainer, announce),
      b: new Panel("b", panelsContainer, announce),
    };
  }

  /** Whether B is shown. */
  get on() {
    return this.toggle.checked;
  }

  /**
   * The slots a generation runs.
   *
   * @returns {readonly ("a" | "b")[]}
   */
  used() {
    return this.on ? SLOTS : ["a"];
  }

  /**
   * Rebuilds both slots' controls and sizes both canvases for a model.
   *
   * @param {any} model an entry of `GET /api/models`
   */
  render(model) {
    for (const slot of SLOTS) {
      this.slots[slot].render(model);
      this.panels[slot].resize(model.width, model.height);
    }
  }

  /**
   * Shows or hides B.
   *
   * @param {boolean} on
   */
  set(on) {
    this.toggle.checked = on;
    document.body.classList.toggle("ab", on);
    this.slots.b.root.hidden = !on;
    this.panels.b.root.hidden = !on;
    this.panelsContainer.dataset.count = on ? "2" : "1";
    this.slots.a.setLegend(on ? "A · guidance" : "Guidance");
    this.slots.b.setLegend("B · guidance");
    this.panels.a.setName(on ? "A" : "Preview");
    this.panels.b.setName("B");
  }

  /**
   * Turns the comparison on or off as the user asked. A keeps what the user chose; when B holds the same
   * mode as A, B gets another one (GAG against none, none against the rest), so the pair compares something.
   *
   * @param {boolean} on
   */
  switchTo(on) {
    const { a, b } = this.slots;
    const other = a.mode === "none" ? "gag" : "none";
    if (on && a.mode === b.mode && a.model?.guidance?.modes?.includes(other)) b.setMode(other);
    this.set(on);
  }
}
