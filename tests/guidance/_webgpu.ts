/**
 * Shared set-up of the guidance tests on onnxruntime-web's WebGPU execution provider (Mesa llvmpipe in
 * CI): session options with CPU fallback disabled, so a node without a WebGPU kernel fails the test.
 *
 * @module
 */
import * as ort from "onnxruntime-web/webgpu";

if (!Deno.env.get("XDG_RUNTIME_DIR")) {
  // wgpu's Vulkan loader wants a private runtime dir; without one it prints errors on every run.
  Deno.env.set("XDG_RUNTIME_DIR", await Deno.makeTempDir({ prefix: "xdg-" }));
}
ort.env.wasm.numThreads = 1;

export { ort };

/** WebGPU only: session creation fails if any node would fall back to the CPU. */
export const options: ort.InferenceSession.SessionOptions = {
  executionProviders: ["webgpu"],
  extra: { session: { disable_cpu_ep_fallback: "1" } },
};

/** A test that keeps WebGPU resources alive between tests. */
export const test = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeResources: false, sanitizeOps: false });

/** Fails (never skips) with the packages to install when there is no adapter. */
export async function requireAdapter(): Promise<void> {
  if (!(await navigator.gpu?.requestAdapter())) {
    throw new Error(
      "Cannot run the WebGPU tests as navigator.gpu.requestAdapter() returned no adapter: current system lacks a " +
        "Vulkan driver, install it with 'apt-get install -y mesa-vulkan-drivers libvulkan1'",
    );
  }
}
