/**
 * The server: reads config, loads the models, mounts the routes and serves `static/`.
 *
 * Run with `deno task serve`; configuration is read from the environment (see README).
 *
 * @module
 */

import { cachedPatch, createEngine, decodesAsPatchedOnnx, guidancePatch } from "./sampler/mod.ts";
import { createApp, createSchemas, JobQueue, parseConfig, type ServerState } from "./routes/mod.ts";
import { filesRoutes } from "./routes/files.ts";

/** Bumped when the patcher's output changes, so cached patched models are rebuilt. */
const PATCH_VERSION = "4";
const LEVELS = { debug: 0, info: 1, warn: 2, error: 3 } as const;

const started = performance.now();
const config = parseConfig(Deno.env.toObject());
const log: ServerState["log"] = (level, message) => {
  if (LEVELS[level] >= LEVELS[config.LOG_LEVEL]) {
    console.log(`${new Date().toISOString()} ${level} ${message}`);
  }
};

const state: ServerState = {
  config,
  engine: null,
  queue: new JobQueue(config.CONCURRENCY, config.QUEUE_SIZE),
  schemas: createSchemas({ maxPromptChars: config.MAX_PROMPT_CHARS, maxImageSize: config.MAX_IMAGE_SIZE }),
  sockets: new Set(),
  loadErrors: new Map(),
  phase: "starting",
  startup: { imports: Math.round(performance.now()) },
  log,
};

// One patch function for the engine and the page's files, so both get the same cached graph.
const patch = cachedPatch(guidancePatch, config.CACHE_DIR ? `${config.CACHE_DIR}/patched` : null, {
  version: PATCH_VERSION,
  verify: decodesAsPatchedOnnx,
  onOutcome: (path, outcome) => log("info", `patched-model cache ${outcome}: ${path}`),
});

const app = createApp(state, new URL("./static", import.meta.url).pathname);
app.route("/", filesRoutes(state, { patch }));
const server = Deno.serve({
  port: config.PORT,
  hostname: config.HOST,
  onListen: ({ hostname, port }) => console.log(`Listening on http://${hostname}:${port}/`),
}, app.fetch);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  state.phase = "draining";
  log("info", `${signal}: draining ${state.queue.running + state.queue.waiting} jobs`);
  const until = async (done: () => boolean, ms: number) => {
    for (const deadline = Date.now() + ms; !done() && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await until(() => !state.queue.running && !state.queue.waiting, config.SHUTDOWN_GRACE_MS);
  state.queue.cancelAll();
  // Cancelled jobs stop at their next step; waiting for that lets their clients hear `cancelled` first.
  await until(() => !state.queue.running, 2_000);
  for (const ws of state.sockets) ws.close(1001, "server shutting down");
  // `server.shutdown()` cuts sockets still closing (with its own reason): let the handshakes finish.
  await until(() => state.sockets.size === 0, 2_000);
  await server.shutdown();
  await state.engine?.close();
  Deno.exit(0);
};
for (const sig of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(sig, () => shutdown(sig));

// Signals are handled from the start: a SIGTERM while the models load exits 0 at once.
try {
  state.engine = await createEngine({
    modelsDir: config.MODELS_DIR,
    models: config.MODELS,
    backend: config.BACKEND,
    patch,
    log: (m) => log("info", m),
    lazy: config.LOAD_MODELS === "lazy",
    batching: { maxBatch: config.BATCH_MAX_ROWS, maxWaitMs: config.BATCH_MAX_WAIT_MS },
    worker: config.WASM_WORKER === "on",
  });
  Object.assign(state.startup, state.engine.stages);
  state.startup.models = Math.round(performance.now() - started);
  if (config.LOAD_MODELS === "eager") {
    // One tiny generation per model so the first user does not pay for kernel compilation.
    const t0 = performance.now();
    for (const m of state.engine.models()) {
      await state.engine.generate(state.engine.prepare({ model: m.id, prompt: "", steps: 1, seed: 0 }));
    }
    state.startup.warmup = Math.round(performance.now() - t0);
  }
  state.startup.total = Math.round(performance.now());
  if (!stopping) state.phase = "ready";
  log("info", `ready in ${state.startup.total} ms (${JSON.stringify(state.startup)})`);
} catch (e) {
  console.error((e as Error).message);
  await server.shutdown();
  Deno.exit(1);
}

if (config.IDLE_RELEASE_MS > 0) {
  // Scale-to-zero friendliness: idle instances give their session memory back; the next job reloads.
  setInterval(async () => {
    const engine = state.engine;
    if (engine?.loaded().length && state.queue.idleMs() > config.IDLE_RELEASE_MS) {
      await engine.release();
      log("info", `released idle models after ${config.IDLE_RELEASE_MS} ms without jobs`);
    }
  }, Math.min(config.IDLE_RELEASE_MS, 5000));
}
