import { deepStrictEqual, equal } from "@std/assert";
import { fieldMessage, styleError, styleMessage } from "../../static/messages.js";
import { guidanceParams, overGuiding } from "../../static/settings.js";

Deno.test("styleMessage() rewrites zod's default messages in the project's wording with the current value", () => {
  const request = { steps: 0, prompt: "x".repeat(600), guidance: { mode: "gag", scale: "a" }, seed: 1.5 };
  /** Field, zod's message, the request (where the message shows a value), the project's wording. */
  const cases: [string, string, Record<string, unknown> | undefined, string][] = [
    [
      "steps",
      "Too small: expected number to be >=1",
      request,
      "Cannot generate as 'steps' must be at least 1: current value is 0",
    ],
    [
      "seed",
      "Invalid input: expected int, received number",
      request,
      "Cannot generate as 'seed' must be an integer: current value is 1.5",
    ],
    [
      "prompt",
      "Too big: expected string to have <=500 characters",
      request,
      "Cannot generate as 'prompt' must be at most 500 characters long: current value is 600 characters long",
    ],
    [
      "guidance.scale",
      "Invalid input: expected number, received string",
      request,
      "Cannot generate as 'guidance.scale' must be a number: current value is 'a'",
    ],
    [
      "guidance.mode",
      'Invalid option: expected one of "none"|"pladis"|"gag"',
      undefined,
      "Cannot generate as 'guidance.mode' must be one of none, pladis, gag",
    ],
    ["", 'Unrecognized key: "bogus"', undefined, "Cannot generate as the request has unknown fields: bogus"],
    ["apg.r", "Too small: expected number to be >0", undefined, "Cannot generate as 'apg.r' must be above 0"],
  ];
  for (const [field, message, values, expected] of cases) {
    equal(styleMessage(field, message, values), expected, `${field}: ${message}`);
  }
});

Deno.test("styleMessage() keeps messages already in the project's wording", () => {
  const message = "Cannot generate as 'steps' must be between 1 and 8: current value is 9";
  equal(styleMessage("steps", message, { steps: 9 }), message);
});

Deno.test("styleError() restyles a summed-up server message and each issue", () => {
  deepStrictEqual(
    styleError(
      {
        code: "bad_request",
        message: "Invalid request: 'cfg' Too small: expected number to be >=1",
        field: "cfg",
      },
      { cfg: 0 },
    ),
    { message: "Cannot generate as 'cfg' must be at least 1: current value is 0", field: "cfg", issues: [] },
  );
  const styled = styleError({
    code: "bad_request",
    message: "Invalid request: …",
    issues: [
      { field: "steps", message: "Too small: expected number to be >=1" },
      { field: "seed", message: "Too small: expected number to be >=0" },
    ],
  }, { steps: 0, seed: -1 });
  equal(styled.field, "steps");
  deepStrictEqual(styled.issues.map((i) => i.message), [
    "Cannot generate as 'steps' must be at least 1: current value is 0",
    "Cannot generate as 'seed' must be at least 0: current value is -1",
  ]);
});

Deno.test("fieldMessage() drops the field's name for the place beside that field", () => {
  equal(
    fieldMessage("Cannot generate as 'steps' must be at least 1: current value is 0", "steps"),
    "Must be at least 1: current value is 0",
  );
  equal(
    fieldMessage("Cannot generate yet as the model list has not loaded", "model"),
    "Cannot generate yet as the model list has not loaded",
  );
});

Deno.test("overGuiding() reads the server's over-guiding scale, else four times GAG's default", () => {
  const model = { guidance: { defaults: { gag: { scale: 0.5, eta: 15 }, pladis: { scale: 1.25 } } } };
  equal(overGuiding(model, "gag", "scale"), 2);
  equal(overGuiding(model, "gag", "eta"), undefined);
  equal(overGuiding(model, "pladis", "scale"), undefined);
  const listed = { guidance: { ...model.guidance, overGuiding: { gag: 3, pladis: 4 } } };
  equal(overGuiding(listed, "gag", "scale"), 3);
  equal(overGuiding(listed, "pladis", "scale"), 4);
  deepStrictEqual(guidanceParams(listed, "gag").map((p) => p.overFrom), [3, undefined]);
});
