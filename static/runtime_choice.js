/**
 * Where jobs run: on the server, or on this device (the browser runs the model). The choice comes from
 * `?runtime=local|server` in the page's address first, so a link can pin it, then from the last visit.
 * No DOM here, so the Deno tests can check it.
 *
 * @module
 */

/** The runtimes, in the order the picker shows them, with their display names. */
export const RUNTIME_LABELS = Object.freeze({ server: "Server", local: "This device" });

/** The `localStorage` key of the last choice. */
export const RUNTIME_KEY = "digits.runtime.v1";

/**
 * Tells whether a string names a runtime.
 *
 * @param {unknown} value
 * @returns {value is "server" | "local"}
 */
function isRuntime(value) {
  return value === "server" || value === "local";
}

/**
 * The runtime a page starts with: the address's `?runtime=`, else the saved choice, else the server.
 *
 * @param {string | URL} pageUrl
 * @param {Pick<Storage, "getItem"> | null} [storage]
 * @returns {"server" | "local"}
 */
export function initialRuntime(pageUrl, storage = null) {
  const asked = new URL(pageUrl).searchParams.get("runtime");
  if (isRuntime(asked)) return asked;
  let saved = null;
  try {
    saved = storage?.getItem(RUNTIME_KEY) ?? null;
  } catch {
    // Storage refused (private mode): no saved choice.
  }
  return isRuntime(saved) ? saved : "server";
}

/**
 * The page's address with `?runtime=` set, other parameters (`token`) kept.
 *
 * @param {string | URL} pageUrl
 * @param {"server" | "local"} runtime
 * @returns {string}
 */
export function runtimeUrl(pageUrl, runtime) {
  const url = new URL(pageUrl);
  url.searchParams.set("runtime", runtime);
  return url.href;
}

/**
 * Keeps the choice for the next visit.
 *
 * @param {"server" | "local"} runtime
 * @param {Pick<Storage, "setItem"> | null} [storage]
 */
export function saveRuntime(runtime, storage = null) {
  try {
    storage?.setItem(RUNTIME_KEY, runtime);
  } catch {
    // Private mode or full storage: the address still carries the choice.
  }
}
