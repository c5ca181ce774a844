/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * The web client generating on the visitor's device (`?runtime=local`), in Debian's headless Chromium on
 * wasm, against the real server: no generate request leaves the page, the digit is the one asked for, the
 * pixels equal the server's for the same seed, the choice survives a reload, and a device that cannot run
 * the model falls back to the server.
 *
 * @module
 */

import { deepStrictEqual, equal, ok } from "@std/assert";
import type { Page } from "playwright-core";
import { createBackend } from "../../sampler/mod.ts";
import { loadDigitJudge } from "../../tools/eval/digit_judge.ts";
import {
  browserTest,
  cancelWhenRunning,
  type ClientPage,
  finalPixels,
  gotoReady,
  openClient,
  submitPrompt,
  waitForPanel,
} from "./_harness.ts";

/** Generation on this device downloads about 22 MB and creates two sessions on a busy CPU. */
const LOCAL_TIMEOUT_MS = 300_000;

/** Records every request the page makes to the server's HTTP generate route, and refuses it. */
async function blockHttpGenerate(page: Page): Promise<string[]> {
  const seen: string[] = [];
  await page.route("**/api/generate", (route) => {
    seen.push(`${route.request().method()} ${route.request().url()}`);
    return route.abort();
  });
  return seen;
}

/** The `generate` messages the page sent over its socket. */
function sentGenerates(client: ClientPage) {
  return client.wire.filter((w) => w.type === "sent" && w.json!.type === "generate");
}

browserTest(
  "the web client generates on this device in headless Chromium (wasm), and falls back to the server",
  async (t, browser, server) => {
    const url = server.url;
    /** A step's body on a fresh page, closed after it. */
    const withClient = (body: (client: ClientPage) => Promise<void>) => async () => {
      const client = await openClient(browser, server);
      try {
        await body(client);
      } finally {
        await client.close();
      }
    };

    await t.step(
      "?runtime=local renders the digit asked for with no POST /api/generate and no socket generate",
      withClient(async (client) => {
        const { page } = client;
        const posts = await blockHttpGenerate(page);
        await gotoReady(page, `${url}?runtime=local`);
        ok(
          await page.isChecked('#runtime input[value="local"]'),
          "?runtime=local did not pick this device",
        );
        // The hint names what the first image downloads: the wasm build and the model's files.
        const files = await (await fetch(`${url}files/runtime.json`)).json();
        const digits = files.models.find((m: { id: string }) => m.id === "digits");
        const bytes = files.ort.wasm.bytes +
          Object.values(digits.files as Record<string, { bytes: number }>).reduce((n, f) => n + f.bytes, 0);
        const size = `downloads ${(bytes / 1e6).toFixed(1)} MB, once.`;
        await page.waitForFunction(
          (text) => document.querySelector("#runtime-hint")?.textContent?.endsWith(text),
          size,
          { timeout: 10_000 },
        );
        await page.fill("#seed", "7");
        await page.click("#lock");
        await submitPrompt(page, "a thick seven");
        await waitForPanel(page, "a", "done", LOCAL_TIMEOUT_MS);
        deepStrictEqual(posts, [], "The page posted to /api/generate");
        deepStrictEqual(sentGenerates(client), [], "The page sent a generate message over the socket");
        const status = (await page.textContent("#status"))!;
        ok(
          status.includes("on this device (wasm)"),
          `The status line does not name the runtime: ${status}`,
        );
        ok(Number(await page.getAttribute("#download", "data-downloaded")) > 1e6, "No download was shown");

        // The judge that scores the model's samples reads the digit.
        const pixels = await finalPixels(page);
        const backend = await createBackend("wasm");
        const manifest = JSON.parse(await Deno.readTextFile("models/digits/manifest.json"));
        const judge = await loadDigitJudge(backend, "models/digits", manifest);
        const image = new Float32Array(28 * 28).map((_, i) => pixels[i * 4] / 127.5 - 1);
        const { logits } = await judge.judge(image, 1);
        await judge.release();
        const digit = logits.indexOf(Math.max(...logits));
        equal(digit, 7, `The judge reads ${digit} in the image made on this device`);

        // Same seed and settings on the server: the same pixels.
        await page.click('#runtime input[value="server"]', { force: true });
        await page.press("#prompt", "Enter");
        await waitForPanel(page, "a", "done");
        const sent = sentGenerates(client);
        equal(sent.length, 1, "Picking the server did not send the job over the socket");
        equal(sent[0].json!.seed, 7);
        ok((await page.textContent("#status"))!.includes("on the server"));
        deepStrictEqual(await finalPixels(page), pixels, "The server's image differs from this device's");

        // A/B, live previews and cancel work on this device as on the server.
        await page.click('#runtime input[value="local"]', { force: true });
        await page.check("#ab");
        await page.press("#prompt", "Enter");
        await waitForPanel(page, "a", "done", LOCAL_TIMEOUT_MS);
        await waitForPanel(page, "b", "done", LOCAL_TIMEOUT_MS);
        for (const slot of ["a", "b"]) {
          const drawn = Number(
            await page.getAttribute(`.panel[data-slot="${slot}"]`, "data-frames-at-final"),
          );
          ok(drawn >= 1, `Panel ${slot} painted ${drawn} previews before its final image`);
        }
        const [a, b] = [await finalPixels(page, "a"), await finalPixels(page, "b")];
        ok(a.some((v, i) => v !== b[i]), "A and B gave the same image on this device");
        await page.uncheck("#ab");
        await page.fill("#steps", "8");
        await cancelWhenRunning(page);
        await page.press("#prompt", "Enter");
        await waitForPanel(page, "a", "cancelled", LOCAL_TIMEOUT_MS);
        ok(await page.isHidden('.panel[data-slot="a"] img.final'), "A cancelled job shows a final image");
        equal(sentGenerates(client).length, 1, "A job on this device went over the socket");
        deepStrictEqual(client.pageErrors, []);
      }),
    );

    await t.step(
      "the runtime choice survives a reload and a visit without ?runtime=",
      withClient(async (client) => {
        const { page } = client;
        ok(
          await page.isChecked('#runtime input[value="server"]'),
          "A first visit does not run on the server",
        );
        await page.click('#runtime input[value="local"]', { force: true });
        equal(
          new URL(page.url()).searchParams.get("runtime"),
          "local",
          "The address does not pin the choice",
        );
        await page.reload();
        await page.waitForSelector("body[data-ready]");
        ok(await page.isChecked('#runtime input[value="local"]'), "The choice did not survive a reload");
        await gotoReady(page, url);
        ok(
          await page.isChecked('#runtime input[value="local"]'),
          "The choice was not kept for the next visit",
        );
        await gotoReady(page, `${url}?runtime=server`);
        ok(await page.isChecked('#runtime input[value="server"]'), "?runtime=server did not win");
      }),
    );

    await t.step(
      "when this device cannot run the model, the job runs on the server and the page says so",
      withClient(async (client) => {
        const { page } = client;
        await page.route("**/ort-wasm-simd-threaded.wasm", (route) => route.abort());
        await gotoReady(page, `${url}?runtime=local`);
        await submitPrompt(page, "a small 3");
        await waitForPanel(page, "a", "done", LOCAL_TIMEOUT_MS);
        equal(sentGenerates(client).length, 1, "The job did not go to the server");
        ok(
          (await page.textContent("#runtime-hint"))!.startsWith("This device cannot run the model"),
          "The page does not say why this device did not run the job",
        );
        ok(
          (await page.textContent("#status"))!.includes("on the server"),
          "The status line does not name the server",
        );
      }),
    );
  },
);
