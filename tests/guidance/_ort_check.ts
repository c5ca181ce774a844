/**
 * Runs fixtures through an onnxruntime-web build (wasm or WebGPU) and compares them with the
 * TypeScript reference; shared by the per-provider test files.
 *
 * @module
 */
import assert from "@std/assert";
import type * as OrtWeb from "onnxruntime-web";
import {
  guidanceFeeds,
  type GuidanceOptions,
  type GuidanceScalars,
  guidanceScalars,
  patchAttention,
  type PatchOptions,
} from "../../guidance/mod.ts";
import {
  type AttentionFixture,
  type FixtureInputs,
  randomInputs,
  referenceForward,
} from "../fixtures/attention_models.ts";

/** The onnxruntime-web module (both entry points share the API). */
export type Ort = typeof OrtWeb;

/** One guidance setting per attention kind. */
export interface GuidanceCase {
  label: string;
  self?: GuidanceOptions;
  cross?: GuidanceOptions;
}

/** Modes and scales checked against the reference, ζ ∈ {0, 0.5, 1}, clipping active and not. */
export const GUIDANCE_CASES: readonly GuidanceCase[] = [
  { label: "none", cross: { mode: "none" }, self: { mode: "none" } },
  { label: "pladis λ=2", cross: { mode: "pladis" } },
  { label: "pladis λ=5 (self too)", cross: { mode: "pladis", scale: 5 }, self: { mode: "pladis", scale: 5 } },
  { label: "gag w=10 η=15 ζ=0", cross: { mode: "gag" } },
  {
    label: "gag w=5 ζ=0.5 (self too)",
    cross: { mode: "gag", scale: 5, zeta: 0.5 },
    self: { mode: "gag", scale: 5, zeta: 0.5 },
  },
  { label: "gag w=10 η=0.2 ζ=1 (clipped)", cross: { mode: "gag", eta: 0.2, zeta: 1 } },
  { label: "gag w=4 η=0.2 ζ=0.25 (clipped)", cross: { mode: "gag", scale: 4, eta: 0.2, zeta: 0.25 } },
  { label: "gag w=3 η=∞ ζ=1", cross: { mode: "gag", scale: 3, eta: Infinity, zeta: 1 } },
];

/** Largest |actual − expected| / max(1, |expected|). */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    max = Math.max(max, Number.isNaN(error) ? Infinity : error);
  }
  return max;
}

/** Largest |actual − expected|. */
export function maxAbsoluteError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    max = Math.max(max, Number.isNaN(error) ? Infinity : error);
  }
  return max;
}

/** Feeds of a fixture's model inputs. */
export function fixtureFeeds(
  ort: Ort,
  fixture: AttentionFixture,
  inputs: FixtureInputs,
): Record<string, OrtWeb.Tensor> {
  const c = fixture.config;
  return {
    x: new ort.Tensor("float32", inputs.x, [c.batch, c.tokens, c.channels]),
    [c.textInput]: new ort.Tensor("float32", inputs.text, [c.batch, c.textTokens, c.textChannels]),
    ...Object.fromEntries(
      c.extraInputs.map((name) => [name, new ort.Tensor("float32", Float32Array.of(0), [1])]),
    ),
  };
}

/** Feeds of the guidance inputs for one case. */
export function caseFeeds(
  ort: Ort,
  inputs: readonly string[],
  scalars: { self?: GuidanceScalars; cross?: GuidanceScalars; joint?: GuidanceScalars },
): Record<string, OrtWeb.Tensor> {
  return Object.fromEntries(
    Object.entries(guidanceFeeds(inputs, scalars)).map((
      [name, f],
    ) => [name, new ort.Tensor("float32", f.data, f.dims)]),
  );
}

/** The `y` output of one run. */
export async function runY(
  session: OrtWeb.InferenceSession,
  feeds: Record<string, OrtWeb.Tensor>,
): Promise<Float32Array> {
  const out = await session.run(feeds);
  return out.y.data as Float32Array;
}

/**
 * The attention kinds a fixture's sites are patched for, from the requested layers alone (never from the
 * patcher's own report, so a patcher that patched nothing fails the comparison).
 */
