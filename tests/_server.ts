/**
 * The real server for end-to-end tests: {@linkcode startServer} and {@linkcode runServerToExit} come from the
 * one launcher in `tools/server_launcher.ts` (a free port, `BACKEND=wasm`, a private cache folder removed on
 * close). Tests that start a server keep Deno's sanitizers on: closing the server releases its process,
 * pipes and folders.
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
