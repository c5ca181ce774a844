import { deepStrictEqual, equal } from "@std/assert";
import { fieldMessage, styleError } from "../../static/messages.js";
import { guidanceParams, overGuiding } from "../../static/settings.js";

Deno.test("styleError() joins the issues' messages and takes the first issue's field", () => {
  const styled = styleError({
    code: "bad_request",
    message: "Cannot generate as 'steps' must be at least 1: current value is 0; …",
    issues: [
      { field: "steps", message: "Cannot generate as 'steps' must be at least 1: current value is 0" },
      { field: "seed", message: "Cannot generate as 'seed' must be at least 0: current value is -1" },
    ],
  });
  equal(styled.field, "steps");
  equal(
    styled.message,
    "Cannot generate as 'steps' must be at least 1: current value is 0; " +
      "Cannot generate as 'seed' must be at least 0: current value is -1",
  );
  deepStrictEqual(styleError({ code: "busy" }), {
    message: "Cannot generate as the server answered busy",
    field: undefined,
    issues: [],
  });
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
