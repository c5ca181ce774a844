/**
 * A WebSocket to `/ws` that reconnects with exponential backoff and splits text events from binary frames.
 *
 * @module
 */

import { decodeFrame } from "./protocol.js";

/**
 * The delay before reconnect attempt `attempt` (0-based): doubling from `minMs` up to `maxMs`, with jitter
 * so many tabs that lost the same server do not come back in lockstep.
 *
 * @param {number} attempt
 * @param {{ minMs?: number, maxMs?: number, random?: () => number }} [options]
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, { minMs = 500, maxMs = 10_000, random = Math.random } = {}) {
  const base = Math.min(maxMs, minMs * 2 ** attempt);
  return Math.round(base * (0.75 + 0.25 * random()));
}

/**
 * The socket URL for a page: `ws(s)://` beside the page, with the page's `?token=` when it has one.
 *
 * @param {string | URL} pageUrl usually `location.href`
 * @returns {string}
 */
export function socketUrl(pageUrl) {
  const page = new URL(pageUrl);
  const url = new URL("ws", page);
  url.protocol = page.protocol === "https:" ? "wss:" : "ws:";
  const token = page.searchParams.get("token");
  url.search = token ? `?token=${encodeURIComponent(token)}` : "";
  url.hash = "";
  return url.href;
}

/**
 * A reconnecting socket. Dispatches `status` (`detail: { state, retryInMs?, attempt }`, state one of
 * `connecting`, `open`, `closed`), `message` (`detail`: a parsed JSON event) and `frame` (`detail`: a
 * decoded binary frame). Messages sent while it is not open wait and go out on the next open.
 */
export class Connection extends EventTarget {
  /**
   * @param {string} url
   * @param {{ minMs?: number, maxMs?: number }} [options] backoff bounds
   */
  constructor(url, options = {}) {
    super();
    this.url = url;
    this.options = options;
    /** @type {"connecting" | "open" | "closed"} */
    this.state = "closed";
    this.attempt = 0;
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {string[]} */
    this.pending = [];
    this._timer = 0;
    this._stopped = false;
  }

  /** Opens the socket now, cancelling a scheduled retry. */
  connect() {
    clearTimeout(this._timer);
    this._stopped = false;
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) return;
    this._setState("connecting");
    const socket = new WebSocket(this.url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this._setState("open");
      const queued = this.pending.splice(0);
      for (const text of queued) socket.send(text);
    };
    socket.onmessage = (e) => this._receive(e.data);
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this._stopped) return this._setState("closed");
      const retryInMs = backoffDelay(this.attempt, this.options);
      this.attempt += 1;
      this._setState("closed", retryInMs);
      this._timer = setTimeout(() => this.connect(), retryInMs);
    };
  }

  /** Closes the socket for good. */
  close() {
    this._stopped = true;
    clearTimeout(this._timer);
    this.socket?.close();
  }

  /**
   * Sends a JSON message, or keeps it for the next open.
   *
   * @param {object} message
   * @returns {"sent" | "queued"}
   */
  send(message) {
    const text = JSON.stringify(message);
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(text);
      return "sent";
    }
    this.pending.push(text);
    if (this.state === "closed" && !this._stopped) this.connect();
    return "queued";
  }

  /**
   * Drops queued messages that were not sent yet, e.g. a `generate` the user cancelled while offline.
   *
   * @param {(message: any) => boolean} predicate
   * @returns {number} how many were dropped
   */
  dropPending(predicate) {
    const before = this.pending.length;
    this.pending = this.pending.filter((text) => !predicate(JSON.parse(text)));
    return before - this.pending.length;
  }

  /** @param {string | ArrayBuffer} data */
  _receive(data) {
    if (typeof data === "string") {
      let event;
      try {
        event = JSON.parse(data);
      } catch {
        console.warn("Ignoring a socket message that is not JSON:", data.slice(0, 80));
        return;
      }
      this.dispatchEvent(new CustomEvent("message", { detail: event }));
      return;
    }
    try {
      this.dispatchEvent(new CustomEvent("frame", { detail: decodeFrame(data) }));
    } catch (error) {
      console.warn("Ignoring a binary frame that does not decode:", error);
    }
  }

  /**
   * @param {"connecting" | "open" | "closed"} state
   * @param {number} [retryInMs]
   */
  _setState(state, retryInMs) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("status", { detail: { state, retryInMs, attempt: this.attempt } }));
  }
}
