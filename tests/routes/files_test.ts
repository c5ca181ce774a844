import { deepStrictEqual, equal, notEqual, ok } from "@std/assert";
import { cachedPatch, decodesAsPatchedOnnx, type Engine, guidancePatch } from "../../sampler/mod.ts";
import { filesRoutes } from "../../routes/files.ts";
import { createSchemas, JobQueue, parseConfig, type ServerState } from "../../routes/mod.ts";

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Runs `body` against the files routes over the committed models, with a private patch cache, as the
 * server mounts them; the cache is removed afterwards.
 */
async function withFilesApp(body: (app: ReturnType<typeof filesRoutes>) => Promise<void>): Promise<void> {
  const cacheDir = await Deno.makeTempDir({ prefix: "files-test-" });
  const config = parseConfig({ CACHE_DIR: cacheDir });
  const engine = { models: () => [{ id: "digits", kind: "flow" }] } as unknown as Engine;
  const state: ServerState = {
    config,
    engine,
    queue: new JobQueue(1, 1),
    schemas: createSchemas({ maxPromptChars: 10, maxImageSize: 64 }),
    sockets: new Set(),
    phase: "ready",
    startup: {},
    log: () => {},
  };
  try {
    const patch = cachedPatch(guidancePatch, `${cacheDir}/patched`, {
      version: "test",
      verify: decodesAsPatchedOnnx,
    });
    await body(filesRoutes(state, { patch }));
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
}

interface Runtime {
  sampler: string;
  ort: { wasmPaths: string; wasm: { url: string; bytes: number } };
  models: {
    id: string;
    files: Record<string, { url: string; bytes: number }>;
    patch: { inputs: string[] };
  }[];
}

Deno.test("GET /files/runtime.json names each file by a content-hashed URL served as immutable", () =>
  withFilesApp(async (app) => {
    const res = await app.request("/files/runtime.json");
    equal(res.status, 200);
    equal(res.headers.get("cache-control"), "no-cache");
    const etag = res.headers.get("etag")!;
    const runtime = await res.json() as Runtime;
    equal((await app.request("/files/runtime.json", { headers: { "if-none-match": etag } })).status, 304);

    const [digits] = runtime.models;
    equal(digits.id, "digits");
    deepStrictEqual(Object.keys(digits.files).sort(), [
      "denoiser.onnx",
      "manifest.json",
      "text_encoder.onnx",
      "tokenizer.json",
    ]);
    ok(digits.patch.inputs.includes("guidance_eta"), `Patch inputs: ${digits.patch.inputs}`);
    for (const [name, file] of Object.entries(digits.files)) {
      const got = await app.request(`/${file.url}`);
      equal(got.status, 200, name);
      equal(got.headers.get("cache-control"), "public, max-age=31536000, immutable");
      const bytes = new Uint8Array(await got.arrayBuffer());
      equal(bytes.length, file.bytes);
      ok((await sha256(bytes)).startsWith(file.url.split("/").at(-2)!), `${name} does not match its hash`);
    }
    // The denoiser is the guidance-patched graph, not the file in the model folder.
    const served = new Uint8Array(
      await (await app.request(`/${digits.files["denoiser.onnx"].url}`)).arrayBuffer(),
    );
    notEqual(await sha256(served), await sha256(await Deno.readFile("models/digits/denoiser.onnx")));
    ok(
      new TextDecoder().decode(served).includes("guidance_eta"),
      "The served denoiser has no guidance inputs",
    );

    const wrong = digits.files["manifest.json"].url.replace(/\/[0-9a-f]{16}\//, "/0000000000000000/");
    equal((await app.request(`/${wrong}`)).status, 404);
    equal((await app.request("/files/models/nope/0000000000000000/manifest.json")).status, 404);
  }));

Deno.test("GET /files/src/… serves the sampler's TypeScript as JavaScript a browser can import", () =>
  withFilesApp(async (app) => {
    const runtime = await (await app.request("/files/runtime.json")).json() as Runtime;
    const base = runtime.sampler.replace(/sampler\/browser\.ts$/, "");
    const res = await app.request(`/${base}sampler/schedules.ts`);
    equal(res.status, 200);
    equal(res.headers.get("content-type"), "text/javascript; charset=utf-8");
    equal(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
    const js = await res.text();
    ok(!/: number\b/.test(js), "Type annotations were left in");
    const mod = await import(`data:text/javascript,${encodeURIComponent(js)}`);
    equal(mod.flowTimes(2).length, 3);
    equal((await app.request(`/${base}sampler/nope.ts`)).status, 404);
    equal((await app.request(`/files/src/0000000000000000/sampler/schedules.ts`)).status, 404);
  }));

Deno.test("GET /files/npm/… serves the pinned browser builds from the npm cache and nothing else", () =>
  withFilesApp(async (app) => {
    const runtime = await (await app.request("/files/runtime.json")).json() as Runtime;
    const wasm = await app.request(`/${runtime.ort.wasm.url}`);
    equal(wasm.status, 200);
    equal(wasm.headers.get("content-type"), "application/wasm");
    equal((await wasm.arrayBuffer()).byteLength, runtime.ort.wasm.bytes);
    const zod = await app.request("/files/npm/zod@4.6.7/index.js");
    equal(zod.status, 200);
    equal(zod.headers.get("cache-control"), "public, max-age=31536000, immutable");
    await zod.body?.cancel();
    for (
      const path of [
        "/files/npm/zod@4.6.6/index.js",
        "/files/npm/hono@4.13.19/dist/index.js",
        "/files/npm/zod@4.6.7/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/files/npm/zod@4.6.7/package.json.map",
      ]
    ) {
      const res = await app.request(path);
      equal(res.status, 404, path);
      await res.body?.cancel();
    }
  }));

Deno.test("static/index.html maps the sampler's bare imports to the versions deno.json pins", async () => {
  const html = await Deno.readTextFile("static/index.html");
  const map = JSON.parse(html.match(/<script type="importmap">([\s\S]*?)<\/script>/)![1]).imports as Record<
    string,
    string
  >;
  const pins = JSON.parse(await Deno.readTextFile("deno.json")).imports as Record<string, string>;
  for (const [name, url] of Object.entries(map)) {
    const version = pins[name].slice(pins[name].lastIndexOf("@") + 1);
    ok(url.startsWith(`./files/npm/${name}@${version}/`), `${name} maps to ${url}, not version ${version}`);
  }
});
