/**
 * tools/patch.ts run as `deno task patch` runs it (read and write permissions only).
 *
 * @module
 */
import assert from "@std/assert";
import onnx from "onnx-proto";
import { buildTorchAttentionModel } from "../fixtures/attention_models.ts";

const SCRIPT = new URL("../../tools/patch.ts", import.meta.url).pathname;

async function patchCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", SCRIPT, ...args],
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

/** Runs `body` in a fresh temporary folder holding a torch-style attention model as `in.onnx`, then removes it. */
async function withModelDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "guidance-cli-" });
  try {
    await Deno.writeFile(`${dir}/in.onnx`, buildTorchAttentionModel().model);
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deno task patch writes a patched model and prints the sites it patched", () =>
  withModelDir(async (dir) => {
    const { code, stdout, stderr } = await patchCli(`${dir}/in.onnx`, `${dir}/out.onnx`, "--layers", "all");
    assert.equal(code, 0, stderr);
    assert.match(stdout, /patched \/self_attn\/Softmax {2}self {2}matmul_softmax/);
    assert.match(stdout, /patched \/cross_attn\/Softmax {2}cross {2}matmul_softmax/);
    assert.match(
      stdout,
      /inputs added: guidance_a_cross, guidance_b_cross, guidance_a_self, guidance_b_self/,
    );
    const patched = onnx.onnx.ModelProto.decode(await Deno.readFile(`${dir}/out.onnx`));
    assert.ok(patched.graph!.input!.some((v) => v.name === "guidance_eta"));
  }));

Deno.test("deno task patch lists sites with --list and selects them with a RegExp", () =>
  withModelDir(async (dir) => {
    const { code, stdout } = await patchCli(`${dir}/in.onnx`, "--list", "--layers", "self_attn");
    assert.equal(code, 0);
    assert.match(stdout, /\* \/self_attn\/Softmax {2}self/);
    assert.match(stdout, /^ {2}\/cross_attn\/Softmax {2}cross/m);
  }));

Deno.test("deno task patch exits 1 with the error message when patching fails", () =>
  withModelDir(async (dir) => {
    const { code, stderr } = await patchCli(`${dir}/in.onnx`, `${dir}/out.onnx`, "--text-input", "prompt");
    assert.equal(code, 1);
    assert.match(stderr, /^Cannot classify attention as the text input 'prompt' is not a graph input/);
  }));
