/**
 * Pure helpers that turn the model list and the form's values into `generate` requests and back. No DOM
 * here, so the Deno tests can check them.
 *
 * @module
 */

/** Guidance modes, in the order the picker shows them, with their display names. */
export const GUIDANCE_LABELS = Object.freeze({ none: "None", pladis: "PLADIS", gag: "GAG" });

/** Display names of the guidance parameters. */
export const PARAM_LABELS = Object.freeze({ scale: "Scale", eta: "Eta (η)", zeta: "Zeta (ζ)" });

/** How the CFG scale is applied, in the order the picker shows them, with their display names. */
export const CFG_MODE_LABELS = Object.freeze({ cfg: "CFG", apg: "APG" });

/**
 * The sliders of adaptive projected guidance (APG, Sadat et al. 2024), with the API's ranges and
 * defaults: η weights the part of the guidance parallel to the prediction, β is the momentum of the
 * guidance over steps, and r caps its norm (optional: off by default, `value` is where it starts when
 * switched on; the API takes any r > 0).
 *
 * @type {readonly (ParamSpec & { optional?: boolean })[]}
 */
export const APG_PARAMS = Object.freeze([
  { name: "eta", label: "APG η (parallel)", min: 0, max: 1, step: 0.01, value: 0 },
  { name: "beta", label: "APG β (momentum)", min: -1, max: 1, step: 0.01, value: -0.5 },
  { name: "r", label: "APG r (norm limit)", min: 0.1, max: 20, step: 0.1, value: 5, optional: true },
]);

/** The API's APG defaults of the parameters that have one. */
const APG_DEFAULTS = Object.freeze(
  Object.fromEntries(APG_PARAMS.filter((p) => !p.optional).map((p) => [p.name, p.value])),
);

/** Largest seed the client picks: fits every integer type a server might parse it into. */
export const MAX_SEED = 2 ** 31 - 1;

/**
 * One slider the form shows for a guidance mode.
 *
 * @typedef {object} ParamSpec
 * @property {string} name the request field, e.g. `scale`
 * @property {string} label
 * @property {number} min
 * @property {number} max
 * @property {number} step
 * @property {number} value the model's default
 * @property {number} [overFrom] from this value on the mode over-guides (see {@linkcode overGuiding})
 */

/**
 * The settings of one job, as the form holds them and as history stores them.
 *
 * @typedef {object} Settings
 * @property {string} model
 * @property {string} prompt
 * @property {string} [negativePrompt]
 * @property {number} [steps]
 * @property {number} [seed]
 * @property {{ mode: string, scale?: number, eta?: number, zeta?: number }} guidance
 * @property {number} [cfg]
 * @property {{ eta?: number, r?: number, beta?: number }} [apg] present when APG replaces plain CFG
 *   (it does when `cfg` is above 1); an unset `r` is no norm limit
 */

/**
 * Picks a random seed in `[0, MAX_SEED]`.
 *
 * @returns {number}
 */
export function randomSeed() {
  const [n] = crypto.getRandomValues(new Uint32Array(1));
  return n % (MAX_SEED + 1);
}

/**
 * A slider step that gives about 30 to 300 positions over a range, as a power of ten.
 *
 * @param {number} min
 * @param {number} max
 * @returns {number}
 * @example
 * ```js
 * sliderStep(0, 1); // 0.01
 * sliderStep(1, 20); // 0.1
 * ```
 */
export function sliderStep(min, max) {
  const span = max - min;
  if (!(span > 0)) return 1;
  return 10 ** Math.round(Math.log10(span / 100));
}

/**
 * Rounds a slider value to its step, dropping floating-point noise such as `0.30000000000000004`.
 *
 * @param {number} value
 * @param {number} step
 * @returns {number}
 */
export function roundToStep(value, step) {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return Number((Math.round(value / step) * step).toFixed(decimals));
}

/**
 * The sliders a guidance mode needs, with the model's defaults and ranges.
 *
 * @param {any} model an entry of `GET /api/models`
 * @param {string} mode `none`, `pladis` or `gag`
 * @returns {ParamSpec[]}
 */
export function guidanceParams(model, mode) {
  const defaults = model?.guidance?.defaults?.[mode] ?? {};
  const ranges = model?.guidance?.ranges?.[mode] ?? {};
  const names = [...new Set([...Object.keys(ranges), ...Object.keys(defaults)])];
  return names.map((name) => {
    const [min, max] = ranges[name] ?? [0, Math.max(1, 2 * (defaults[name] ?? 0))];
    const step = sliderStep(min, max);
    const value = defaults[name] ?? min;
    const overFrom = overGuiding(model, mode, name);
    return {
      name,
      label: PARAM_LABELS[name] ?? name,
      min,
      max,
      step,
      value,
      ...(overFrom ? { overFrom } : {}),
    };
  });
}

/** Without the server's word, GAG's scale over-guides from this many times the model's default. */
const OVER_GUIDING_FACTOR = 4;

/**
 * From which value a guidance scale over-guides, from the model's data: `guidance.overGuiding[mode]` when
 * the server lists it (the scale from which the eval measured adherence clearly below no guidance), else for
 * GAG {@linkcode OVER_GUIDING_FACTOR} times the model's default. Undefined when nothing says.
 *
 * @param {any} model an entry of `GET /api/models`
 * @param {string} mode
 * @param {string} name the parameter; only `scale` over-guides
 * @returns {number | undefined}
 * @example
 * ```js
 * overGuiding({ guidance: { defaults: { gag: { scale: 0.5 } } } }, "gag", "scale"); // 2
 * overGuiding({ guidance: { overGuiding: { gag: 3 } } }, "gag", "scale"); // 3
 * ```
 */
