import { deepStrictEqual, equal, throws } from "@std/assert";
import { bestPoint, chooseGag, type DevPoint, etaCandidates, overGuidingFrom } from "../../tools/eval/mod.ts";

/** A dev point with a given adherence and mean FD. */
function point(mode: string, scale: number, adherence: number, meanFd = 10, eta = 1): DevPoint {
  const guidance = mode === "gag"
    ? { mode: "gag" as const, scale, eta, zeta: 0 }
    : { mode: "pladis" as const, scale };
  return { spec: { mode, guidance }, perSteps: [], adherence, meanFd };
}

Deno.test("bestPoint() takes the best adherence among points that pass the FD guard, the earlier on a tie", () => {
  const a = point("pladis", 1, 0.8), b = point("pladis", 2, 0.9, 50), c = point("pladis", 3, 0.8);
  equal(bestPoint([a, b, c], 20), a);
  equal(bestPoint([a, b, c], 60), b);
  throws(() => bestPoint([], 1), /sweep is empty/);
});

Deno.test("etaCandidates() rounds the p10, p50 and p90 of ‖g‖ to two significant digits", () => {
  deepStrictEqual(etaCandidates({ p10: 0.0734, p50: 0.3291, p90: 1.519, p99: 3, mean: 0.6 }), [
    0.073,
    0.33,
    1.5,
  ]);
});

Deno.test("chooseGag() keeps only η that stay near none at w = 10, then takes the best point", () => {
  const none = point("none", 0, 0.8);
  const points = [
    point("gag", 1, 0.86, 10, 0.1),
    point("gag", 10, 0.79, 10, 0.1), // within 3 points of none: η = 0.1 is stable
    point("gag", 1, 0.9, 10, 5),
    point("gag", 10, 0.5, 10, 5), // collapses: η = 5 is not stable, so its better w = 1 point is not taken
  ];
  const { chosen, stable } = chooseGag(points, none, 100);
  deepStrictEqual(stable, [0.1]);
  equal(chosen, points[0]);
  // With no stable η, the smallest η's best point.
  const unstable = chooseGag(
    [points[2], points[3], point("gag", 10, 0.4, 10, 0.1), point("gag", 1, 0.7, 10, 0.1)],
    none,
    100,
  );
  deepStrictEqual(unstable.stable, []);
  equal(unstable.chosen.spec.guidance?.eta, 0.1);
});

Deno.test("overGuidingFrom() names the scale from which every larger scale loses adherence against none", () => {
  const none = point("none", 0, 0.8);
  equal(overGuidingFrom([point("gag", 1, 0.82), point("gag", 5, 0.7), point("gag", 10, 0.5)], none), 5);
  equal(
    overGuidingFrom([point("gag", 1, 0.7), point("gag", 5, 0.8), point("gag", 10, 0.79)], none),
    undefined,
  );
});
