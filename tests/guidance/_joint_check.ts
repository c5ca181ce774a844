/**
 * Runs MMDiT fixtures through an onnxruntime-web build (wasm or WebGPU) and compares them with the
 * TypeScript reference; shared by the per-provider test files.
 *
 * @module
 */
import assert from "@std/assert";
import type * as OrtWeb from "onnxruntime-web";
import { guidanceScalars, patchAttention } from "../../guidance/mod.ts";
import {
  type MmditFixture,
  type MmditInputs,
  randomMmditInputs,
  referenceMmdit,
} from "../fixtures/mmdit_models.ts";
import { caseFeeds, GUIDANCE_CASES, maxAbsoluteError, maxRelativeError, type Ort } from "./_ort_check.ts";

/** What {@linkcode checkMmdit} measured. */
export interface MmditCheck {
  /** Max |patched(none) − unpatched| over both outputs. */
  noneVersusOriginal: number;
  /**
   * Per guidance case (its cross settings, applied to the joint sites): the max relative error of both
   * outputs against the reference, and how far the image and text outputs moved from mode none.
   */
  cases: { label: string; error: number; imageChange: number; textChange: number }[];
}

function feedsOf(ort: Ort, fixture: MmditFixture, inputs: MmditInputs): Record<string, OrtWeb.Tensor> {
  const c = fixture.config;
  return {
    hidden_states: new ort.Tensor("float32", inputs.image, [c.batch, c.imageTokens, c.channels]),
    encoder_hidden_states: new ort.Tensor("float32", inputs.text, [c.batch, c.textTokens, c.textChannels]),
  };
}

async function run(session: OrtWeb.InferenceSession, feeds: Record<string, OrtWeb.Tensor>) {
  const out = await session.run(feeds);
  return { y: out.y.data as Float32Array, yText: out.y_text.data as Float32Array };
}

/** Patches an MMDiT fixture and checks mode none against the original and every case against the reference. */
export async function checkMmdit(
  ort: Ort,
  fixture: MmditFixture,
  { sessionOptions = {}, seed = 7 }: {
    sessionOptions?: OrtWeb.InferenceSession.SessionOptions;
    seed?: number;
  } = {},
): Promise<MmditCheck> {
  const inputs = randomMmditInputs(fixture.config, seed);
  const feeds = feedsOf(ort, fixture, inputs);
  const { model, report } = patchAttention(fixture.model);
  assert.deepEqual(
    report.patched.map((p) => [p.node, p.kind]),
    fixture.sites.map((node) => [node, "joint"]),
    "the patcher patches the fixture's joint sites",
  );
  const original = await ort.InferenceSession.create(fixture.model, sessionOptions);
  const patched = await ort.InferenceSession.create(model, sessionOptions);
  try {
    const expected = await run(original, feeds);
    const none = await run(patched, { ...feeds, ...caseFeeds(ort, report.inputs, {}) });
    const result: MmditCheck = {
      noneVersusOriginal: Math.max(
        maxAbsoluteError(none.y, expected.y),
        maxAbsoluteError(none.yText, expected.yText),
      ),
      cases: [],
    };
    for (const c of GUIDANCE_CASES) {
      // A case that leaves cross-attention alone leaves the joint sites alone too.
      const joint = guidanceScalars(c.cross ?? { mode: "none" });
      const got = await run(patched, { ...feeds, ...caseFeeds(ort, report.inputs, { joint }) });
      const want = referenceMmdit(fixture, inputs, joint);
      result.cases.push({
        label: c.label,
        error: Math.max(maxRelativeError(got.y, want.y), maxRelativeError(got.yText, want.yText)),
        imageChange: maxAbsoluteError(got.y, none.y),
        textChange: maxAbsoluteError(got.yText, none.yText),
      });
    }
    return result;
  } finally {
    await Promise.all([original.release(), patched.release()]);
  }
}

/** Logs and asserts one check: none reproduces the model, every case the reference, GAG moves the image. */
export function assertJoint(name: string, check: MmditCheck, { none = 1e-6, tolerance = 1e-4 } = {}): void {
  const worst = Math.max(...check.cases.map((c) => c.error));
  console.log(
    `  ${name}: none vs unpatched ${check.noneVersusOriginal.toExponential(2)}, worst case ${
      worst.toExponential(2)
    }`,
  );
  assert.ok(
    check.noneVersusOriginal <= none,
    `mode none differs from the unpatched model by ${check.noneVersusOriginal}`,
  );
  for (const c of check.cases) assert.ok(c.error <= tolerance, `${c.label}: relative error ${c.error}`);
  const gag = check.cases.find((c) => c.label.startsWith("gag w=10 η=15"))!;
  assert.ok(gag.imageChange > 1e-3, `GAG moved the image stream by ${gag.imageChange} only`);
}
