/**
 * Recent results with the settings that made them, kept in memory and in `localStorage`.
 *
 * @module
 */

/**
 * One finished job.
 *
 * @typedef {object} HistoryEntry
 * @property {string} id the request id
 * @property {number} at when it finished, ms since the epoch
 * @property {import("./settings.js").Settings} settings what was asked, with the seed the server used
 * @property {number} [elapsedMs]
 * @property {string} image the final image as a `data:` URL
 */

/** The newest entries first, at most `limit`, persisted under one key. */
export class History {
  /**
   * @param {{ storage?: Storage | null, key?: string, limit?: number }} [options] `storage` defaults to
   *   `localStorage`; pass `null` to keep entries in memory only
   */
  constructor({ storage = globalThis.localStorage ?? null, key = "digits.history.v1", limit = 24 } = {}) {
    this.storage = storage;
    this.key = key;
    this.limit = limit;
    /** @type {HistoryEntry[]} */
    this.entries = this._load();
  }

  /**
   * Adds an entry at the front, dropping the oldest beyond the limit.
   *
   * @param {HistoryEntry} entry
   */
  add(entry) {
    this.entries = [entry, ...this.entries.filter((e) => e.id !== entry.id)].slice(0, this.limit);
    this._save();
  }

  /** Forgets every entry. */
  clear() {
    this.entries = [];
    this._save();
  }

  /**
   * @param {string} id
   * @returns {HistoryEntry | undefined}
   */
  get(id) {
    return this.entries.find((e) => e.id === id);
  }

  /** @returns {HistoryEntry[]} */
  _load() {
    try {
      const parsed = JSON.parse(this.storage?.getItem(this.key) ?? "[]");
      return Array.isArray(parsed) ? parsed.filter((e) => e && e.id && e.settings && e.image) : [];
    } catch {
      return [];
    }
  }

  _save() {
    if (!this.storage) return;
    // Images make entries large; when storage is full keep fewer rather than none.
    for (let n = this.entries.length; n >= 0; n = n === 0 ? -1 : Math.floor(n / 2)) {
      try {
        this.storage.setItem(this.key, JSON.stringify(this.entries.slice(0, n)));
        return;
      } catch {
        // Quota exceeded: try again with fewer entries.
      }
    }
  }
}
