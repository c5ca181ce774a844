/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * Starts the real server and Debian's Chromium for the end-to-end tests of the web client.
 *
 * @module
 */

import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { decodeFrame } from "../../routes/protocol.ts";
import { startServer as launch } from "../../tools/server_launcher.ts";

const ROOT = new URL("../../", import.meta.url);

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Flags that keep a headless Chromium quiet and offline apart from the server under test. */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The folder screenshots go to; git-ignored. */
export const ARTIFACTS = new URL("artifacts/", ROOT);

/**
 * Launches Debian's Chromium, never a downloaded one; throws (failing the test) when it is not installed.
 *
 * @returns {Promise<Browser>}
 */
export async function launchChromium(): Promise<Browser> {
  try {
    await Deno.stat(CHROMIUM_PATH);
  } catch {
    throw new Error(
      `Cannot run the browser tests as ${CHROMIUM_PATH} does not exist: ` +
        "install Debian's package with `apt-get install -y --no-install-recommends chromium`",
    );
  }
  return await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** A running server and how to stop it. */
export interface Server {
  /** The base URL, ending in `/`. */
  url: string;
  /** The last lines the server printed, for failure messages. */
  output(): string;
  close(): Promise<void>;
}

/**
 * Starts `deno run -A ENTRY` through the project's launcher (a free port, `BACKEND=wasm`, a private cache
 * folder) and waits until `GET /healthz` answers 200.
 */
export async function startServer(
  { entry = "main.ts", readyTimeoutMs = 180_000 }: { entry?: string; readyTimeoutMs?: number } = {},
): Promise<Server> {
  const server = await launch({ entry, readyTimeoutMs });
  return { url: `${server.url}/`, output: server.output, close: server.close };
}

/**
 * Registers an end-to-end test that gets Debian's Chromium and a started server, and closes both after.
 *
 * @param name the test's name, a sentence
 * @param body the test, given its context, the browser and the server
 * @param options which server to start
 */
export function browserTest(
  name: string,
  body: (t: Deno.TestContext, browser: Browser, server: Server) => Promise<void>,
  options: Parameters<typeof startServer>[0] = {},
): void {
  Deno.test(name, async (t) => {
    const browser = await launchChromium();
    let server: Server | undefined;
    try {
      server = await startServer(options);
      await body(t, browser, server);
    } finally {
      await browser.close();
      await server?.close();
    }
  });
}

/** The fields of socket JSON messages that the tests read. */
export interface WireJson {
  type: string;
  id?: string | null;
  code?: string;
  message?: string;
  field?: string;
  seed?: number;
  steps?: number;
  step?: number;
  mode?: string;
  prompt?: string;
  guidance?: { mode: string; [name: string]: unknown };
  [name: string]: unknown;
}

/** What went over the page's sockets, in order. */
export interface WireEvent {
  /** `sent` for client messages, else the server event type or `preview` / `final` for binary frames. */
  type: string;
  id: string | null;
  step?: number;
  steps?: number;
  /** The parsed JSON of text messages. */
  json?: WireJson;
  /** The image bytes of binary frames. */
  image?: Uint8Array;
}

/** A page with its socket traffic and uncaught errors recorded. */
export interface ClientPage {
  context: BrowserContext;
  page: Page;
  wire: WireEvent[];
  sockets: number;
  pageErrors: string[];
  close(): Promise<void>;
}

/**
 * Opens the client in a fresh browser context (empty localStorage) and waits until it has loaded the
 * model list.
 */
export async function openClient(
  browser: Browser,
  server: Server,
  { viewport = { width: 1280, height: 800 }, mobile = false, initScript }: {
    viewport?: { width: number; height: number };
    mobile?: boolean;
    initScript?: string;
  } = {},
): Promise<ClientPage> {
  const context = await browser.newContext({
    viewport,
    isMobile: mobile,
    hasTouch: mobile,
    deviceScaleFactor: mobile ? 2 : 1,
    acceptDownloads: true,
  });
  context.setDefaultTimeout(60_000);
  const page = await context.newPage();
  if (initScript) await page.addInitScript(initScript);
  const client: ClientPage = {
    context,
    page,
    wire: [],
    sockets: 0,
    pageErrors: [],
    close: () => context.close(),
  };
  page.on("pageerror", (error) => client.pageErrors.push(error.message));
  page.on("websocket", (socket) => {
    if (!new URL(socket.url()).pathname.endsWith("/ws")) return;
    client.sockets += 1;
    socket.on("framesent", ({ payload }) => {
      if (typeof payload !== "string") return;
      const json = JSON.parse(payload);
      client.wire.push({ type: "sent", id: json.id ?? null, json });
    });
    socket.on("framereceived", ({ payload }) => {
      if (typeof payload === "string") {
        const json = JSON.parse(payload);
        client.wire.push({ type: json.type, id: json.id ?? null, step: json.step, steps: json.steps, json });
      } else {
        const frame = decodeFrame(new Uint8Array(payload));
        client.wire.push({
          type: frame.kind,
          id: frame.id,
          step: frame.step,
          steps: frame.steps,
          image: frame.image,
        });
      }
    });
  });
  await gotoReady(page, server.url);
  return client;
}

/** Loads `url` in the page and waits until the client has loaded the model list. */
export async function gotoReady(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector("body[data-ready]");
}

/** Types a prompt and presses Enter, as a person would. */
export async function submitPrompt(page: Page, prompt: string): Promise<void> {
  await page.fill("#prompt", prompt);
  await page.press("#prompt", "Enter");
}

/** Clicks Cancel from inside the page as soon as panel A's job runs, so a fast job cannot finish first. */
export async function cancelWhenRunning(page: Page): Promise<void> {
  await page.evaluate(() => {
    const panel = document.querySelector('.panel[data-slot="a"]') as HTMLElement;
    new MutationObserver((_, observer) => {
      if (panel.dataset.state === "running") {
        observer.disconnect();
        (document.querySelector("#cancel") as HTMLButtonElement).click();
      }
    }).observe(panel, { attributes: true, attributeFilter: ["data-state"] });
  });
}

/** The RGBA pixels of a panel's final image, read back through a canvas at its natural size. */
export function finalPixels(page: Page, slot: "a" | "b" = "a"): Promise<number[]> {
  return page.evaluate((slot) => {
    const img = document.querySelector(`.panel[data-slot="${slot}"] img.final`) as HTMLImageElement;
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext("2d")!;
    ctx.drawImage(img, 0, 0);
    return [...ctx.getImageData(0, 0, canvas.width, canvas.height).data];
  }, slot);
}

/** The id of the job a panel (`a` or `b`) shows. */
export async function panelJob(page: Page, slot: "a" | "b"): Promise<string> {
  const id = await page.getAttribute(`.panel[data-slot="${slot}"]`, "data-job");
  if (!id) throw new Error(`Panel ${slot} shows no job`);
  return id;
}

/** Waits until a panel reaches a state, failing early when it ends in another (done, cancelled, error). */
export async function waitForPanel(
  page: Page,
  slot: "a" | "b",
  state: string,
  timeout = 120_000,
): Promise<void> {
  const selector = `.panel[data-slot="${slot}"]`;
  const handle = await page.waitForFunction(
    ([sel, want]) => {
      const panel = document.querySelector(sel) as HTMLElement | null;
      const now = panel?.dataset.state;
      if (now === want) return { ok: true };
      if (now === "error" || now === "cancelled" || now === "done") {
        return { ok: false, now, error: panel?.querySelector(".panel-error")?.textContent ?? "" };
      }
      return false;
    },
    [selector, state] as const,
    { timeout },
  );
  const result = await handle.jsonValue() as { ok: boolean; now?: string; error?: string };
  if (!result.ok) {
    throw new Error(`Panel ${slot} ended ${result.now} instead of ${state}: ${result.error}`);
  }
}

/** Width and height from the header of a PNG or JPEG. */
export function imageSize(bytes: Uint8Array): { format: "png" | "jpeg"; width: number; height: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const png = [137, 80, 78, 71, 13, 10, 26, 10];
  if (png.every((b, i) => bytes[i] === b)) {
    return { format: "png", width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    for (let i = 2; i + 9 < bytes.length;) {
      if (bytes[i] !== 0xff) break;
      const marker = bytes[i + 1];
      const length = view.getUint16(i + 2);
      // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
        return { format: "jpeg", height: view.getUint16(i + 5), width: view.getUint16(i + 7) };
      }
      i += 2 + length;
    }
  }
  throw new Error(
    `Cannot read the image size as the bytes are neither PNG nor JPEG: ${[...bytes.slice(0, 8)]}`,
  );
}
