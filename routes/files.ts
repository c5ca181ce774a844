/**
 * The files a page needs to generate on the visitor's device: each flow model's manifest, tokenizer, text
 * encoder and guidance-patched denoiser (the same bytes the server runs, from the patch cache), the sampler's
 * own modules (`sampler/`, `guidance/`: TypeScript, served as JavaScript), and the browser builds of the
 * npm packages they import (onnxruntime-web, zod, @huggingface/tokenizers) from Deno's npm cache — no CDN.
 *
 * `GET /files/runtime.json` (revalidated by ETag) names every other file by a content-hashed or versioned
 * URL, which is served with `Cache-Control: immutable`, so a second visit downloads nothing.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { transform } from "sucrase";
import { fileSource, type PatchFn, readManifest } from "../sampler/mod.ts";
import type { ServerState } from "./state.ts";

/** Options of {@linkcode filesRoutes}. */
export interface FilesOptions {
  /** The engine's own patch function (with its cache), so the page gets the very graph the server runs. */
  patch: PatchFn;
  /** The project root holding `sampler/` and `guidance/` (default: this file's parent folder). */
  root?: string;
}

/** The npm packages a page imports, by the bare specifier the import map in `static/index.html` uses. */
const BROWSER_PACKAGES = ["onnxruntime-web", "zod", "@huggingface/tokenizers"] as const;

/** The folders whose TypeScript modules the page imports. */
const SOURCE_DIRS = ["sampler", "guidance"] as const;

const IMMUTABLE = "public, max-age=31536000, immutable";

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".ts": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json; charset=utf-8",
  ".onnx": "application/octet-stream",
};

/** One model file as the page fetches it. */
interface ServedFile {
  bytes: Uint8Array;
  hash: string;
}

/** A model's files for the page, and what its patch added. */
interface ServedModel {
  files: Map<string, ServedFile>;
  patch: { kinds: string[]; inputs: string[] };
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The folder of an npm package in Deno's npm cache, and its version, found from its resolved entry. */
function packageRoot(name: string): { dir: string; version: string } {
  const entry = fromFileUrl(import.meta.resolve(name));
  const marker = `/${name}/`;
  const at = entry.lastIndexOf(marker);
  if (at < 0) throw new Error(`Cannot find the folder of ${name} in ${entry}`);
  const version = entry.slice(at + marker.length).split("/")[0];
  return { dir: entry.slice(0, at + marker.length + version.length), version };
}

/** A memo of one async computation, retried after a failure. */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= make().catch((e) => {
      value = undefined;
      throw e;
    });
    return value;
  };
}

function immutable(c: Context, bytes: Uint8Array, type: string): Response {
  return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "content-type": type, "cache-control": IMMUTABLE });
}

/**
 * The routes under `/files/`; mount with `app.route("/", filesRoutes(state, { patch }))`.
 *
 * @example
 * ```ts
 * app.route("/", filesRoutes(state, { patch: cachedPatch(guidancePatch, null, { version: "1" }) }));
 * ```
 */
