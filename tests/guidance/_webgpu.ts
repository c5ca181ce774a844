/**
 * Shared set-up of the guidance tests on onnxruntime-web's WebGPU execution provider (Mesa llvmpipe in
 * CI): session options with CPU fallback disabled, so a node without a WebGPU kernel fails the test.
 *
 * @module
 */
import * as ort from "onnxruntime-web/webgpu";

if (!Deno.env.get("XDG_RUNTIME_DIR")) {
  // wgpu's Vulkan loader wants a private runtime dir; without one it prints errors on every run. One folder
  // reused by every run (the one the backend itself picks), never a new temporary folder left behind.
  const dir = new URL("../../.cache/xdg", import.meta.url).pathname;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await Deno.chmod(dir, 0o700);
  Deno.env.set("XDG_RUNTIME_DIR", dir);
}
ort.env.wasm.numThreads = 1;

export { ort };

/** WebGPU only: session creation fails if any node would fall back to the CPU. */
export const options: ort.InferenceSession.SessionOptions = {
  executionProviders: ["webgpu"],
  extra: { session: { disable_cpu_ep_fallback: "1" } },
};

/** Fails (never skips) with the packages to install when there is no adapter. */
export async function requireAdapter(): Promise<void> {
  if (!(await navigator.gpu?.requestAdapter())) {
    throw new Error(
      "Cannot run the WebGPU tests as navigator.gpu.requestAdapter() returned no adapter: current system lacks a " +
        "Vulkan driver, install it with 'apt-get install -y mesa-vulkan-drivers libvulkan1'",
    );
  }
}

/**
 * Registers a last test that destroys the GPU device onnxruntime-web created for this file's tests, so no
 * device (and its driver threads) outlives them; call it after a file's other tests.
 */
export function destroyDeviceAfterTests(): void {
  Deno.test("the WebGPU device of these tests is destroyed after them", async () => {
    const device = await ort.env.webgpu.device as GPUDevice;
    device.destroy();
    const lost = await device.lost;
    if (lost.reason !== "destroyed") {
      throw new Error(
        `Cannot confirm the WebGPU device was destroyed: it was lost with reason ${lost.reason}`,
      );
    }
  });
}
