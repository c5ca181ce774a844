/**
 * The history strip: a thumbnail per finished job; picking one restores its settings.
 *
 * @module
 */

import { blobToDataUrl, cloneTemplate, formatMs } from "./dom.js";
import { describeSettings, GUIDANCE_LABELS } from "./settings.js";

/** Renders a {@linkcode import("./history.js").History} as a list of buttons. */
export class HistoryView {
  /**
   * @param {{
   *   history: import("./history.js").History,
   *   list: HTMLElement,
   *   empty: HTMLElement,
   *   clearButton: HTMLButtonElement,
   *   onRestore: (entry: import("./history.js").HistoryEntry) => void,
   * }} options
   */
  constructor({ history, list, empty, clearButton, onRestore }) {
    this.history = history;
    this.list = list;
    this.empty = empty;
    this.clearButton = clearButton;
    this.onRestore = onRestore;
  }

  /**
   * Adds a finished job with its final image.
   *
   * @param {import("./panel.js").Job} job
   */
  async add(job) {
    if (!job.finalBlob) return;
    this.history.add({
      id: job.id,
      at: Date.now(),
      settings: job.settings,
      elapsedMs: job.elapsedMs,
      image: await blobToDataUrl(job.finalBlob),
    });
    this.render();
  }

  /** Forgets every entry. */
  clear() {
    this.history.clear();
    this.render();
  }

  /** Redraws the list. */
  render() {
    const { entries } = this.history;
    this.empty.hidden = entries.length > 0;
    this.clearButton.disabled = entries.length === 0;
    this.list.replaceChildren(...entries.map((entry) => {
      const li = /** @type {HTMLLIElement} */ (cloneTemplate("history-item-template"));
      const part = (
        /** @type {string} */ selector,
      ) => /** @type {HTMLElement} */ (li.querySelector(selector));
      const button = part(".history-item");
      button.dataset.id = entry.id;
      const summary = describeSettings(entry.settings);
      button.title = `${summary}${entry.elapsedMs !== undefined ? `, ${formatMs(entry.elapsedMs)}` : ""}`;
      button.setAttribute("aria-label", `Restore settings: ${summary}`);
      /** @type {HTMLImageElement} */ (part("img")).src = entry.image;
      const mode = entry.settings.guidance?.mode;
      part(".history-caption").textContent = GUIDANCE_LABELS[mode] ?? mode ?? "";
      part(".history-seed").textContent = String(entry.settings.seed ?? "");
      button.addEventListener("click", () => this.onRestore(entry));
      return li;
    }));
  }
}
