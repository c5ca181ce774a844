/**
 * The real server for end-to-end tests: {@linkcode startServer} and {@linkcode runServerToExit} come from the
 * one launcher in `tools/server_launcher.ts` (a free port, `BACKEND=wasm`, a private cache folder removed on
 * close), plus the test options for steps that share one server.
 *
 * @module
 */

export {
  type Exit,
  type LaunchOptions as ServerOptions,
  runServerToExit,
  type Server,
  startServer,
} from "../tools/server_launcher.ts";

/**
 * Runs a test step against a shared server; sanitizers are off because the server's output pipes and
 * pooled HTTP connections outlive single steps by design.
 */
export function step(
  t: Deno.TestContext,
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
): Promise<boolean> {
  return t.step({ name, fn, sanitizeOps: false, sanitizeResources: false, sanitizeExit: false });
}

/** Options for a `Deno.test` that owns a server: its sanitizers are off for the same reason. */
export const E2E = { sanitizeOps: false, sanitizeResources: false } as const;