function expectedKinds({ layers = "cross" }: PatchOptions): ("self" | "cross")[] {
  if (layers === "all") return ["self", "cross"];
  if (layers === "self" || layers === "cross") return [layers];
  throw new Error(`Cannot check a fixture patched with layers '${String(layers)}': use all, self or cross`);
}

/** What {@linkcode checkFixture} measured. */
export interface FixtureCheck {
  /** Max |patched(none) − unpatched|, or undefined where the unpatched model does not run. */
  noneVersusOriginal?: number;
  /** Why the unpatched model did not run. */
  originalError?: string;
  /** Max relative error against the reference per case. */
  cases: { label: string; error: number }[];
}

/**
 * Patches a fixture, runs the unpatched and patched models on `providers` and compares mode none with
 * the unpatched outputs and every case with the TypeScript reference.
 */
export async function checkFixture(
  ort: Ort,
  fixture: AttentionFixture,
  {
    sessionOptions = {},
    patch = { layers: "all" },
    cases = GUIDANCE_CASES,
    seed = 7,
  }: {
    sessionOptions?: OrtWeb.InferenceSession.SessionOptions;
    patch?: PatchOptions;
    cases?: readonly GuidanceCase[];
    seed?: number;
  } = {},
): Promise<FixtureCheck> {
  const inputs = randomInputs(fixture.config, seed);
  const feeds = fixtureFeeds(ort, fixture, inputs);
  const { model, report } = patchAttention(fixture.model, patch);
  const expected = expectedKinds(patch);
  assert.deepEqual(
    report.patched.map((p) => p.node).sort(),
    fixture.sites.flatMap((site) => expected.map((kind) => site[kind])).sort(),
    `the patcher patches the fixture's ${expected.join(" and ")} sites`,
  );
  const patched = await ort.InferenceSession.create(model, sessionOptions);
  const result: FixtureCheck = { cases: [] };
  try {
    const none = await runY(patched, { ...feeds, ...caseFeeds(ort, report.inputs, {}) });
    try {
      const original = await ort.InferenceSession.create(fixture.model, sessionOptions);
      try {
        result.noneVersusOriginal = maxAbsoluteError(none, await runY(original, feeds));
      } finally {
        await original.release();
      }
    } catch (error) {
      result.originalError = String(error);
    }
    for (const c of cases) {
      const scalars = {
        self: c.self && guidanceScalars(c.self),
        cross: c.cross && guidanceScalars(c.cross),
      };
      if (scalars.self && scalars.cross && scalars.self.eta !== scalars.cross.eta) {
        throw new Error(
          `Cannot run case '${c.label}' as self and cross share one η input: current values are ` +
            `${scalars.self.eta} and ${scalars.cross.eta}`,
        );
      }
      const applied = {
        self: expected.includes("self") ? scalars.self : undefined,
        cross: expected.includes("cross") ? scalars.cross : undefined,
      };
      const y = await runY(patched, { ...feeds, ...caseFeeds(ort, report.inputs, applied) });
      result.cases.push({
        label: c.label,
        error: maxRelativeError(y, referenceForward(fixture, inputs, applied)),
      });
    }
  } finally {
    await patched.release();
  }
  return result;
}

/** Logs a fixture's worst errors (shown with `deno test` output). */
export function report(name: string, check: FixtureCheck): void {
  const worst = Math.max(...check.cases.map((c) => c.error));
  console.log(
    `  ${name}: none vs unpatched ${check.noneVersusOriginal?.toExponential(2)}, worst case ${
      worst.toExponential(2)
    }`,
  );
}

/** Mode none reproduces the unpatched model within `none`; every case is within `tolerance` of the reference. */
export function assertCheck(check: FixtureCheck, { none = 1e-6, tolerance = 1e-4 } = {}): void {
  assert.equal(check.originalError, undefined, `the unpatched model failed: ${check.originalError}`);
  assert.ok(
    check.noneVersusOriginal! <= none,
    `mode none differs from the unpatched model by ${check.noneVersusOriginal}`,
  );
  for (const c of check.cases) assert.ok(c.error <= tolerance, `${c.label}: relative error ${c.error}`);
}
