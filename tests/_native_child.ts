/**
 * Test helper: runs the native-backend (onnxruntime-node) part of a test file in a child `deno test`
 * process. onnxruntime's native library is known to crash some hosts at process teardown (a SIGSEGV in
 * `OrtEnv::Release` after every test passed), so the main test process never loads it: a test registers its
 * native variant only `inNativeChild`, and registers in its place one test that runs the file in a child
 * with `--filter` and requires the child's exit 0 with every selected test passed.
 *
 * @module
 */
import assert from "node:assert/strict";

const FLAG = "GAG_NATIVE_CHILD";

/** Whether this process is the child that runs native-backend tests. */
const inNativeChild = Deno.env.get(FLAG) === "1";

/**
 * Registers `name`: in the child, as the test `fn`; in the main process, as a test that runs this file's
 * `name` in a child process.
 */
export function nativeTest(file: string | URL, name: string, fn: () => Promise<void>): void {
  if (inNativeChild) {
    Deno.test(name, fn);
    return;
  }
  Deno.test(`${name} (in a child process)`, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--no-check", "--filter", name, String(file)],
      env: { [FLAG]: "1", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.match(text, /ok \| 1 passed/, `the child ran one passing test:\n${text.slice(-3000)}`);
    assert.equal(out.code, 0, `the child exited with ${out.code}:\n${text.slice(-3000)}`);
  });
}
