import assert from "@std/assert";
import { assertThrowsWith } from "./_assert.ts";
import { guidanceFeeds, guidanceScalars } from "../../guidance/mod.ts";
import { SELF_AND_CROSS_INPUTS } from "../fixtures/attention_models.ts";

const inputs = SELF_AND_CROSS_INPUTS;
const plain = (feeds: ReturnType<typeof guidanceFeeds>) =>
  Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, [...v.data, v.dims]]));

Deno.test("guidanceFeeds() fills every input, with a = b = 0 for kinds not given", () => {
  const feeds = guidanceFeeds(inputs, { cross: guidanceScalars({ mode: "gag", scale: 7, zeta: 0.5 }) });
  assert.deepEqual(plain(feeds), {
    guidance_a_cross: [1, [1, 1, 1, 1]],
    guidance_b_cross: [7, [1, 1, 1, 1]],
    guidance_a_self: [0, [1, 1, 1, 1]],
    guidance_b_self: [0, [1, 1, 1, 1]],
    guidance_eta: [15, [1, 1, 1, 1]],
    guidance_zeta: [0.5, [1, 1, 1, 1]],
  });
});

Deno.test("guidanceFeeds() only fills the inputs the patch added", () => {
  const feeds = guidanceFeeds(inputs.filter((n) => !n.endsWith("_self")), {
    self: guidanceScalars({ mode: "pladis" }),
  });
  assert.deepEqual(Object.keys(feeds).sort(), [
    "guidance_a_cross",
    "guidance_b_cross",
    "guidance_eta",
    "guidance_zeta",
  ]);
  assert.deepEqual(feeds.guidance_a_cross.data[0], 0);
});

Deno.test("guidanceFeeds() rejects kinds that disagree on the shared η and ζ", () => {
  assertThrowsWith(() =>
    guidanceFeeds(inputs, {
      cross: guidanceScalars({ mode: "gag", eta: 15 }),
      self: guidanceScalars({ mode: "gag", eta: 5 }),
    }), "Cannot build guidance feeds as eta and zeta are shared by all attention kinds");
});

Deno.test("guidanceFeeds() gives each row its own values, with unguided rows at a = b = 0", () => {
  const feeds = guidanceFeeds(inputs, [
    {},
    { cross: guidanceScalars({ mode: "gag", scale: 7, eta: 3, zeta: 0.5 }) },
    { cross: guidanceScalars({ mode: "pladis", scale: 2 }), self: guidanceScalars({ mode: "pladis" }) },
  ]);
  assert.deepEqual(plain(feeds), {
    guidance_a_cross: [0, 1, 2, [3, 1, 1, 1]],
    guidance_b_cross: [0, 7, 0, [3, 1, 1, 1]],
    guidance_a_self: [0, 0, 2, [3, 1, 1, 1]],
    guidance_b_self: [0, 0, 0, [3, 1, 1, 1]],
    guidance_eta: [15, 3, 15, [3, 1, 1, 1]],
    guidance_zeta: [0, 0.5, 0, [3, 1, 1, 1]],
  });
});
