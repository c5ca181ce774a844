import assert from "@std/assert";
import { softmax } from "../../guidance/mod.ts";

const close = (a: number, b: number, tol = 1e-12) => Math.abs(a - b) <= tol;

Deno.test("softmax() gives uniform probabilities for equal scores", () => {
  assert.deepEqual([...softmax([2, 2, 2, 2])], [0.25, 0.25, 0.25, 0.25]);
});

Deno.test("softmax() matches exp(z)/Σexp(z) on a hand-checked row", () => {
  const p = softmax([1, 0]);
  assert(close(p[0], Math.E / (Math.E + 1)));
  assert(close(p[1], 1 / (Math.E + 1)));
});

Deno.test("softmax() ignores a constant shift and stays finite for large scores", () => {
  const a = softmax([1000, 999, 998]);
  const b = softmax([2, 1, 0]);
  a.forEach((v, i) => assert(close(v, b[i])));
});

Deno.test("softmax() gives probability 0 to -Infinity scores", () => {
  assert.deepEqual([...softmax([0, -Infinity, 0])], [0.5, 0, 0.5]);
});
