/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests.
 *
 * @module
 */
import { z } from "zod";
import type { Schemas } from "./schemas.ts";

const errorSchema = {
  type: "object",
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: {
          enum: [
            "bad_request",
            "unauthorized",
            "forbidden",
            "not_found",
            "too_large",
            "busy",
            "internal",
            "unavailable",
          ],
        },
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
          responses: { 200: { description: "ready" }, 503: err("starting or draining") },
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
              description: "The image; headers X-Seed, X-Steps, X-Guidance-Mode, X-Elapsed-Ms, X-Model",
              content: { "image/png": {}, "image/jpeg": {} },
            },
            400: err("invalid request (names the field)"),
            401: err("missing or wrong bearer token"),
            404: err("unknown model"),
            413: err("body too large"),
            429: err("queue full; see Retry-After"),
            503: err("starting or shutting down"),
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
            401: err("unauthorized"),
            403: err("origin not allowed"),
          },
        },
      },
    },
  };
}
