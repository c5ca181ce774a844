/**
 * Patched graphs pass `onnx.checker.check_model(full_check=True)` from the system Python (python3-onnx).
 *
 * @module
 */
import assert from "@std/assert";
import { patchAttention, type PatchOptions } from "../../guidance/mod.ts";
import {
  buildBareMultiHeadAttentionModel,
  buildMultiHeadAttentionModel,
  buildTorchAttentionModel,
} from "../fixtures/attention_models.ts";
import { buildMmditModel } from "../fixtures/mmdit_models.ts";

const PYTHON = "/usr/bin/python3";
const CHECK = `
import sys, onnx
for path in sys.argv[1:]:
    onnx.checker.check_model(onnx.load(path), full_check=True)
    print("ok", path)
`;

async function onnxAvailable(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(PYTHON, { args: ["-c", "import onnx"], stderr: "null" })
      .output();
    return success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "patched graphs pass onnx.checker.check_model with full_check",
  fn: async () => {
    // A missing checker fails the test loudly rather than skipping it.
    if (!(await onnxAvailable())) {
      throw new Error(
        `Cannot check patched graphs as ${PYTHON} cannot import onnx: apt-get install python3-onnx`,
      );
    }
    const dir = await Deno.makeTempDir({ prefix: "guidance-checker-" });
    try {
      const cases: [string, Uint8Array, PatchOptions][] = [
        ["torch_all", buildTorchAttentionModel({ blocks: 2 }).model, { layers: "all" }],
        ["torch_cross_shapes", buildTorchAttentionModel({ declareShapes: true, scaleForm: "div" }).model, {}],
        ["torch_fp16_all", buildTorchAttentionModel({ fp16: true, declareShapes: true }).model, {
          layers: "all",
        }],
        ["torch_dynamic", buildTorchAttentionModel({ blocks: 2, dynamicShapes: true }).model, {
          layers: "all",
        }],
        ["mha_all", buildMultiHeadAttentionModel({ mhaBias: true }).model, { layers: "all" }],
        ["mha_fp16_cross", buildMultiHeadAttentionModel({ fp16: true }).model, {}],
        ["mha_dynamic", buildBareMultiHeadAttentionModel(), {}],
        ["joint_flux", buildMmditModel({ blocks: 2, rope: true, dynamicShapes: true }).model, {}],
        ["joint_sd3_image_queries", buildMmditModel({ textFirst: false, imageQueriesOnly: true }).model, {}],
        ["joint_fused", buildMmditModel({ fused: true }).model, {}],
      ];
      const paths = [];
      for (const [name, model, options] of cases) {
        const path = `${dir}/${name}.onnx`;
        await Deno.writeFile(path, patchAttention(model, options).model);
        paths.push(path);
      }
      const { success, stdout, stderr } = await new Deno.Command(PYTHON, { args: ["-c", CHECK, ...paths] })
        .output();
      const text = new TextDecoder();
      assert.ok(success, `onnx.checker failed:\n${text.decode(stdout)}\n${text.decode(stderr)}`);
      assert.equal(text.decode(stdout).trim().split("\n").length, cases.length);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
