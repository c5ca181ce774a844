/**
 * "none" at no cost: the rule of a site runs inside an ONNX `If`, so a call in which no row asks for
 * guidance runs the model's own attention and nothing else.
 *
 * @module
 */
import type { Emitter } from "./_emitter.ts";
import type { RuleTensors } from "./_emit_guidance_rule.ts";
import { attr, DataType, type GraphProto } from "./_onnx.ts";
import type { RuleScalars } from "./_row_scalars.ts";

/**
 * Emits a bool flag, true when any row has a ≠ 0 or b ≠ 0 (a NaN counts as guided): a Concat, a
 * ReduceSumSquare and a Cast, once per attention kind.
 */
export function emitActive(e: Emitter, { a, b }: RuleScalars): string {
  const both = e.op("Concat", [a, b], { attributes: [attr.int("axis", 0)] });
  const sum = e.reduce("ReduceSumSquare", both, [0, 1, 2, 3]);
  return e.op("Cast", [sum], { attributes: [attr.int("to", DataType.BOOL)], name: "Active" });
}

/**
 * Emits what `rule` emits for `tensors` into the then-branch of an `If` on `active`, whose else-branch
 * passes o_d through: the If takes the rule's output name. The branch reads the outer graph's tensors
 * and constants by name (outer scope), so nothing is copied.
 */
export function emitGuarded(
  e: Emitter,
  active: string,
  tensors: RuleTensors,
  rule: (tensors: RuleTensors) => void,
): void {
  const elemType = tensors.types?.dense ?? DataType.FLOAT;
  // Each branch is emitted as usual, then taken out of the outer graph's nodes into its subgraph.
  const branch = (output: string, body: () => void): GraphProto => {
    const start = e.nodes.length;
    body();
    const node = e.nodes.splice(start);
    return {
      name: e.unique(`${output}/graph`),
      node,
      output: [{ name: output, type: { tensorType: { elemType } } }],
    };
  };
  const guided = e.unique(`${tensors.output}_guided`);
  const then = branch(guided, () => rule({ ...tensors, output: guided }));
  const passed = e.unique(`${tensors.output}_unguided`);
  const otherwise = branch(passed, () => e.op("Identity", [tensors.dense], { outputs: [passed] }));
  e.op("If", [active], {
    name: "Guard",
    attributes: [attr.graph("then_branch", then), attr.graph("else_branch", otherwise)],
    outputs: [tensors.output],
  });
}
