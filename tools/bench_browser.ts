/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * Measures generation in the visitor's browser (`?runtime=local`) in Debian's headless Chromium on wasm:
 * time to the first image with an empty browser cache (cold) and with the files cached (warm, a reload of
 * the same profile), the bytes each fetched over the network, and the time per denoising step in the
 * browser against the server's own.
 *
 * ```sh
 * deno run -A tools/bench_browser.ts [--runs 8] [--json out.json]
 * ```
 *
 * @module
 */
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { startServer } from "./server_launcher.ts";

/** Where Debian's `chromium` package puts the browser; a downloaded browser is never used. */
const CHROMIUM_PATH = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run", "--disable-sync"];

/** One first-image measurement. */
export interface FirstImage {
  /** Navigation start → the final image shown (the prompt is sent as soon as the page is ready). */
  ms: number;
  /** Bytes received over the network for the page's requests (cached responses count 0). */
  networkBytes: number;
}

/** What {@linkcode benchBrowser} measured. */
export interface BrowserBench {
  cold: FirstImage;
  warm: FirstImage;
  /** Per denoising step (generation time ÷ steps), median over the runs, 4-step GAG jobs. */
  perStepMs: { browser: number; server: number };
  runs: number;
  steps: number;
  /** The 1-minute load average at the start and the end (Linux), as the figures depend on it. */
  load: [number, number];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Counts the bytes a page receives over the network (Chromium's encoded lengths; 0 from cache). */
async function countBytes(context: BrowserContext, page: Page): Promise<() => number> {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  let bytes = 0;
  cdp.on("Network.loadingFinished", (e) => {
    bytes += e.encodedDataLength;
  });
  return () => bytes;
}

/** Opens the page on this device, sends a prompt once ready and times the first final image. */
async function firstImage(context: BrowserContext, url: string): Promise<FirstImage> {
  const page = context.pages()[0] ?? await context.newPage();
  const bytes = await countBytes(context, page);
  const t0 = performance.now();
  await page.goto(`${url}/?runtime=local`);
  await page.waitForSelector("body[data-ready]");
  await page.fill("#prompt", "a thick seven");
  await page.press("#prompt", "Enter");
  await page.waitForSelector('.panel[data-slot="a"][data-state="done"]', { timeout: 600_000 });
  return { ms: performance.now() - t0, networkBytes: bytes() };
}

/** The generation time of the panel's last job, from its elapsed label (`123 ms` or `12.3 s`). */
async function generationMs(page: Page): Promise<number> {
  const text = (await page.textContent('.panel[data-slot="a"] .elapsed'))!.trim();
  const value = parseFloat(text);
  return text.endsWith(" s") ? value * 1000 : value;
}

/** Runs one 4-step job on the page's current runtime and returns its generation time. */
async function timeJob(page: Page, prompt: string): Promise<number> {
  await page.fill("#prompt", prompt);
  await page.evaluate(() => {
    (document.querySelector('.panel[data-slot="a"]') as HTMLElement).dataset.state = "idle";
  });
  await page.press("#prompt", "Enter");
  await page.waitForSelector('.panel[data-slot="a"][data-state="done"]', { timeout: 120_000 });
  return await generationMs(page);
}

/**
 * Measures local generation against a running server (or one it starts).
 *
 * @param options `url`: a server's origin (default: start one with the wasm backend)
 */
export async function benchBrowser(
  { url, runs = 8 }: { url?: string; runs?: number } = {},
): Promise<BrowserBench> {
  const loadAverage = () => Deno.loadavg()[0];
  const loadAtStart = loadAverage();
  const server = url ? null : await startServer();
  const origin = url ?? server!.url;
  const profile = await Deno.makeTempDir({ prefix: "bench-browser-" });
  // A private runtime folder, so Mesa in the browser neither complains nor shares one with other processes.
  const runtimeDir = `${profile}/xdg`;
  await Deno.mkdir(runtimeDir, { mode: 0o700 });
  const context = await chromium.launchPersistentContext(`${profile}/profile`, {
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    env: { ...Deno.env.toObject(), XDG_RUNTIME_DIR: runtimeDir },
    viewport: { width: 1280, height: 800 },
  });
  try {
    const cold = await firstImage(context, origin);
    const warm = await firstImage(context, origin);
    const page = context.pages()[0];
    await page.fill("#steps", "4");
    await page.click('.slot[data-slot="a"] input[value="gag"]', { force: true });
    // Interleaved, so a change in the machine's load hits both sides alike.
    const browser: number[] = [], serverTimes: number[] = [];
    for (let i = 0; i < runs; i++) {
      const prompt = ["a thick seven", "a small 3", "a thin two upright"][i % 3];
      await page.click('#runtime input[value="local"]', { force: true });
      browser.push(await timeJob(page, prompt));
      await page.click('#runtime input[value="server"]', { force: true });
      serverTimes.push(await timeJob(page, prompt));
    }
    return {
      cold,
      warm,
      perStepMs: { browser: median(browser) / 4, server: median(serverTimes) / 4 },
      runs,
      steps: 4,
      load: [loadAtStart, loadAverage()],
    };
  } finally {
    await context.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    await server?.close();
  }
}

if (import.meta.main) {
  const args = Deno.args;
  const flag = (name: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const result = await benchBrowser({ runs: Number(flag("--runs") ?? 8), url: flag("--url") });
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  console.log(`| Measure (headless Chromium, wasm)            | Result |
| --------------------------------------------- | ------ |
| First image, cold (empty browser cache)       | ${(result.cold.ms / 1000).toFixed(2)} s (${
    mb(result.cold.networkBytes)
  } fetched) |
| First image, warm (files in the browser cache) | ${(result.warm.ms / 1000).toFixed(2)} s (${
    mb(result.warm.networkBytes)
  } fetched) |
| Per step in the browser (median of ${result.runs})        | ${result.perStepMs.browser.toFixed(1)} ms |
| Per step on the server (median of ${result.runs})         | ${result.perStepMs.server.toFixed(1)} ms |
| Load average (start / end)                    | ${result.load.map((l) => l.toFixed(1)).join(" / ")} |`);
  const out = flag("--json");
  if (out) await Deno.writeTextFile(out, JSON.stringify(result, null, 2) + "\n");
}
