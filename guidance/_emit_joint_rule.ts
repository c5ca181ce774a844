import type { Emitter } from "./_emitter.ts";
import { emitEntmax15 } from "./_emit_entmax15.ts";
import {
  castToFloat,
  emitGuidanceTerm,
  floatOperands,
  type RuleTensors,
  swapLastTwo,
} from "./_emit_guidance_rule.ts";
import type { JointLayout, TokenSplit } from "./_joint.ts";
import { attr } from "./_onnx.ts";
import { rowScalars, type RuleScalars } from "./_row_scalars.ts";

/** An end index past any token count (Slice clamps it). */
const END = Number.MAX_SAFE_INTEGER;

/**
 * Emits the joint-attention rule of `jointGuidedAttention` for one site: for the image queries,
 * o' = o + m·(a·Δ + b·min(1, η/‖g‖)·g) over the text keys, where m is the softmax mass on the text
 * keys, o_d = softmax(S_T)V_T and o_s = entmax₁.₅(S_T)V_T; text queries keep o. The model's own o
 * and softmax(S) are reused; only the text-key block is recomputed. Token counts are read off the
 * concatenated operands at run time (Shape → Gather), so dynamic text and image lengths work.
 *
 * With a = b = 0 the added term is exactly 0 and the slices and Concat put o back together bit for
 * bit. A row whose text keys are all masked (−∞) would give NaN here; joint models do not mask.
 */
export function emitJointRule(
  e: Emitter,
  tensors: RuleTensors,
  layout: JointLayout,
  scalars: RuleScalars,
  steps: number,
): void {
  if (!tensors.probs) {
    throw new Error(`Cannot patch joint attention at ${tensors.output} as its form gives no softmax output`);
  }
  const { scores, value, dense, castBack, resultOptions, finish } = floatOperands(e, tensors);
  const probs = castToFloat(e, tensors.probs, tensors.types?.probs);
  const rows = rowScalars(e, scalars, dense, tensors.rank);

  e.scoped("Joint", () => {
    const count = (name: string, axis: number) =>
      e.op("Gather", [e.op("Shape", [name]), e.int64([axis])], { attributes: [attr.int("axis", 0)] });
    // [start, end) of the text or the image tokens of a split, as int64 [1] tensors.
    const range = (split: TokenSplit, part: "text" | "image") => {
      const bound = count(split.textFirst ? split.text : split.image, split.axis);
      return (part === "text") === split.textFirst ? [e.int64([0]), bound] : [bound, e.int64([END])];
    };
    const slice = (name: string, [start, end]: string[], axis: number) =>
      e.op("Slice", [name, start, end, e.int64([axis])]);
    const keys = range(layout.keys, "text");
    const queries = layout.queries;
    const imageRange = queries ? range(queries, "image") : undefined;
    const imageRows = (name: string) => (imageRange ? slice(name, imageRange, -2) : name);

    const textScores = slice(imageRows(scores), keys, -1);
    const textProbs = slice(imageRows(probs), keys, -1);
    const textValues = slice(value, keys, -2);
    const imageOut = imageRows(dense);
    let guided: string;
    const rank = tensors.rank;
    if (rank !== undefined && rank >= 2) {
      // Transposed, as the plain rule, so per-query values broadcast over a trailing axis of queries.
      const perm = [attr.ints("perm", swapLastTwo(rank))];
      const t = (name: string) => e.op("Transpose", [name], { attributes: perm });
      const scoresT = t(textScores);
      const valuesT = t(textValues);
      const mass = e.reduce("ReduceSum", t(textProbs), [-2]);
      const denseT = e.op("MatMul", [
        valuesT,
        e.op("Softmax", [scoresT], { attributes: [attr.int("axis", -2)] }),
      ]);
      const sparseT = e.op("MatMul", [valuesT, emitEntmax15(e, scoresT, steps, -2)], {
        name: "SparseOutput",
      });
      const term = emitGuidanceTerm(e, denseT, sparseT, rows, -2);
      guided = t(e.op("Add", [t(imageOut), e.op("Mul", [mass, term])]));
    } else {
      const mass = e.reduce("ReduceSum", textProbs, [-1]);
      const denseText = e.op("MatMul", [
        e.op("Softmax", [textScores], { attributes: [attr.int("axis", -1)] }),
        textValues,
      ]);
      const sparse = e.op("MatMul", [emitEntmax15(e, textScores, steps), textValues], {
        name: "SparseOutput",
      });
      const term = emitGuidanceTerm(e, denseText, sparse, rows);
      guided = e.op("Add", [imageOut, e.op("Mul", [mass, term])]);
    }
    let result = guided;
    if (queries) {
      const textOut = slice(dense, range(queries, "text"), -2);
      const parts = queries.textFirst ? [textOut, guided] : [guided, textOut];
      result = e.op("Concat", parts, { attributes: [attr.int("axis", -2)], ...resultOptions });
    } else if (!castBack) {
      result = e.op("Identity", [guided], resultOptions);
    }
    finish(result);
  });
}
