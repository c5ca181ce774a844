/**
 * Runs jobs on this device: downloads onnxruntime-web and a model's files once (with progress), starts the
 * sampler modules the server itself runs (`sampler/browser.ts`, served as JavaScript by `routes/files.ts`),
 * and reports each job with the same events and frames as the server's socket, so the rest of the page
 * cannot tell the two apart. Images are RGBA pixels drawn straight onto a canvas.
 *
 * @module
 */

/**
 * What `GET /files/runtime.json` lists.
 *
 * @typedef {object} RuntimeFiles
 * @property {string} sampler URL of `sampler/browser.ts`
 * @property {{ wasmPaths: string, wasm: { url: string, bytes: number }, webgpu: string }} ort
 * @property {{ id: string, files: Record<string, { url: string, bytes: number }>,
 *   patch: { kinds: string[], inputs: string[] } }[]} models
 */

/** Why local generation cannot run; the page then falls back to the server. */
class LocalUnavailableError extends Error {
  name = "LocalUnavailableError";
}

/**
 * Reads a response's body, reporting bytes as they arrive.
 *
 * @param {Response} response
 * @param {(bytes: number) => void} onBytes called with each chunk's length
 * @returns {Promise<Uint8Array>}
 */
async function _readAll(response, onBytes) {
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const chunks = [];
  let length = 0;
  for await (
    const chunk of /** @type {AsyncIterable<Uint8Array>} */ (/** @type {unknown} */ (response.body))
  ) {
    chunks.push(chunk);
    length += chunk.length;
    onBytes(chunk.length);
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Encodes RGBA pixels as a PNG (lossless: decoding it gives the same pixels back).
 *
 * @param {{ width: number, height: number, data: Uint8ClampedArray }} rgba
 * @returns {Promise<Uint8Array>}
 */
async function _encodePng({ width, height, data }) {
  const canvas = new OffscreenCanvas(width, height);
  const ctx = /** @type {OffscreenCanvasRenderingContext2D} */ (canvas.getContext("2d"));
  ctx.putImageData(new ImageData(new Uint8ClampedArray(data), width, height), 0, 0);
  return new Uint8Array(await (await canvas.convertToBlob({ type: "image/png" })).arrayBuffer());
}

/** Jobs on this device, one at a time, reported as `generate` jobs over `/ws` would be. */
export class LocalRunner {
  /**
   * @param {{
   *   base: string | URL,
   *   onEvent: (event: any) => void,
   *   onFrame: (frame: any) => void,
   *   onProgress: (loaded: number, total: number, what: string) => void,
   *   onUnavailable: (job: import("./panel.js").Job, error: Error) => void,
   * }} options `base` is the page's URL; `onProgress` reports downloads (`loaded === total` when done);
   *   `onUnavailable` gets a job this device could not run
   */
  constructor({ base, onEvent, onFrame, onProgress, onUnavailable }) {
    this.base = new URL(base);
    this.onEvent = onEvent;
    this.onFrame = onFrame;
    this.onProgress = onProgress;
    this.onUnavailable = onUnavailable;
    /** The backend that runs here once started: `wasm` or `webgpu`. */
    this.backend = "";
    /** @type {Promise<{ engine: any, files: RuntimeFiles }> | null} */
    this._boot = null;
    /** @type {Promise<RuntimeFiles> | null} */
    this._files = null;
    /** @type {Map<string, Promise<void>>} */
    this._models = new Map();
    /** @type {Map<string, Uint8Array>} files already downloaded, by URL */
    this._bytes = new Map();
    /** @type {Map<string, AbortController>} */
    this._aborts = new Map();
    /** @type {Promise<void>} */
    this._chain = Promise.resolve();
    /** Set once WebGPU failed here: wasm is tried before giving up on this device. */
    this._wasmOnly = false;
  }

  /** @param {string} path @returns {string} */
  _url(path) {
    return new URL(path, this.base).href;
  }

  /**
   * Downloads files into memory with one progress total.
   *
   * @param {{ url: string, bytes: number }[]} list
   * @param {string} what what is downloading, for the progress text
   */
  async _download(list, what) {
    const todo = list.filter((f) => !this._bytes.has(this._url(f.url)));
    const total = todo.reduce((n, f) => n + f.bytes, 0);
    let loaded = 0;
    this.onProgress(0, total, what);
    await Promise.all(todo.map(async (f) => {
      const url = this._url(f.url);
      const response = await fetch(url);
      if (!response.ok) throw new Error(`Cannot download ${url} as the server answered ${response.status}`);
      this._bytes.set(url, await _readAll(response, (n) => this.onProgress(loaded += n, total, what)));
    }));
    this.onProgress(total, total, what);
  }

  /** @returns {Promise<RuntimeFiles>} what the server offers for this device, fetched once */
  runtimeFiles() {
    if (!this._files) {
      this._files = (async () => {
        const response = await fetch(this._url("files/runtime.json"));
        if (!response.ok) {
          throw new Error(`Cannot list the runtime's files as the server answered ${response.status}`);
        }
        return /** @type {RuntimeFiles} */ (await response.json());
      })();
      // A failed listing is fetched again next time.
      this._files.catch(() => {
        this._files = null;
      });
    }
    return this._files;
  }

  /**
   * Bytes the first image of model `id` downloads on the wasm runtime: its wasm build and the model's files.
   *
   * @param {string} id
   */
  async downloadBytes(id) {
    const files = await this.runtimeFiles();
    const model = files.models.find((m) => m.id === id);
    return files.ort.wasm.bytes + Object.values(model?.files ?? {}).reduce((n, f) => n + f.bytes, 0);
  }

  /** Starts onnxruntime-web and the sampler once: wasm, or WebGPU where the browser has an adapter. */
  boot() {
    this._boot ??= (async () => {
      const files = await this.runtimeFiles();
      const gpu = /** @type {any} */ (navigator).gpu;
      const adapter = gpu && !this._wasmOnly ? await gpu.requestAdapter().catch(() => null) : null;
      this.backend = adapter ? "webgpu" : "wasm";
      const ort = adapter ? await import(this._url(files.ort.webgpu)) : await import("onnxruntime-web");
      ort.env.logLevel = "error";
      ort.env.wasm.wasmPaths = this._url(files.ort.wasmPaths);
      ort.env.wasm.numThreads = 1;
      if (!adapter) {
        await this._download([files.ort.wasm], "the runtime");
        ort.env.wasm.wasmBinary = this._bytes.get(this._url(files.ort.wasm.url));
      }
      const sampler = await import(this._url(files.sampler));
      const served = new Map(files.models.map((m) => [m.id, m]));
      const engine = await sampler.startEngine({
        models: files.models.map((m) =>
          sampler.urlSource(
            this._url(`files/models/${encodeURIComponent(m.id)}/`),
            m.id,
            (/** @type {any} */ input, /** @type {any} */ init) => {
              const file = decodeURIComponent(new URL(input).pathname.split("/").at(-1) ?? "");
              const entry = m.files[file];
              const bytes = entry && this._bytes.get(this._url(entry.url));
              if (bytes && init?.method !== "HEAD") return Promise.resolve(new Response(bytes));
              return fetch(entry ? this._url(entry.url) : input, init);
            },
          )
        ),
        backend: sampler.ortBackend(ort, { name: this.backend, reason: "this device" }),
        loaders: { flow: sampler.loadFlowPipeline },
        // The denoiser arrives patched (the server's cached graph); this returns it with what the patch added.
        patch: (/** @type {Uint8Array} */ model, /** @type {{ path: string }} */ { path }) => {
          const id = files.models.find((m) =>
            path.startsWith(this._url(`files/models/${encodeURIComponent(m.id)}/`))
          )?.id;
          const meta = id ? served.get(id)?.patch : undefined;
          if (!meta) return Promise.reject(new Error(`Cannot find the served patch of ${path}`));
          return Promise.resolve({ model, kinds: meta.kinds, inputs: meta.inputs });
        },
        lazy: true,
        log: () => {},
      });
      return { engine, files };
    })();
    this._boot.catch(() => {
      this._boot = null;
    });
    return this._boot;
  }

  /**
   * Downloads a model's files and creates its sessions, once.
   *
   * @param {string} id
   */
  loadModel(id) {
    let load = this._models.get(id);
    if (!load) {
      load = (async () => {
        const { engine, files } = await this.boot();
        const model = files.models.find((m) => m.id === id);
        if (!model) {
          throw new Error(`Cannot run model '${id}' on this device as the server does not offer its files`);
        }
        await this._download(Object.values(model.files), `model ${id}`);
        try {
          await engine.load(id);
        } catch (error) {
          if (this.backend !== "webgpu") throw error;
          // A WebGPU adapter that cannot run the model (limits, lost device): wasm may still.
          console.warn("Cannot run the model on WebGPU here; trying wasm:", error);
          this._wasmOnly = true;
          this._boot = null;
          const wasm = await this.boot();
          await wasm.engine.load(id);
        }
      })();
      load.catch(() => this._models.delete(id));
      this._models.set(id, load);
    }
    return load;
  }

  /**
   * Queues a job; its events and frames follow through the callbacks.
   *
   * @param {import("./panel.js").Job} job
   * @param {Record<string, any>} request the fields of a `generate` message
   */
  start(job, request) {
    const abort = new AbortController();
    this._aborts.set(job.id, abort);
    this.onEvent({ type: "preparing", id: job.id });
    this._chain = this._chain.then(() => this._run(job, request, abort.signal)).finally(() => {
      this._aborts.delete(job.id);
    });
  }

  /**
   * Cancels a job; it ends with a `cancelled` event.
   *
   * @param {import("./panel.js").Job} job
   * @returns {boolean}
   */
  cancel(job) {
    this._aborts.get(job.id)?.abort();
    return true;
  }

  /**
   * @param {import("./panel.js").Job} job
   * @param {Record<string, any>} request
   * @param {AbortSignal} signal
   */
  async _run(job, request, signal) {
    const id = job.id;
    if (signal.aborted) return this.onEvent({ type: "cancelled", id });
    let engine;
    try {
      await this.loadModel(request.model);
      engine = (await this.boot()).engine;
      job.runtime = `this device (${this.backend})`;
    } catch (error) {
      this.onUnavailable(
        job,
        new LocalUnavailableError(/** @type {Error} */ (error).message, { cause: error }),
      );
      return;
    }
    let prepared;
    try {
      prepared = engine.prepare(request);
    } catch (error) {
      const e = /** @type {any} */ (error);
      return this.onEvent({
        type: "error",
        id,
        code: e.code ?? "internal",
        message: e.message,
        field: e.field,
      });
    }
    this.onEvent({ type: "started", id, seed: prepared.seed, steps: prepared.steps, model: prepared.model });
    try {
      const generation = await engine.generate(prepared, {
        signal,
        onStep: async (/** @type {any} */ step) => {
          this.onEvent({
            type: "progress",
            id,
            step: step.step,
            steps: step.steps,
            elapsedMs: step.elapsedMs,
          });
          if (step.step < step.steps) {
            this.onFrame({
              kind: "preview",
              id,
              step: step.step,
              steps: step.steps,
              rgba: await step.render(),
            });
          }
        },
      });
      const { steps } = generation;
      const image = await _encodePng(generation.image);
      this.onFrame({ kind: "final", id, step: steps, steps, format: "png", image, rgba: generation.image });
      this.onEvent({
        type: "done",
        id,
        seed: generation.seed,
        steps,
        mode: generation.mode,
        cfg: generation.cfg,
        elapsedMs: generation.elapsedMs,
        unknownWords: generation.unknownWords,
      });
    } catch (error) {
      const e = /** @type {any} */ (error);
      if (signal.aborted || e?.name === "AbortError") return this.onEvent({ type: "cancelled", id });
      this.onEvent({ type: "error", id, code: e.code ?? "internal", message: e.message, field: e.field });
    }
  }
}
