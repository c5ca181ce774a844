/**
 * Seeded generators of bad HTTP bodies and WS messages, each with the error the server must answer.
 *
 * Every case breaks a valid request in exactly one way, so the expected answer is known: the tests
 * never guess whether a random input happens to be valid.
 *
 * @module
 */

import { mulberry32 } from "../../tools/eval/mod.ts";

type Rng = () => number;
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

/** Limits the server under test runs with. */
export interface FuzzLimits {
  maxBodyBytes: number;
  maxWsMessageBytes: number;
  maxPromptChars: number;
}

/** One bad input and the answer it must get. */
export interface BadCase {
  /** What was broken, for failure messages. */
  what: string;
  /** A JSON text, or raw bytes (invalid UTF-8, binary frames). */
  body: string | Uint8Array<ArrayBuffer>;
  status: 400 | 404 | 413;
  code: "bad_request" | "not_found" | "too_large";
  /** The field the error must name, where the break is in one field. */
  field?: string;
  /** For WS: the id the error must carry (null when the message has no usable id). */
  id?: string | null;
}

const PROMPTS = ["a seven", "", "a thick one", "ß ✓ 漢字 😀", "two\nlines", "<script>x</script>", "null"];

/** A valid generate request with a random subset of optional fields. */
function validRequest(r: Rng): Record<string, unknown> {
  const req: Record<string, unknown> = { prompt: pick(r, PROMPTS) };
  if (r() < 0.5) req.steps = int(r, 1, 8);
  if (r() < 0.5) req.seed = int(r, 0, 2 ** 31);
  if (r() < 0.3) req.cfg = 1 + int(r, 0, 9);
  if (r() < 0.3) req.format = pick(r, ["png", "jpeg"]);
  if (r() < 0.3) req.size = int(r, 8, 256);
  if (r() < 0.3) req.negativePrompt = pick(r, PROMPTS);
  if (r() < 0.4) {
    req.guidance = pick(r, [
      { mode: "none" },
      { mode: "pladis", scale: int(r, 0, 10) },
      { mode: "gag", scale: int(r, 0, 30), eta: int(r, 0, 100), zeta: r() },
      { mode: "gag", layers: "cross" },
    ]);
  }
  return req;
}

/** `[field path, bad values, status, code]`: one field set to a value the server must refuse. */
const BAD_FIELDS: [string, unknown[], 400 | 404][] = [
  ["prompt", [5, null, true, {}, [], -0, ["a"]], 400],
  ["negativePrompt", [5, null, false, {}, ["x"]], 400],
  ["steps", [0, -1, 9, 1.5, "4", null, 1e308, 1001, true, [], -1e308], 400],
  ["seed", [-1, 0.5, "1", 2 ** 53, 1e308, null, {}, -0.000001], 400],
  ["cfg", [0, 0.99, 11, 101, "2", null, -1e308, []], 400],
  ["format", ["gif", "PNG", 1, null, "", "image/png"], 400],
  ["size", [7, 0, -8, 5000, 1e9, 8.5, "64", null], 400],
  ["model", ["", 5, null, {}, "x".repeat(101)], 400],
  ["model", ["nope", "DIGITS", "digits2", "../digits", "digits/", "%00", "🙂"], 404],
  ["guidance", ["gag", 1, null, [], {}, true], 400],
  ["guidance.mode", ["bogus", "", 1, null, "GAG", ["gag"]], 400],
  ["guidance.layers", ["both", 1, null, ""], 400],
  ["apg", ["yes", 1, null, [], { r: 0 }, { r: -1 }, { eta: "x" }, { beta: null }, { gamma: 1 }], 400],
];

/** Mode-dependent ranges (checked by the engine against the manifest): `[mode, field, bad values]`. */
const BAD_GUIDANCE: [string, string, unknown[]][] = [
  ["gag", "scale", [31, -1, 1e6, "2", null]],
  ["pladis", "scale", [30.5, -0.1, 1e300]],
  ["gag", "eta", [101, -1, "5"]],
  ["gag", "zeta", [1.5, -0.1, true]],
  ["gag", "layers", ["self", "all"]],
];

const EXTRA_KEYS = [
  "colour",
  "extra",
  "Prompt",
  "constructor",
  "toString",
  "type",
  "id",
  "previews",
  "__proto__",
];
const NOT_OBJECTS = ["null", "1", "-1.5e3", "[]", '"prompt"', "true", "false", '[{"prompt":"x"}]', '""'];
/** Literals JSON has no numbers for, and ones that overflow to ±Infinity. */
const NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "0x10", "+1", ".5", "01", "undefined"];
const INVALID_UTF8 = [[0xff], [0xc3, 0x28], [0x80], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [
  0xf8,
  0x88,
  0x80,
  0x80,
]];

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const [head, tail] = path.split(".");
  if (tail === undefined) {
    obj[head] = value;
  } else {
    const inner = typeof obj[head] === "object" && obj[head] !== null ? obj[head] : { mode: "gag" };
    obj[head] = { ...(inner as object), [tail]: value };
  }
}

