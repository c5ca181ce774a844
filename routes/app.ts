/**
 * The whole HTTP app: middleware, route apps, static client, and one error handler.
 *
 * @module
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { apiRoutes } from "./api.ts";
import { bearerAuth } from "./auth.ts";
import { redactPaths } from "./errors.ts";
import { healthRoutes } from "./health.ts";
import { metricsRoutes } from "./metrics.ts";
import { EXPOSED_HEADERS } from "./response_headers.ts";
import type { ServerState } from "./state.ts";
import { staticFiles } from "./static_files.ts";
import { wsRoutes } from "./ws.ts";

/** Builds the app over shared state; `staticRoot` is the web client's folder (relative to the cwd or absolute). */
export function createApp(state: ServerState, staticRoot: string): Hono {
  const app = new Hono();
  const { config } = state;
  if (config.CORS_ORIGINS.length) {
    app.use(
      "/api/*",
      cors({
        origin: config.CORS_ORIGINS.includes("*") ? "*" : config.CORS_ORIGINS,
        exposeHeaders: [...EXPOSED_HEADERS],
      }),
    );
  }
  app.route("/", healthRoutes(state));
  app.use("/api/*", bearerAuth(config.AUTH_TOKEN));
  app.use("/ws", bearerAuth(config.AUTH_TOKEN, { allowQuery: true }));
  app.use("/metrics", bearerAuth(config.AUTH_TOKEN));
  app.route("/", apiRoutes(state));
  app.route("/", wsRoutes(state));
  app.route("/", metricsRoutes(state));
  app.use("/*", staticFiles(staticRoot, state.log));
  app.notFound((c) =>
    c.json({ error: { code: "not_found", message: `Cannot find ${c.req.method} ${c.req.path}` } }, 404)
  );
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    state.log("error", `${c.req.method} ${c.req.path} failed: ${err.stack ?? err}`);
    const message = redactPaths(err.message, [config.MODELS_DIR, config.CACHE_DIR]);
    return c.json({ error: { code: "internal", message: `Cannot finish the request: ${message}` } }, 500);
  });
  return app;
}
