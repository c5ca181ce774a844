/**
 * The app's edges through `app.request()`, over an engine stand-in: content types and methods, auth
 * schemes and where `?token=` counts, CORS headers, odd static paths, and a model that fails to load.
 */
import { deepStrictEqual, equal, match, ok } from "@std/assert";
import {
  createApp,
  createSchemas,
  ERROR_STATUS,
  EXPOSED_HEADERS,
  GENERATE_HEADERS,
  JobQueue,
  openApiDocument,
  parseConfig,
  type ServerState,
} from "../../routes/mod.ts";
import type { Engine } from "../../sampler/mod.ts";
import { heldEngine, PROMPT_ROOM } from "./_held_engine.ts";

const TOKEN = "s3cret-test-token";

interface Logged {
  level: string;
  message: string;
}

function appOver(engine: Engine, env: Record<string, string> = {}, staticRoot = "static") {
  const config = parseConfig(env);
  const logged: Logged[] = [];
  const state: ServerState = {
    config,
    engine,
    queue: new JobQueue(config.CONCURRENCY, config.QUEUE_SIZE),
    schemas: createSchemas({ maxPromptChars: config.MAX_PROMPT_CHARS, maxImageSize: config.MAX_IMAGE_SIZE }),
    sockets: new Set(),
    loadErrors: new Map(),
    phase: "ready",
    startup: {},
    log: (level, message) => void logged.push({ level, message }),
  };
  return { app: createApp(state, staticRoot), state, logged };
}

function released(options?: Parameters<typeof heldEngine>[0]): Engine {
  const held = heldEngine(options);
  held.releaseAll();
  return held.engine;
}

const post = (body: BodyInit, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body,
});

Deno.test("POST /api/generate refuses a body that is not declared as JSON with 415", async () => {
  const { app } = appOver(released());
  const body = JSON.stringify({ prompt: "x", steps: 1 });
  for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
    const res = await app.request("/api/generate", post(body, { "content-type": type }));
    equal(res.status, 415, type);
    const { error } = await res.json();
    equal(error.code, "unsupported_media_type");
    match(error.message, /Content-Type is not application\/json/);
  }
  const none = await app.request("/api/generate", { method: "POST", body: new Blob([body]) });
  equal(none.status, 415, "no Content-Type");
  await none.body?.cancel();
  for (const type of ["application/json; charset=utf-8", "Application/JSON"]) {
    const res = await app.request("/api/generate", post(body, { "content-type": type }));
    equal(res.status, 200, type);
    await res.body?.cancel();
  }
});

Deno.test("GET and other methods on /api/generate get 405 with Allow: POST", async () => {
  const { app } = appOver(released());
  for (const method of ["GET", "PUT", "DELETE"]) {
    const res = await app.request("/api/generate", { method });
    equal(res.status, 405, method);
    equal(res.headers.get("allow"), "POST");
    equal((await res.json()).error.code, "method_not_allowed");
  }
});

Deno.test("X-Unknown-Words encodes a lone surrogate as U+FFFD instead of failing the request", async () => {
  const { app } = appOver(released());
  const res = await app.request("/api/generate", post(JSON.stringify({ prompt: "seven \ud800", steps: 1 })));
  equal(res.status, 200);
  await res.body?.cancel();
  equal(decodeURIComponent(res.headers.get("x-unknown-words")!), "seven \ufffd");
});

Deno.test("the bearer scheme is read in any case", async () => {
  const { app } = appOver(released(), { AUTH_TOKEN: TOKEN });
  for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) {
    const res = await app.request("/api/models", { headers: { authorization: `${scheme} ${TOKEN}` } });
    equal(res.status, 200, scheme);
    await res.body?.cancel();
  }
  const wrong = await app.request("/api/models", { headers: { authorization: `bearer ${TOKEN}x` } });
  equal(wrong.status, 401);
  await wrong.body?.cancel();
  const basic = await app.request("/api/models", { headers: { authorization: `Basic ${TOKEN}` } });
  equal(basic.status, 401);
  await basic.body?.cancel();
});

Deno.test("?token= is accepted on /ws only, never on /api/* or /metrics", async () => {
  const { app } = appOver(released(), { AUTH_TOKEN: TOKEN });
  for (const path of ["/api/models", "/metrics"]) {
    const res = await app.request(`${path}?token=${TOKEN}`);
    equal(res.status, 401, path);
    match((await res.json()).error.message, /no bearer token/);
  }
  const ws = await app.request(`/ws?token=${TOKEN}`);
  ok(ws.status !== 401, `the token passes on /ws: ${ws.status}`);
  await ws.body?.cancel();
  const noToken = await app.request("/ws");
  equal(noToken.status, 401);
  await noToken.body?.cancel();
});

Deno.test("CORS exposes every header a generate response carries", async () => {
  const { app } = appOver(released(), { CORS_ORIGINS: "*" });
  const res = await app.request(
    "/api/generate",
    post(JSON.stringify({ prompt: "an odd word", steps: 1 }), { origin: "http://page.example" }),
  );
  equal(res.status, 200);
  await res.body?.cancel();
  equal(res.headers.get("access-control-allow-origin"), "*");
  const exposed = new Set(res.headers.get("access-control-expose-headers")!.split(",").map((h) => h.trim()));
  const carried = [...res.headers.keys()].filter((h) => h.startsWith("x-") || h === "server-timing");
  ok(carried.includes("x-unknown-words") && carried.includes("server-timing"), carried.join(" "));
  for (const h of carried) ok(exposed.has(h), `${h} is exposed: ${[...exposed].join(" ")}`);
  for (const h of [...Object.keys(GENERATE_HEADERS), "retry-after"]) ok(exposed.has(h), h);
  deepStrictEqual([...exposed].sort(), [...EXPOSED_HEADERS].sort());
});

