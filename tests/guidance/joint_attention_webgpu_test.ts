/**
 * Patched MMDiT fixtures (joint attention) on onnxruntime-web's WebGPU execution provider (Mesa
 * llvmpipe in CI) against the TypeScript reference, with CPU fallback disabled so every node of the
 * patched graph must have a WebGPU kernel.
 *
 * @module
 */
import { destroyDeviceAfterTests, options, ort, requireAdapter } from "./_webgpu.ts";
import { buildMmditModel } from "../fixtures/mmdit_models.ts";
import { assertJoint, checkMmdit } from "./_joint_check.ts";

Deno.test("patchAttention() joint attention matches the reference on WebGPU: text first, two blocks", async () => {
  await requireAdapter();
  assertJoint(
    "text first",
    await checkMmdit(ort, buildMmditModel({ seed: 3, blocks: 2 }), { sessionOptions: options }),
  );
});

Deno.test("patchAttention() joint attention matches the reference on WebGPU: image first with rotary q and k", async () => {
  await requireAdapter();
  const fixture = buildMmditModel({ seed: 3, textFirst: false, rope: true, dynamicShapes: true });
  assertJoint("image first, rotary", await checkMmdit(ort, fixture, { sessionOptions: options }));
});

Deno.test("patchAttention() joint attention matches the reference on WebGPU: image queries only, concatenated tokens", async () => {
  await requireAdapter();
  const fixture = buildMmditModel({ seed: 3, imageQueriesOnly: true, concat: "tokens" });
  assertJoint("image queries only", await checkMmdit(ort, fixture, { sessionOptions: options }));
});

Deno.test("patchAttention() joint attention matches the reference on WebGPU: fused MultiHeadAttention", async () => {
  await requireAdapter();
  const check = await checkMmdit(ort, buildMmditModel({ seed: 3, fused: true }), { sessionOptions: options });
  // The unpatched model runs WebGPU's fused attention kernel, the patched one plain MatMul/Softmax.
  assertJoint("fused", check, { none: 1e-5 });
});

destroyDeviceAfterTests();
