/**
 * zod schemas of everything a client sends, built from the configured limits.
 *
 * @module
 */
import { z } from "zod";
import { GUIDANCE_MODES, LAYER_KINDS, MAX_SEED } from "../sampler/mod.ts";
import { MAX_ID_BYTES } from "./protocol.ts";

/** Limits the schemas enforce. */
export interface SchemaLimits {
  maxPromptChars: number;
  maxImageSize: number;
}

/** The schemas for one set of limits. */
export function createSchemas({ maxPromptChars, maxImageSize }: SchemaLimits) {
  const finite = z.number().refine(Number.isFinite, "must be a finite number");
  const Guidance = z.strictObject({
    mode: z.enum(GUIDANCE_MODES),
    scale: finite.optional(),
    eta: finite.optional(),
    zeta: finite.optional(),
    layers: z.enum(LAYER_KINDS).optional(),
  });
  const fields = {
    model: z.string().min(1).max(100).optional(),
    prompt: z.string().max(maxPromptChars),
    negativePrompt: z.string().max(maxPromptChars).optional(),
    steps: z.number().int().min(1).max(1000).optional(),
    seed: z.number().int().min(0).max(MAX_SEED).optional(),
    guidance: Guidance.optional(),
    cfg: finite.min(1).max(100).optional(),
    apg: z.strictObject({ eta: finite.optional(), r: finite.positive().optional(), beta: finite.optional() })
      .optional(),
    format: z.enum(["png", "jpeg"]).default("png"),
    size: z.number().int().min(8).max(maxImageSize).optional(),
  };
  const Generate = z.strictObject(fields);
  const Previews = z.strictObject({
    every: z.number().int().min(1).max(1000).default(1),
    format: z.enum(["png", "jpeg"]).default("png"),
    size: z.number().int().min(8).max(maxImageSize).optional(),
  });
  const Id = z.string().min(1).refine(
    (s) => s.isWellFormed(),
    "must be well-formed text: it holds a lone UTF-16 surrogate",
  ).refine(
    (s) => new TextEncoder().encode(s).length <= MAX_ID_BYTES,
    `must be at most ${MAX_ID_BYTES} bytes`,
  );
  const WsGenerate = z.strictObject({
    type: z.literal("generate"),
    id: Id,
    ...fields,
    previews: z.union([Previews, z.literal(false)]).default({ every: 1, format: "png" }),
  });
  const WsCancel = z.strictObject({ type: z.literal("cancel"), id: Id });
  const WsMessage = z.discriminatedUnion("type", [WsGenerate, WsCancel]);
  return { Generate, WsGenerate, WsCancel, WsMessage };
}

/** The schemas' types. */
export type Schemas = ReturnType<typeof createSchemas>;
/** A validated HTTP generate body. */
export type GenerateBody = z.infer<Schemas["Generate"]>;
/** A validated WS message. */
export type WsMessage = z.infer<Schemas["WsMessage"]>;

/** The field path of a zod issue, as clients see it (`guidance.scale`). */
export function issueField(issue: { path: PropertyKey[] }): string {
  return issue.path.map(String).join(".");
}

/** A value as a message shows it: strings quoted (their length when long), the rest as JSON. */
function show(value: unknown): string {
  if (typeof value === "string") return value.length > 40 ? `${value.length} characters long` : `'${value}'`;
  return JSON.stringify(value) ?? String(value);
}

/** The value at an issue's path in the request, or undefined. */
function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let v = input as Record<PropertyKey, unknown> | undefined;
  for (const key of path) v = v?.[key] as Record<PropertyKey, unknown> | undefined;
  return v;
}

/** What a zod issue asks for, in the project's words (`must be at least 1`); zod's own text otherwise. */
function issuePhrase(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "too_small":
    case "too_big": {
      const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
      const inclusive = issue.inclusive ?? true;
      const word = issue.code === "too_small"
        ? (inclusive ? "at least" : "above")
        : (inclusive ? "at most" : "below");
      const unit = issue.origin === "string"
        ? " characters long"
        : issue.origin === "array"
        ? " items long"
        : "";
      return `must be ${word} ${String(bound)}${unit}`;
    }
    case "invalid_type":
      if (issue.expected === "int") return "must be an integer";
      return `must be ${issue.expected === "string" ? "text" : /^[aeiou]/.test(issue.expected) ? "an" : "a"}${
        issue.expected === "string" ? "" : ` ${issue.expected}`
      }`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => String(v)).join(", ")}`;
    case "unrecognized_keys":
      return `has unknown fields: ${issue.keys.join(", ")}`;
    case "invalid_union":
      return "must be one of the documented forms";
    default:
      return issue.message;
  }
}

/**
 * Turns zod issues into `{field, message}` pairs and a one-line message (the issues joined by "; "), each
 * in the project's style: `Cannot generate as 'steps' must be at least 1: current value is 0`.
 *
 * @param input the request as received, to quote each field's current value
 */
export function describeIssues(
  error: z.ZodError,
  input?: unknown,
): { message: string; field?: string; issues: { field: string; message: string }[] } {
  const issues = error.issues.map((i) => {
    const field = issueField(i);
    const value = i.code === "unrecognized_keys" ? undefined : valueAt(input, i.path);
    const current = value === undefined
      ? (i.code === "invalid_type" ? ": current value is missing" : "")
      : `: current value is ${show(value)}`;
    const subject = field ? `'${field}'` : "the request";
    return { field, message: `Cannot generate as ${subject} ${issuePhrase(i)}${current}` };
  });
  const first = issues[0];
  return {
    message: issues.map((i) => i.message).join("; "),
    field: first?.field || undefined,
    issues,
  };
}
