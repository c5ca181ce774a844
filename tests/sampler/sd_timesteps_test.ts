import assert from "node:assert/strict";
import { sdTurboSchedule } from "../../sampler/mod.ts";

/**
 * diffusers' "trailing" spacing for 16 of 1000 steps: `np.round(np.arange(1000, 0, -62.5)) - 1`. The
 * half-way values (937.5, 812.5, …, 62.5) round to the even neighbour in numpy, so 812.5 gives 812, not
 * `Math.round`'s 813. Worked by hand from that rule.
 */
const SIXTEEN = [999, 937, 874, 811, 749, 687, 624, 561, 499, 437, 374, 311, 249, 187, 124, 61];

Deno.test("sdTurboSchedule() rounds trailing timesteps half to even as numpy does (16 steps)", () => {
  const { timesteps, sigmas } = sdTurboSchedule(16);
  assert.deepEqual(Array.from(timesteps), SIXTEEN);
  assert.equal(sigmas.length, 17);
  for (let i = 1; i < 16; i++) assert.ok(sigmas[i] < sigmas[i - 1], `σ falls at step ${i}`);
});