Deno.test("odd static paths get 404 and are logged at debug level through the logger, never printed", async () => {
  const root = await Deno.makeTempDir({ prefix: "gag-static-" });
  await Deno.writeTextFile(`${root}/app.js`, "export {};");
  const { app, logged } = appOver(released(), {}, root);
  const printed: unknown[][] = [];
  const saved = { log: console.log, warn: console.warn, error: console.error, info: console.info };
  for (const k of Object.keys(saved) as (keyof typeof saved)[]) console[k] = (...a) => void printed.push(a);
  try {
    for (const path of ["/app.js/x", "/%00", "/a%00b.js", `/${"a".repeat(5000)}`, "/missing.js"]) {
      const res = await app.request(path);
      equal(res.status, 404, path.slice(0, 40));
      await res.body?.cancel();
    }
    const good = await app.request("/app.js");
    equal(good.status, 200);
    equal(await good.text(), "export {};");
  } finally {
    Object.assign(console, saved);
    await Deno.remove(root, { recursive: true });
  }
  deepStrictEqual(printed, []);
  ok(logged.length >= 3, JSON.stringify(logged));
  ok(logged.every((l) => l.level === "debug" && l.message.startsWith("static: ")), JSON.stringify(logged));
});

Deno.test("a model that fails to load gives 500 without server paths, and /healthz says so until it loads", async () => {
  let fail = true;
  const { app, state } = appOver(
    released({
      load: (model) =>
        fail
          ? Promise.reject(new Error(`Cannot read /srv/secret/models/${model}/denoiser.onnx: no such file`))
          : Promise.resolve(),
    }),
    { MODELS_DIR: "/srv/secret/models" },
  );
  const body = JSON.stringify({ prompt: "x", steps: 1 });
  const res = await app.request("/api/generate", post(body));
  equal(res.status, 500);
  const { error } = await res.json();
  equal(error.code, "internal");
  match(error.message, /fake\/denoiser\.onnx/);
  ok(!error.message.includes("/srv"), error.message);
  const health = await app.request("/healthz");
  equal(health.status, 503);
  const status = await health.json();
  equal(status.status, "failed");
  ok(status.failed.fake && !status.failed.fake.includes("/srv"), JSON.stringify(status));
  fail = false;
  const ok200 = await app.request("/api/generate", post(body));
  equal(ok200.status, 200);
  await ok200.body?.cancel();
  equal((await app.request("/healthz")).status, 200);
  equal(state.loadErrors?.size, 0);
});

Deno.test("the OpenAPI document lists every error code and every generate response header", () => {
  const config = parseConfig({});
  const doc = openApiDocument(
    createSchemas({ maxPromptChars: config.MAX_PROMPT_CHARS, maxImageSize: config.MAX_IMAGE_SIZE }),
  ) as {
    paths: Record<
      string,
      Record<string, { responses: Record<string, { content?: unknown; headers?: object }> }>
    >;
  };
  const generate = doc.paths["/api/generate"].post.responses;
  const errorSchema = JSON.stringify(generate[String(ERROR_STATUS.bad_request)]);
  for (const code of Object.keys(ERROR_STATUS)) ok(errorSchema.includes(`"${code}"`), code);
  deepStrictEqual(Object.keys(generate["200"].headers ?? {}).sort(), Object.keys(GENERATE_HEADERS).sort());
  for (const status of [ERROR_STATUS.unsupported_media_type, ERROR_STATUS.method_not_allowed]) {
    ok(generate[String(status)], `status ${status} is documented`);
  }
});

Deno.test("a request body that stops arriving gets 408 after BODY_TIMEOUT_MS", async () => {
  const { app } = appOver(released(), { BODY_TIMEOUT_MS: "100" });
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    start: (c) => c.enqueue(new TextEncoder().encode('{"prompt":')),
    cancel: () => void (cancelled = true),
  });
  const res = await app.request("/api/generate", { ...post(body), duplex: "half" } as RequestInit);
  equal(res.status, 408);
  const { error } = await res.json();
  equal(error.code, "timeout");
  match(error.message, /longer than 100 ms: 10 bytes arrived/);
  ok(cancelled, "the body stream is cancelled");
});

Deno.test("X-Prompt-Truncated is 1 when the model cut the prompt, and absent otherwise", async () => {
  const { app } = appOver(released());
  const long = await app.request(
    "/api/generate",
    post(JSON.stringify({ prompt: "x".repeat(PROMPT_ROOM + 1) })),
  );
  equal(long.status, 200);
  await long.body?.cancel();
  equal(long.headers.get("x-prompt-truncated"), "1");
  const short = await app.request("/api/generate", post(JSON.stringify({ prompt: "x" })));
  await short.body?.cancel();
  equal(short.headers.get("x-prompt-truncated"), null);
});
