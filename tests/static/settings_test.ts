import { deepStrictEqual, equal, ok } from "@std/assert";
import {
  APG_PARAMS,
  buildRequest,
  CFG_MODE_LABELS,
  cfgParam,
  describeGuidance,
  describeSettings,
  guidanceParams,
  makeJobId,
  MAX_SEED,
  parseNumber,
  pickModel,
  randomSeed,
  roundToStep,
  sliderStep,
} from "../../static/settings.js";
import { isValidId } from "../../static/protocol.js";

const MODEL = {
  id: "digits",
  default: true,
  width: 28,
  height: 28,
  defaultSteps: 4,
  maxSteps: 8,
  guidance: {
    modes: ["none", "pladis", "gag"],
    layers: ["cross"],
    defaults: { pladis: { scale: 2 }, gag: { scale: 10, eta: 15, zeta: 0 } },
    ranges: { pladis: { scale: [0, 10] }, gag: { scale: [0, 30], eta: [0, 100], zeta: [0, 1] } },
  },
  cfg: { default: 1, range: [1, 10] },
};

Deno.test("guidanceParams() gives one slider per parameter with the model's default and range", () => {
  deepStrictEqual(guidanceParams(MODEL, "gag"), [
    { name: "scale", label: "Scale", min: 0, max: 30, step: 0.1, value: 10, overFrom: 40 },
    { name: "eta", label: "Eta (η)", min: 0, max: 100, step: 1, value: 15 },
    { name: "zeta", label: "Zeta (ζ)", min: 0, max: 1, step: 0.01, value: 0 },
  ]);
  deepStrictEqual(guidanceParams(MODEL, "none"), []);
  deepStrictEqual(cfgParam(MODEL), { name: "cfg", label: "CFG scale", min: 1, max: 10, step: 0.1, value: 1 });
});

Deno.test("sliderStep() and roundToStep() give clean slider values", () => {
  equal(sliderStep(0, 1), 0.01);
  equal(sliderStep(1, 20), 0.1);
  equal(sliderStep(0, 1000), 10);
  equal(sliderStep(1, 10), 0.1);
  equal(sliderStep(0, 5), 0.1);
  equal(sliderStep(3, 3), 1);
  equal(roundToStep(0.1 + 0.2, 0.01), 0.3);
  equal(roundToStep(14.6, 1), 15);
});

Deno.test("buildRequest() sends guidance parameters only for a guided mode and leaves unset fields out", () => {
  deepStrictEqual(
    buildRequest({
      model: "digits",
      prompt: "a 3",
      steps: 4,
      seed: 7,
      guidance: { mode: "gag", scale: 10, eta: 15, zeta: undefined },
      cfg: 1,
    }),
    {
      model: "digits",
      prompt: "a 3",
      steps: 4,
      seed: 7,
      guidance: { mode: "gag", scale: 10, eta: 15 },
      cfg: 1,
    },
  );
  deepStrictEqual(
    buildRequest({
      model: "digits",
      prompt: "a 3",
      guidance: { mode: "none", scale: 3 },
      negativePrompt: "",
    }),
    { model: "digits", prompt: "a 3", guidance: { mode: "none" } },
  );
});

Deno.test("describeGuidance() and describeSettings() summarise a job in one line", () => {
  equal(
    describeGuidance({ guidance: { mode: "gag", scale: 1.5, eta: 0.5, zeta: 0.2 }, cfg: 1 }),
    "GAG scale 1.5 · η 0.5 · ζ 0.2",
  );
  equal(describeGuidance({ guidance: { mode: "none" }, cfg: 3 }), "None · CFG 3");
  equal(
    describeSettings({
      model: "digits",
      prompt: "a 3",
      steps: 4,
      seed: 9,
      guidance: { mode: "pladis", scale: 2 },
    }),
    "“a 3”, PLADIS scale 2, 4 steps, seed 9, digits",
  );
});

Deno.test("pickModel() prefers the saved model, then the server's default", () => {
  const models = [{ id: "x", default: false }, { id: "y", default: true }];
  equal(pickModel(models, "x").id, "x");
  equal(pickModel(models, "gone").id, "y");
  equal(pickModel([{ id: "z" }]).id, "z");
});

Deno.test("parseNumber() leaves an empty field unset and keeps what was typed otherwise", () => {
  equal(parseNumber(""), undefined);
  equal(parseNumber("  "), undefined);
  equal(parseNumber("9"), 9);
  ok(Number.isNaN(parseNumber("x")));
});

Deno.test("randomSeed() and makeJobId() give values the server accepts", () => {
  for (let i = 0; i < 100; i++) {
    const seed = randomSeed();
    ok(Number.isInteger(seed) && seed >= 0 && seed <= MAX_SEED, `seed ${seed}`);
  }
  const ids = new Set(Array.from({ length: 100 }, () => makeJobId("a")));
  equal(ids.size, 100);
  for (const id of ids) ok(isValidId(id), `id ${id}`);
});

Deno.test("buildRequest() sends apg only in APG mode, leaving an unset r out", () => {
  const base = { model: "digits", prompt: "a 3", guidance: { mode: "none" }, cfg: 3 };
  deepStrictEqual(buildRequest(base), { model: "digits", prompt: "a 3", guidance: { mode: "none" }, cfg: 3 });
  deepStrictEqual(buildRequest({ ...base, apg: { eta: 0.5, beta: -0.5, r: undefined } }), {
    model: "digits",
    prompt: "a 3",
    guidance: { mode: "none" },
    cfg: 3,
    apg: { eta: 0.5, beta: -0.5 },
  });
  deepStrictEqual(buildRequest({ ...base, apg: { eta: 0, beta: 0.2, r: 4 } }).apg, {
    eta: 0,
    beta: 0.2,
    r: 4,
  });
});

Deno.test("APG_PARAMS match the API's ranges and defaults, with r optional", () => {
  deepStrictEqual(
    APG_PARAMS.map((p) => [p.name, p.min, p.max, p.value, Boolean(p.optional)]),
    [["eta", 0, 1, 0, false], ["beta", -1, 1, -0.5, false], ["r", 0.1, 20, 5, true]],
  );
  deepStrictEqual(Object.keys(CFG_MODE_LABELS), ["cfg", "apg"]);
});

Deno.test("describeGuidance() names APG with its parameters when it replaces CFG, and r off when unset", () => {
  equal(
    describeGuidance({ guidance: { mode: "none" }, cfg: 3, apg: { eta: 0.5, beta: -0.5 } }),
    "None · APG 3 (η 0.5, β -0.5, r off)",
  );
  equal(
    describeGuidance({ guidance: { mode: "gag", scale: 10 }, cfg: 2, apg: { r: 4 } }),
    "GAG scale 10 · APG 2 (η 0, β -0.5, r 4)",
  );
  equal(describeGuidance({ guidance: { mode: "none" }, cfg: 1, apg: { eta: 1 } }), "None");
});