export function filesRoutes(state: ServerState, { patch, root }: FilesOptions): Hono {
  const app = new Hono();
  const projectRoot = root ?? dirname(dirname(fromFileUrl(import.meta.url)));
  const { config } = state;
  const packages = new Map(BROWSER_PACKAGES.map((name) => [name, packageRoot(name)]));

  const models = new Map<string, () => Promise<ServedModel>>();
  const servedModel = (id: string) => {
    let load = models.get(id);
    if (!load) {
      load = once(async () => {
        const source = fileSource(join(config.MODELS_DIR, id));
        const manifest = await readManifest(source);
        if (manifest.kind !== "flow") {
          throw new Error(`Cannot run ${id} in a page as it is a ${manifest.kind} model`);
        }
        const dn = manifest.denoiser;
        const patched = await patch(await source.readBytes(dn.file), {
          layers: manifest.guidance.layers,
          textInput: dn.inputs.text,
          path: source.path(dn.file),
        });
        const files = new Map<string, ServedFile>();
        const add = async (name: string, bytes: Uint8Array) =>
          files.set(name, { bytes, hash: await sha256(bytes) });
        await add("manifest.json", await source.readBytes("manifest.json"));
        await add(manifest.tokenizer.file, await source.readBytes(manifest.tokenizer.file));
        await add(manifest.textEncoder.file, await source.readBytes(manifest.textEncoder.file));
        await add(dn.file, patched.model);
        return { files, patch: { kinds: patched.kinds, inputs: patched.inputs } };
      });
      models.set(id, load);
    }
    return load();
  };

  const sources = once(async () => {
    const files = new Map<string, string>();
    for (const dir of SOURCE_DIRS) {
      for await (const e of Deno.readDir(join(projectRoot, dir))) {
        if (e.isFile && e.name.endsWith(".ts")) {
          files.set(`${dir}/${e.name}`, await Deno.readTextFile(join(projectRoot, dir, e.name)));
        }
      }
    }
    const names = [...files.keys()].sort();
    const hash = await sha256(new TextEncoder().encode(JSON.stringify(names.map((n) => [n, files.get(n)]))));
    return { files, hash: hash.slice(0, 16), js: new Map<string, Uint8Array>() };
  });

  app.get("/files/runtime.json", async (c) => {
    const engine = state.engine;
    if (!engine) {
      return c.json({ error: { code: "unavailable", message: "Cannot list files while starting" } }, 503);
    }
    const src = await sources();
    const ort = packages.get("onnxruntime-web")!;
    const ortBase = `files/npm/onnxruntime-web@${ort.version}/dist/`;
    const list = [];
    for (const info of engine.models()) {
      if (info.kind !== "flow") continue;
      const model = await servedModel(info.id);
      list.push({
        id: info.id,
        files: Object.fromEntries(
          [...model.files].map(([name, f]) => [name, {
            url: `files/models/${encodeURIComponent(info.id)}/${f.hash.slice(0, 16)}/${name}`,
            bytes: f.bytes.length,
          }]),
        ),
        patch: model.patch,
      });
    }
    const wasm = `${ortBase}ort-wasm-simd-threaded.wasm`;
    const body = {
      sampler: `files/src/${src.hash}/sampler/browser.ts`,
      ort: {
        wasmPaths: ortBase,
        wasm: { url: wasm, bytes: (await Deno.stat(join(ort.dir, "dist/ort-wasm-simd-threaded.wasm"))).size },
        webgpu: `${ortBase}ort.webgpu.min.mjs`,
      },
      models: list,
    };
    const text = JSON.stringify(body);
    const etag = `"${(await sha256(new TextEncoder().encode(text))).slice(0, 32)}"`;
    if (c.req.header("if-none-match") === etag) return c.body(null, 304, { etag });
    return c.body(text, 200, { "content-type": TYPES[".json"], etag, "cache-control": "no-cache" });
  });

  app.get("/files/models/:id/:hash/:file", async (c) => {
    const { id, hash, file } = c.req.param();
    if (!state.engine?.models().some((m) => m.id === id && m.kind === "flow")) return c.notFound();
    const f = (await servedModel(id)).files.get(file);
    if (!f || !f.hash.startsWith(hash) || hash.length < 16) return c.notFound();
    return immutable(c, f.bytes, TYPES[extname(file)] ?? "application/octet-stream");
  });

  app.get("/files/src/:hash/:dir/:file", async (c) => {
    const { hash, dir, file } = c.req.param();
    const src = await sources();
    const key = `${dir}/${file}`;
    const text = src.files.get(key);
    if (hash !== src.hash || text === undefined) return c.notFound();
    let js = src.js.get(key);
    if (!js) {
      js = new TextEncoder().encode(
        transform(text, { transforms: ["typescript"], filePath: key, disableESTransforms: true }).code,
      );
      src.js.set(key, js);
    }
    return immutable(c, js, TYPES[".ts"]);
  });

  app.get("/files/npm/*", async (c) => {
    const rest = decodeURIComponent(c.req.path.slice("/files/npm/".length));
    const match = rest.match(/^((?:@[^/@]+\/)?[^/@]+)@([^/]+)\/(.+)$/);
    const pkg = match ? packages.get(match[1] as typeof BROWSER_PACKAGES[number]) : undefined;
    if (!match || !pkg || pkg.version !== match[2]) return c.notFound();
    const path = normalize(match[3]);
    if (path.startsWith("..") || path.startsWith("/") || !(extname(path) in TYPES)) return c.notFound();
    const bytes = await Deno.readFile(join(pkg.dir, path)).catch(() => null);
    return bytes ? immutable(c, bytes, TYPES[extname(path)]) : c.notFound();
  });

  return app;
}
