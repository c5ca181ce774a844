/**
 * Patched MMDiT fixtures (joint attention) on onnxruntime-web's wasm execution provider against the
 * TypeScript reference.
 *
 * @module
 */
import assert from "@std/assert";
import { buildMmditModel, type MmditConfig } from "../fixtures/mmdit_models.ts";
import { assertJoint, checkMmdit } from "./_joint_check.ts";
import { options, ort } from "./_wasm.ts";

const VARIANTS: [string, Partial<MmditConfig>][] = [
  ["text first (FLUX)", {}],
  ["image first (SD3)", { textFirst: false }],
  ["concatenated before the head split", { concat: "tokens" }],
  ["rotary q and k", { rope: true }],
  ["image queries only", { imageQueriesOnly: true }],
  ["fused MultiHeadAttention", { fused: true }],
];

for (const [name, variant] of VARIANTS) {
  Deno.test(`patchAttention() joint attention matches the reference on wasm: ${name}`, async () => {
    const check = await checkMmdit(ort, buildMmditModel({ seed: 3, ...variant }), {
      sessionOptions: options,
    });
    assertJoint(name, check);
    // One block: the text stream's queries are never guided, so its output is the model's.
    for (const c of check.cases) {
      assert.ok(c.textChange <= 1e-6, `${c.label}: text output moved by ${c.textChange}`);
    }
  });
}

Deno.test("patchAttention() joint attention matches the reference on wasm over three blocks with dynamic shapes", async () => {
  const check = await checkMmdit(
    ort,
    buildMmditModel({ seed: 4, blocks: 3, dynamicShapes: true, rope: true, textFirst: false }),
    { sessionOptions: options },
  );
  assertJoint("three blocks", check);
});