export function overGuiding(model, mode, name) {
  if (name !== "scale") return undefined;
  const listed = model?.guidance?.overGuiding?.[mode];
  if (Number.isFinite(listed)) return listed;
  const fallback = model?.guidance?.defaults?.[mode]?.scale;
  return mode === "gag" && fallback > 0 ? fallback * OVER_GUIDING_FACTOR : undefined;
}

/**
 * The CFG slider of a model.
 *
 * @param {any} model an entry of `GET /api/models`
 * @returns {ParamSpec}
 */
export function cfgParam(model) {
  const [min, max] = model?.cfg?.range ?? [1, 10];
  return {
    name: "cfg",
    label: "CFG scale",
    min,
    max,
    step: sliderStep(min, max),
    value: model?.cfg?.default ?? 1,
  };
}

/**
 * The model a page should start with: the one saved last time if it still exists, else the server's default.
 *
 * @param {any[]} models
 * @param {string} [saved]
 * @returns {any}
 */
export function pickModel(models, saved) {
  return models.find((m) => m.id === saved) ?? models.find((m) => m.default) ?? models[0];
}

/**
 * Reads a number field: `undefined` when it is empty, so the server applies its default.
 *
 * @param {string} text
 * @returns {number | undefined}
 */
export function parseNumber(text) {
  const trimmed = String(text ?? "").trim();
  return trimmed === "" ? undefined : Number(trimmed);
}

/**
 * The fields of a `generate` message (or `POST /api/generate` body) for some settings; unset fields are
 * left out so the server's defaults apply.
 *
 * @param {Settings} settings
 * @returns {Record<string, unknown>}
 */
export function buildRequest(settings) {
  /** @type {Record<string, unknown>} */
  const out = { model: settings.model, prompt: settings.prompt };
  if (settings.negativePrompt) out.negativePrompt = settings.negativePrompt;
  if (settings.steps !== undefined) out.steps = settings.steps;
  if (settings.seed !== undefined) out.seed = settings.seed;
  const { mode = "none", ...params } = settings.guidance ?? {};
  /** @type {Record<string, unknown>} */
  const guidance = { mode };
  if (mode !== "none") {
    for (const [name, value] of Object.entries(params)) if (value !== undefined) guidance[name] = value;
  }
  out.guidance = guidance;
  if (settings.cfg !== undefined) out.cfg = settings.cfg;
  if (settings.apg) {
    out.apg = Object.fromEntries(Object.entries(settings.apg).filter(([, v]) => v !== undefined));
  }
  return out;
}

/**
 * A short line that tells two jobs apart: the guidance mode and its parameters, and CFG when it is used.
 *
 * @param {Pick<Settings, "guidance" | "cfg" | "apg">} settings
 * @returns {string}
 * @example
 * ```js
 * describeGuidance({ guidance: { mode: "gag", scale: 1.5, eta: 0.5, zeta: 0.2 }, cfg: 1 });
 * // "GAG scale 1.5 · η 0.5 · ζ 0.2"
 * describeGuidance({ guidance: { mode: "none" }, cfg: 3, apg: { eta: 0, beta: -0.5 } });
 * // "None · APG 3 (η 0, β -0.5, r off)"
 * ```
 */
export function describeGuidance(settings) {
  const { mode = "none", ...params } = settings.guidance ?? {};
  const symbols = { scale: "scale", eta: "η", zeta: "ζ" };
  const parts = [GUIDANCE_LABELS[mode] ?? mode];
  if (mode !== "none") {
    const values = Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) =>
      `${symbols[k] ?? k} ${v}`
    );
    if (values.length) parts[0] += ` ${values.shift()}`;
    parts.push(...values);
  }
  if (settings.cfg !== undefined && settings.cfg !== 1) {
    const apg = settings.apg;
    parts.push(
      apg
        ? `APG ${settings.cfg} (η ${apg.eta ?? APG_DEFAULTS.eta}, β ${apg.beta ?? APG_DEFAULTS.beta}, r ${
          apg.r ?? "off"
        })`
        : `CFG ${settings.cfg}`,
    );
  }
  return parts.join(" · ");
}

/**
 * A one-line summary of everything a job used, for history tooltips and screen readers.
 *
 * @param {Settings} settings
 * @returns {string}
 */
export function describeSettings(settings) {
  const parts = [`“${settings.prompt}”`, describeGuidance(settings)];
  if (settings.steps !== undefined) parts.push(`${settings.steps} steps`);
  if (settings.seed !== undefined) parts.push(`seed ${settings.seed}`);
  if (settings.model) parts.push(settings.model);
  return parts.join(", ");
}

let _jobCounter = 0;

/**
 * A fresh request id: short, ASCII and unique within the page (`crypto.randomUUID` needs a secure
 * context, which a phone on the LAN does not have).
 *
 * @param {string} [prefix]
 * @returns {string}
 */
export function makeJobId(prefix = "job") {
  _jobCounter += 1;
  const [r] = crypto.getRandomValues(new Uint32Array(1));
  return `${prefix}-${Date.now().toString(36)}-${_jobCounter}-${r.toString(36)}`;
}
