/**
 * The web client's files, served from one folder. Odd paths (a NUL byte, a very long name, a file used as
 * a folder) are answered 404 and logged at debug level through the server's logger, never printed raw.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { serveStatic } from "hono/serve-static";
import { join } from "node:path";
import type { ServerState } from "./state.ts";

/** Request paths longer than this are not looked up on disk. */
const MAX_STATIC_PATH_CHARS = 1024;

/** Serves the files under `root` (relative to the cwd or absolute); what it cannot serve falls through. */
export function staticFiles(root: string, log: ServerState["log"]): MiddlewareHandler {
  const serve = serveStatic({
    root,
    join,
    isDir: async (path) => (await Deno.lstat(path).catch(() => null))?.isDirectory,
    getContent: async (path) => {
      try {
        return (await Deno.open(path)).readable;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) log("debug", `static: cannot read ${path}: ${e}`);
        return null;
      }
    },
  });
  return async (c, next) => {
    const path = c.req.path;
    if (path.length > MAX_STATIC_PATH_CHARS || /\0|%00/i.test(path)) {
      log(
        "debug",
        `static: refused a path of ${path.length} characters: ${JSON.stringify(path.slice(0, 80))}`,
      );
      return await next();
    }
    return await serve(c, next);
  };
}