const bytes = (s: string) => new TextEncoder().encode(s);

/** Breaks a valid request object (as JSON text) in one random way; `wrap` adds the WS envelope. */
function breakRequest(
  r: Rng,
  limits: FuzzLimits,
  wrap: (req: Record<string, unknown>) => Record<string, unknown>,
  envelope: readonly string[] = [],
) {
  const req = validRequest(r);
  const kind = r();
  if (kind < 0.45) {
    const [path, values, status] = pick(r, BAD_FIELDS);
    const value = pick(r, values);
    const broken = { ...req };
    if (path.startsWith("guidance.")) broken.guidance = { mode: "gag" };
    setPath(broken, path, value);
    // An unknown model is found out after validation, so the rest of the request must be valid then.
    return {
      what: `${path} = ${JSON.stringify(value)}`,
      body: JSON.stringify(wrap(broken)),
      status,
      code: status === 404 ? "not_found" as const : "bad_request" as const,
      field: status === 404 ? "model" : path,
    };
  }
  if (kind < 0.6) {
    const [mode, key, values] = pick(r, BAD_GUIDANCE);
    const value = pick(r, values);
    const broken = { ...req, guidance: { mode, [key]: value } };
    return {
      what: `guidance ${mode}.${key} = ${JSON.stringify(value)}`,
      body: JSON.stringify(wrap(broken)),
      status: 400 as const,
      code: "bad_request" as const,
      field: `guidance.${key}`,
    };
  }
  if (kind < 0.68) {
    // A duplicate of an envelope key would be overridden by the real one that follows it.
    const key = pick(r, EXTRA_KEYS.filter((k) => !envelope.includes(k)));
    const text = JSON.stringify(wrap(req)).replace(
      /^\{/,
      `{${JSON.stringify(key)}:${JSON.stringify(int(r, 0, 9))},`,
    );
    return { what: `extra key ${key}`, body: text, status: 400 as const, code: "bad_request" as const };
  }
  if (kind < 0.74) {
    const broken = { ...req };
    delete broken.prompt;
    return {
      what: "missing prompt",
      body: JSON.stringify(wrap(broken)),
      status: 400 as const,
      code: "bad_request" as const,
      field: "prompt",
    };
  }
  if (kind < 0.8) {
    const field = pick(r, ["prompt", "negativePrompt"]);
    const ch = pick(r, ["x", "é", "漢"]);
    const broken = { ...req, [field]: ch.repeat(limits.maxPromptChars + int(r, 1, 40)) };
    return {
      what: `${field} over ${limits.maxPromptChars} chars`,
      body: JSON.stringify(wrap(broken)),
      status: 400 as const,
      code: "bad_request" as const,
      field,
    };
  }
  if (kind < 0.86) {
    const literal = pick(r, NON_FINITE);
    const key = pick(r, ["steps", "seed", "cfg", "size"]);
    const text = JSON.stringify(wrap({ ...req, [key]: 123456789 })).replace("123456789", literal);
    return { what: `${key} = ${literal}`, body: text, status: 400 as const, code: "bad_request" as const };
  }
  if (kind < 0.92) {
    const text = JSON.stringify(wrap(req));
    const cut = int(r, 0, text.length - 1);
    return {
      what: `JSON cut at ${cut}`,
      body: text.slice(0, cut),
      status: 400 as const,
      code: "bad_request" as const,
    };
  }
  // Invalid UTF-8 inside the prompt string.
  const text = JSON.stringify(wrap({ ...req, prompt: "ab" }));
  const at = text.indexOf('"ab"') + 2;
  const seq = pick(r, INVALID_UTF8);
  const out = new Uint8Array([...bytes(text.slice(0, at)), ...seq, ...bytes(text.slice(at))]);
  return { what: `invalid UTF-8 ${seq}`, body: out, status: 400 as const, code: "bad_request" as const };
}

/** Generates `n` bad HTTP bodies for `POST /api/generate`. */
export function badHttpBodies(n: number, seed: number, limits: FuzzLimits): BadCase[] {
  const r = mulberry32(seed);
  const cases: BadCase[] = [];
  while (cases.length < n) {
    const kind = r();
    if (kind < 0.82) {
      cases.push(breakRequest(r, limits, (req) => req));
    } else if (kind < 0.87) {
      cases.push({ what: "not an object", body: pick(r, NOT_OBJECTS), status: 400, code: "bad_request" });
    } else if (kind < 0.9) {
      const depth = int(r, 100, 5000);
      const body = r() < 0.5
        ? "[".repeat(depth) + "]".repeat(depth)
        : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
      const large = body.length > limits.maxBodyBytes;
      cases.push({
        what: `nested ${depth} deep`,
        body,
        status: large ? 413 : 400,
        code: large ? "too_large" : "bad_request",
      });
    } else if (kind < 0.94) {
      const garbage = Uint8Array.from({ length: int(r, 0, 200) }, () => int(r, 0, 255));
      // "{" first keeps random bytes from being a valid JSON number or literal by chance.
      cases.push({
        what: "random bytes",
        body: new Uint8Array([0x7b, ...garbage]),
        status: 400,
        code: "bad_request",
      });
    } else if (kind < 0.97) {
      cases.push({
        what: "empty body",
        body: pick(r, ["", " ", "\n", "{}"]),
        status: 400,
        code: "bad_request",
      });
    } else {
      const pad = limits.maxBodyBytes + int(r, 1, 4 * limits.maxBodyBytes);
      cases.push({
        what: `body of ${pad} bytes`,
        body: JSON.stringify({ prompt: "x".repeat(pad) }),
        status: 413,
        code: "too_large",
      });
    }
  }
  return cases;
}

/** The id the server echoes for a refused text message: a string `id` of parsed JSON, else null. */
function echoedId(text: string): string | null {
  try {
    const id = (JSON.parse(text) as { id?: unknown } | null)?.id;
    return typeof id === "string" ? id.slice(0, 64) : null;
  } catch {
    return null;
  }
}

/** Generates `n` bad WS messages (text or binary frames), each with the error event it must get. */
export function badWsMessages(n: number, seed: number, limits: FuzzLimits): BadCase[] {
  const r = mulberry32(seed);
  const cases: BadCase[] = [];
  let next = 0;
  while (cases.length < n) {
    const kind = r();
    const id = `f${next++}`;
    if (kind < 0.55) {
      cases.push(breakRequest(r, limits, (req) => ({ type: "generate", id, ...req }), ["type", "id"]));
    } else if (kind < 0.62) {
      const value = pick(r, [
        true,
        "yes",
        1,
        null,
        { every: 0 },
        { every: 1.5 },
        { format: "gif" },
        { size: 7 },
        {
          size: 1e9,
        },
        { extra: 1 },
        [],
      ]);
      cases.push({
        what: `previews = ${JSON.stringify(value)}`,
        body: JSON.stringify({ type: "generate", id, prompt: "x", previews: value }),
        status: 400,
        code: "bad_request",
        field: "previews",
        id,
      });
    } else if (kind < 0.68) {
      const type = pick(r, ["explode", "", "GENERATE", "Cancel", 1, null, [], undefined]);
      cases.push({
        what: `type = ${JSON.stringify(type)}`,
        body: JSON.stringify({ type, id, prompt: "x" }),
        status: 400,
        code: "bad_request",
        field: "type",
        id,
      });
    } else if (kind < 0.74) {
      const bad = pick(r, [undefined, "", "x".repeat(65), "é".repeat(33), 5, null, {}, ["a"]]);
      cases.push({
        what: `id = ${JSON.stringify(bad)?.slice(0, 20)}`,
        body: JSON.stringify({ type: pick(r, ["generate", "cancel"]), id: bad, prompt: "x" }),
        status: 400,
        code: "bad_request",
      });
    } else if (kind < 0.84) {
      const ghost = pick(r, [id, `${id}-${int(r, 0, 1e9)}`, "🙂", " ", "x".repeat(64)]);
      cases.push({
        what: "cancel of an unknown id",
        body: JSON.stringify({ type: "cancel", id: ghost }),
        status: 404,
        code: "not_found",
        field: "id",
        id: ghost,
      });
    } else if (kind < 0.87) {
      cases.push({
        what: "cancel with an extra field",
        body: JSON.stringify({ type: "cancel", id, prompt: "x" }),
        status: 400,
        code: "bad_request",
        id,
      });
    } else if (kind < 0.92) {
      const payload = r() < 0.5
        ? bytes(JSON.stringify({ type: "generate", id, prompt: "x" }))
        : Uint8Array.from({ length: int(r, 0, 300) }, () => int(r, 0, 255));
      cases.push({ what: "binary frame", body: payload, status: 400, code: "bad_request", id: null });
    } else if (kind < 0.95) {
      cases.push({
        what: "not an object",
        body: pick(r, NOT_OBJECTS),
        status: 400,
        code: "bad_request",
        id: null,
      });
    } else {
      // A message over the size limit closes its socket with 1009 (tests/routes/ws_limits_test.ts).
      cases.push({
        what: "not JSON",
        body: pick(r, ["", "{", "}", "generate", "{'type':'generate'}", "\u0000", "[1,]"]),
        status: 400,
        code: "bad_request",
        id: null,
      });
    }
  }
  // Bytes (invalid UTF-8 included, which a WebSocket client cannot put in a text frame) go as binary
  // frames, refused whatever they hold. The error carries the id of a readable message, cut to 64 chars,
  // or null.
  return cases.map((c) => {
    if (c.body instanceof Uint8Array) {
      return { ...c, status: 400, code: "bad_request", field: undefined, id: null };
    }
    if (c.code === "too_large") return { ...c, id: null };
    return { ...c, id: echoedId(c.body) };
  });
}
