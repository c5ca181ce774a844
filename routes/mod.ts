/**
 * The HTTP and WebSocket front door: config, validation, queue, auth, and the route apps.
 *
 * @module
 */
export * from "./api.ts";
export * from "./auth.ts";
export * from "./config.ts";
export * from "./errors.ts";
export * from "./health.ts";
export * from "./metrics.ts";
export * from "./protocol.ts";
export * from "./queue.ts";
export * from "./schemas.ts";
export * from "./state.ts";
export * from "./jobs.ts";
export * from "./openapi.ts";
export * from "./response_headers.ts";
export * from "./socket_session.ts";
export * from "./static_files.ts";
export * from "./ws_origin.ts";
export * from "./ws.ts";
export * from "./app.ts";
