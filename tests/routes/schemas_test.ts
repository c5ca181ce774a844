import { deepStrictEqual, equal } from "@std/assert";
import { createSchemas, describeIssues } from "../../routes/schemas.ts";

const schemas = createSchemas({ maxPromptChars: 10, maxImageSize: 64 });

function refusal(body: Record<string, unknown>) {
  const r = schemas.Generate.safeParse(body);
  if (r.success) throw new Error(`expected ${JSON.stringify(body)} to be refused`);
  return describeIssues(r.error, body);
}

Deno.test("describeIssues() words every refusal as the project does: what, why and the current value", () => {
  equal(
    refusal({ prompt: "a", steps: 0 }).message,
    "Cannot generate as 'steps' must be at least 1: current value is 0",
  );
  equal(
    refusal({ prompt: "a", steps: 1.5 }).message,
    "Cannot generate as 'steps' must be an integer: current value is 1.5",
  );
  equal(refusal({ prompt: 5 }).message, "Cannot generate as 'prompt' must be text: current value is 5");
  equal(refusal({}).message, "Cannot generate as 'prompt' must be text: current value is missing");
  equal(
    refusal({ prompt: "a", size: 65 }).message,
    "Cannot generate as 'size' must be at most 64: current value is 65",
  );
  equal(
    refusal({ prompt: "a".repeat(11) }).message,
    "Cannot generate as 'prompt' must be at most 10 characters long: current value is 'aaaaaaaaaaa'",
  );
  equal(
    refusal({ prompt: "a", guidance: { mode: "GAG" } }).message,
    "Cannot generate as 'guidance.mode' must be one of none, pladis, gag: current value is 'GAG'",
  );
  equal(
    refusal({ prompt: "a", colour: 1 }).message,
    "Cannot generate as the request has unknown fields: colour",
  );
});

Deno.test("describeIssues() names the first field at fault and lists every issue", () => {
  const r = refusal({ prompt: 1, steps: 0 });
  equal(r.field, "prompt");
  deepStrictEqual(r.issues.map((i) => i.field), ["prompt", "steps"]);
});
