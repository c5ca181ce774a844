import assert from "@std/assert";
import { assertThrowsWith } from "./_assert.ts";
import { GUIDANCE_MODES, guidanceScalars } from "../../guidance/mod.ts";

Deno.test("guidanceScalars() uses the published defaults: GAG w = 10, η = 15, ζ = 0, PLADIS λ = 2", () => {
  assert.deepEqual(guidanceScalars({ mode: "gag" }), { a: 1, b: 10, eta: 15, zeta: 0 });
  assert.deepEqual(guidanceScalars({ mode: "pladis" }), { a: 2, b: 0, eta: 15, zeta: 0 });
  assert.deepEqual(guidanceScalars({ mode: "none" }), { a: 0, b: 0, eta: 15, zeta: 0 });
});

Deno.test("guidanceScalars() maps scale to λ for PLADIS and to w for GAG", () => {
  assert.deepEqual(guidanceScalars({ mode: "pladis", scale: 3.5 }).a, 3.5);
  assert.deepEqual(guidanceScalars({ mode: "gag", scale: 4, eta: Infinity, zeta: 0.5 }), {
    a: 1,
    b: 4,
    eta: Infinity,
    zeta: 0.5,
  });
});

Deno.test("guidanceScalars() lists the modes and rejects an unknown mode with the current value", () => {
  assert.deepEqual([...GUIDANCE_MODES], ["none", "pladis", "gag"]);
  assertThrowsWith(
    () => guidanceScalars({ mode: "cfg" as "gag" }),
    "Cannot set guidance as 'mode' must be one of none, pladis, gag: current value is cfg",
  );
});
