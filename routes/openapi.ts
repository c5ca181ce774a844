/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests.
 *
 * @module
 */
import { z } from "zod";
import { ERROR_STATUS } from "./errors.ts";
import { GENERATE_HEADERS } from "./response_headers.ts";
import type { Schemas } from "./schemas.ts";

const errorSchema = {
  type: "object",
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { enum: Object.keys(ERROR_STATUS) },
        message: { type: "string" },
        field: { type: "string" },
        issues: {
          type: "array",
          items: { type: "object", properties: { field: { type: "string" }, message: { type: "string" } } },
        },
      },
    },
  },
};

const err = (description: string) => ({
  description,
  content: { "application/json": { schema: errorSchema } },
});

/** Builds the OpenAPI document. */
export function openApiDocument(schemas: Schemas): Record<string, unknown> {
  const json = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" });
  return {
    openapi: "3.1.0",
    info: {
      title: "GAG image generation",
      version: "1.0.0",
      description: "Few-step diffusion with attention guidance; live previews over /ws.",
    },
    paths: {
      "/healthz": {
        get: {
          summary: "Readiness: 200 once models are loaded",
          responses: {
            200: { description: "ready" },
            [ERROR_STATUS.unavailable]: err("starting or draining"),
          },
        },
      },
      "/livez": { get: { summary: "Liveness", responses: { 200: { description: "alive" } } } },
      "/metrics": {
        get: {
          summary: "Prometheus metrics",
          responses: { 200: { description: "text/plain; version=0.0.4" } },
        },
      },
      "/api/models": {
        get: {
          summary: "Models, their sizes, steps and guidance ranges",
          responses: { 200: { description: "models" } },
        },
      },
      "/api/generate": {
        post: {
          summary: "Generate one image",
          requestBody: {
            required: true,
            content: { "application/json": { schema: json(schemas.Generate) } },
          },
          responses: {
            200: {
              description: "The image",
              headers: Object.fromEntries(
                Object.entries(GENERATE_HEADERS).map(([name, description]) => [
                  name,
                  { description, schema: { type: "string" } },
                ]),
              ),
              content: { "image/png": {}, "image/jpeg": {} },
            },
            [ERROR_STATUS.bad_request]: err("invalid request (names the field)"),
            [ERROR_STATUS.unauthorized]: err("missing or wrong bearer token"),
            [ERROR_STATUS.not_found]: err("unknown model"),
            [ERROR_STATUS.method_not_allowed]: err("not POST; see Allow"),
            [ERROR_STATUS.too_large]: err("body too large"),
            [ERROR_STATUS.unsupported_media_type]: err("the body is not declared as application/json"),
            [ERROR_STATUS.busy]: err("queue full; see Retry-After"),
            [ERROR_STATUS.internal]: err("the job failed on the server"),
            [ERROR_STATUS.unavailable]: err("starting or shutting down"),
          },
        },
      },
      "/ws": {
        get: {
          summary:
            "WebSocket: send generate/cancel messages (schema below), receive JSON events and binary image frames",
          requestBody: { content: { "application/json": { schema: json(schemas.WsMessage) } } },
          responses: {
            101: { description: "switching protocols" },
            [ERROR_STATUS.unauthorized]: err("unauthorized"),
            [ERROR_STATUS.forbidden]: err("origin not allowed"),
          },
        },
      },
    },
  };
}
