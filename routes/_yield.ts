/**
 * Yielding to the event loop between sampler steps.
 *
 * @module
 */

/**
 * Resolves on a later turn of the event loop (a macrotask), so socket reads, cancels, health checks and
 * signals are handled between steps on a backend that computes on this thread (onnxruntime-node, or
 * in-process wasm): its `run()` settles through microtasks only, so without this a whole job runs before
 * the server reads its next message. The server's wasm worker needs none (`backend.offThread`).
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
