import assert from "@std/assert";
import { assertThrowsWith } from "./_assert.ts";
import { guidanceScalars, guidedAttention } from "../../guidance/mod.ts";

// One head, one query, two keys; q·k gives scores [1, 0] at scale 1, and V is the identity, so the
// outputs are the probabilities themselves.
const operands = {
  q: [1, 0],
  k: [1, 0, 0, 1],
  v: [1, 0, 0, 1],
  heads: 1,
  queries: 1,
  keys: 2,
  headDim: 2,
  scale: 1,
};
const dense = [Math.E / (Math.E + 1), 1 / (Math.E + 1)];
const tau = -0.25 - Math.sqrt(0.4375);
const sparse = [tau ** 2, (-0.5 - tau) ** 2];

Deno.test("guidedAttention() returns softmax attention with no guidance", () => {
  const o = guidedAttention(operands);
  o.forEach((v, i) => assert(Math.abs(v - dense[i]) < 1e-7));
});

Deno.test("guidedAttention() returns o_d + λ(o_s − o_d) with PLADIS on a hand-checked case", () => {
  const o = guidedAttention(operands, guidanceScalars({ mode: "pladis", scale: 2 }));
  o.forEach((v, i) => assert(Math.abs(v - (dense[i] + 2 * (sparse[i] - dense[i]))) < 1e-7));
});

Deno.test("guidedAttention() returns the entmax output when a = 1 and b = 0", () => {
  const o = guidedAttention(operands, { a: 1, b: 0, eta: 15, zeta: 0 });
  o.forEach((v, i) => assert(Math.abs(v - sparse[i]) < 1e-7));
});

Deno.test("guidedAttention() scales scores by 1/√headDim by default", () => {
  const o = guidedAttention({ ...operands, q: [2 * Math.SQRT2, 0], scale: undefined });
  o.forEach((v, i) => assert(Math.abs(v - guidedAttention({ ...operands, q: [2, 0] })[i]) < 1e-7));
});

Deno.test("guidedAttention() rejects operands whose sizes do not match the shape", () => {
  assertThrowsWith(
    () => guidedAttention({ ...operands, k: [1, 0, 0] }),
    "Cannot compute attention as 'k' must have 4 elements: current value is 3",
  );
});
