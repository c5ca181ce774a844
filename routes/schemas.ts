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

/** Turns zod issues into `{field, message}` pairs and a one-line message. */
export function describeIssues(
  error: z.ZodError,
): { message: string; field?: string; issues: { field: string; message: string }[] } {
  const issues = error.issues.map((i) => ({ field: issueField(i), message: i.message }));
  const first = issues[0];
  return {
    message: `Invalid request: ${
      issues.map((i) => (i.field ? `'${i.field}' ${i.message}` : i.message)).join("; ")
    }`,
    field: first?.field || undefined,
    issues,
  };
}
