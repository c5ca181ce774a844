/**
 * Yielding to the event loop between sampler steps.
 *
 * @module
 */

/**
 * Resolves on a later turn of the event loop (a macrotask), so socket reads, cancels, health checks and
 * signals are handled between steps. The wasm backend's `run()` settles through microtasks only, so
 * without this a whole job runs before the server reads its next message.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
