/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * The web client in `static/`, driven in Debian's headless Chromium against the real server (`main.ts`,
 * started on a free port). Screenshots go to `artifacts/`.
 *
 * @module
 */

import { deepStrictEqual, equal, notEqual, ok } from "@std/assert";
import type { Browser, Page } from "playwright-core";
import {
  ARTIFACTS,
  browserTest,
  cancelWhenRunning,
  type ClientPage,
  finalPixels,
  imageSize,
  openClient,
  panelJob,
  type Server,
  submitPrompt,
  waitForPanel,
  type WireEvent,
} from "./_harness.ts";

/** Which server to start; another entry point can be tried with `CLIENT_E2E_SERVER=path`. */
const ENTRY = Deno.env.get("CLIENT_E2E_SERVER") ?? "main.ts";

interface Model {
  id: string;
  name?: string;
  width: number;
  height: number;
  defaultSteps: number;
  maxSteps: number;
  guidance: {
    modes: string[];
    ranges: Record<string, Record<string, [number, number]>>;
    defaults: Record<string, Record<string, number>>;
  };
}

/** Runs a step with a fresh page and closes it after, asserting the page threw nothing uncaught. */
async function withClient(
  browser: Browser,
  server: Server,
  body: (client: ClientPage) => Promise<void>,
  options: Parameters<typeof openClient>[2] = {},
) {
  const client = await openClient(browser, server, options);
  try {
    await body(client);
    deepStrictEqual(client.pageErrors, [], "The page threw uncaught errors");
  } catch (error) {
    const wire = client.wire.slice(-12).map((w) => `${w.type} ${w.id ?? ""} ${w.step ?? ""}`).join("\n  ");
    const status = await client.page.textContent("#status").catch(() => "?");
    throw new Error(
      `${(error as Error).message}\nstatus line: ${status}\nlast socket traffic:\n  ${wire}\n` +
        `page errors: ${client.pageErrors.join("; ") || "none"}\nserver output:\n${server.output()}`,
      { cause: error },
    );
  } finally {
    await client.close();
  }
}

/**
 * Resolves with the first socket event that matches, as soon as it is recorded (at once when it already
 * was); rejects after `timeoutMs`.
 */
function waitForWire(
  client: ClientPage,
  match: (w: WireEvent) => boolean,
  timeoutMs = 60_000,
): Promise<WireEvent> {
  const seen = client.wire.find(match);
  if (seen) return Promise.resolve(seen);
  const { wire } = client;
  const push = wire.push;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      wire.push = push;
      reject(new Error(`No matching socket event within ${timeoutMs} ms`));
    }, timeoutMs);
    wire.push = (...items: WireEvent[]) => {
      const n = push.apply(wire, items);
      const hit = items.find(match);
      if (hit) {
        clearTimeout(timer);
        wire.push = push;
        resolve(hit);
      }
      return n;
    };
  });
}

/** The `generate` messages the page sent, in order. */
function sentGenerates(wire: WireEvent[]) {
  return wire.filter((w) => w.type === "sent" && w.json!.type === "generate").map((w) => w.json!);
}

/** Sets a number field by typing into it. */
async function typeInto(page: Page, selector: string, value: number | string) {
  await page.fill(selector, String(value));
}

/** Asserts that each selector matches an element that is visible and inside the viewport's width. */
async function assertVisible(page: Page, selectors: string[], width: number) {
  for (const selector of selectors) {
    const box = await page.locator(selector).first().boundingBox();
    ok(await page.locator(selector).first().isVisible(), `${selector} is not visible`);
    if (!box) throw new Error(`${selector} has no box`);
    ok(
      box.x >= 0 && box.x + box.width <= width + 0.5,
      `${selector} spills out of ${width} px: ${JSON.stringify(box)}`,
    );
  }
}

browserTest(
  "the web client generates, previews, cancels, compares and recovers in headless Chromium",
  async (t, browser, server) => {
    const { models } = await (await fetch(`${server.url}api/models`)).json() as {
      models: (Model & { default: boolean })[];
    };
    const model = models.find((m) => m.default) ?? models[0];
    await Deno.mkdir(ARTIFACTS, { recursive: true });

    await t.step(
      "pressing Enter in the prompt paints previews on the canvas, then a final image of the model's size",
      async () => {
        await withClient(browser, server, async ({ page, wire }) => {
          await submitPrompt(page, "a thick seven");
          await waitForPanel(page, "a", "done");
          const id = await panelJob(page, "a");
          const mine = wire.filter((w) => w.id === id);
          const firstPreview = mine.findIndex((w) => w.type === "preview");
          const final = mine.findIndex((w) => w.type === "final");
          ok(firstPreview >= 0, `No preview frame arrived for ${id}: ${mine.map((w) => w.type).join(", ")}`);
          ok(
            final > firstPreview,
            `The final frame did not come after a preview: ${mine.map((w) => w.type).join(", ")}`,
          );
          ok(
            mine.findIndex((w) => w.type === "done") > final,
            "The done event did not follow the final frame",
          );
          const drawn = Number(await page.getAttribute('.panel[data-slot="a"]', "data-frames-at-final"));
          ok(drawn >= 1, `The canvas drew ${drawn} previews before the final image`);

          const size = await page.$eval('.panel[data-slot="a"] img.final', (img: HTMLImageElement) => ({
            width: img.naturalWidth,
            height: img.naturalHeight,
            visible: !img.hidden,
          }));
          deepStrictEqual(size, { width: model.width, height: model.height, visible: true });
          const steps = mine.find((w) => w.type === "done")!.json!.steps;
          equal(await page.textContent('.panel[data-slot="a"] .step-text'), `step ${steps} / ${steps}`);
          ok((await page.textContent("#status"))!.startsWith("Done"), "The status line does not say Done");

          // Download saves the size the image is shown at; the small link beside it saves the original bytes.
          const shown = await page.$eval(
            '.panel[data-slot="a"] img.final',
            (img: HTMLImageElement) => img.getBoundingClientRect().width,
          );
          const scale = Math.max(1, Math.round(shown / model.width));
          const label = `Download ${model.width * scale}×${model.height * scale}`;
          equal((await page.textContent('.panel[data-slot="a"] .download'))!.trim(), label);
          const [download] = await Promise.all([
            page.waitForEvent("download"),
            page.click('.panel[data-slot="a"] .download'),
          ]);
          const big = imageSize(await Deno.readFile((await download.path())!));
          deepStrictEqual(big, { format: "png", width: model.width * scale, height: model.height * scale });
          ok(scale > 1, `The image is shown at ${shown} px, no larger than the model's ${model.width} px`);
          const [original] = await Promise.all([
            page.waitForEvent("download"),
            page.click('.panel[data-slot="a"] .download-original'),
          ]);
          const bytes = await Deno.readFile((await original.path())!);
          const decoded = imageSize(bytes);
          equal(decoded.width, model.width);
          equal(decoded.height, model.height);
          ok(original.suggestedFilename().endsWith(decoded.format === "png" ? ".png" : ".jpg"));
          deepStrictEqual([...bytes], [...mine[final].image!], "The download is not the final frame's image");
          equal(await page.locator("#history-list .history-item").count(), 1);
        });
      },
    );

    await t.step("the cancel button stops a running job before its last step", async () => {
      await withClient(browser, server, async (client) => {
        const { page, wire } = client;
        await typeInto(page, "#steps", model.maxSteps);
        await cancelWhenRunning(page);
        await submitPrompt(page, "a thin two upright");
        await waitForPanel(page, "a", "cancelled").catch((error) => {
          throw new Error(`${error.message} (the job may have finished before the cancel arrived)`);
        });
        const id = await panelJob(page, "a");
        ok(
          wire.some((w) => w.type === "sent" && w.json!.type === "cancel" && w.id === id),
          "No cancel message was sent",
        );
        // `cancelled` is the job's last event: anything else for it would have come before.
        await waitForWire(client, (w) => w.id === id && w.type === "cancelled");
        const mine = wire.filter((w) => w.id === id);
        ok(
          !mine.some((w) => w.type === "final" || w.type === "done"),
          "A cancelled job still sent its final image",
        );
        const lastStep = Math.max(0, ...mine.filter((w) => w.type === "progress").map((w) => w.step!));
        ok(lastStep < model.maxSteps, `The job ran all ${model.maxSteps} steps`);
        ok(await page.isDisabled("#cancel"), "Cancel stays enabled with nothing to cancel");
        ok(
          await page.isHidden('.panel[data-slot="a"] img.final'),
          "A final image is shown for a cancelled job",
        );
      });
    });

    await t.step(
      "A/B mode streams no guidance and GAG side by side over one socket and shows two different images",
      async () => {
        await withClient(browser, server, async (client) => {
          const { page, wire } = client;
          await page.check("#ab");
          ok(
            await page.isChecked('.slot[data-slot="a"] input[value="none"]'),
            "Turning A/B on changed A's mode",
          );
          ok(await page.isChecked('.slot[data-slot="b"] input[value="gag"]'), "B does not default to GAG");
          ok((await page.textContent("#status"))!.includes("B uses GAG"), "The switch to GAG in B is silent");
          ok(await page.isVisible('.panel[data-slot="b"] canvas'), "The B canvas is not shown");
          await submitPrompt(page, "a large eight");
          await waitForPanel(page, "a", "done");
          await waitForPanel(page, "b", "done");
          equal(client.sockets, 1, "The two jobs did not share one socket");

          const ids = [await panelJob(page, "a"), await panelJob(page, "b")];
          const requests = ids.map((id) => wire.find((w) => w.type === "sent" && w.id === id)!.json!);
          equal(requests[0].seed, requests[1].seed, "A and B used different seeds");
          equal(requests[0].prompt, requests[1].prompt);
          deepStrictEqual(requests.map((r) => r.guidance?.mode), ["none", "gag"]);
          for (const id of ids) {
            ok(wire.some((w) => w.id === id && w.type === "preview"), `No previews streamed for ${id}`);
          }
          const modes = ids.map((id) => wire.find((w) => w.id === id && w.type === "done")!.json!.mode);
          deepStrictEqual(modes, ["none", "gag"], "The server reports other modes than were asked");

          const [a, b] = [await finalPixels(page, "a"), await finalPixels(page, "b")];
          equal(a.length, model.width * model.height * 4);
          equal(a.length, b.length);
          const differing = a.filter((v, i) => v !== b[i]).length;
          ok(differing > 0, "GAG and no guidance gave identical images");
          const seeds = await page.locator(".panel .panel-meta").allTextContents();
          equal(seeds[0], seeds[1]);
          equal(await page.locator("#history-list .history-item").count(), 2);
        });
      },
    );

    await t.step("picking APG sends apg with the CFG scale, and the job finishes", async () => {
      await withClient(browser, server, async ({ page, wire }) => {
        await page.check('.slot[data-slot="a"] input[value="apg"]', { force: true });
        await typeInto(page, "#a-cfg", 3);
        await typeInto(page, "#a-apg-eta", 0.5);
        ok(await page.isDisabled("#a-apg-r"), "APG r is not off by default");
        await page.check('.slot[data-slot="a"] .param.apg .param-toggle');
        await submitPrompt(page, "a small 3");
        await waitForPanel(page, "a", "done");
        const id = await panelJob(page, "a");
        const request = wire.find((w) => w.type === "sent" && w.id === id)!.json!;
        equal(request.cfg, 3);
        deepStrictEqual(request.apg, { eta: 0.5, beta: -0.5, r: 5 });
        ok(wire.some((w) => w.id === id && w.type === "done"), "The APG job sent no done event");
        ok(
          (await page.textContent('.panel[data-slot="a"] .panel-label'))!.includes(
            "APG 3 (η 0.5, β -0.5, r 5)",
          ),
          "The panel does not name the APG settings",
        );
      });
    });

    await t.step(
      "a steps value beyond the model's maximum shows the server's message next to the steps field",
      async () => {
        await withClient(browser, server, async ({ page, wire }) => {
          await typeInto(page, "#steps", model.maxSteps + 1);
          await submitPrompt(page, "a small 3");
          await page.waitForSelector("#err-steps:not(:empty)");
          const error = wire.find((w) => w.type === "error");
          if (!error) throw new Error("The server sent no error event");
          equal(error.json!.field, "steps");
          // Beside the field the message need not name it again; it shows there and nowhere else.
          const shown = `Must be between 1 and ${model.maxSteps}: current value is ${model.maxSteps + 1}`;
          equal(
            error.json!.message,
            `Cannot generate as 'steps' ${shown.charAt(0).toLowerCase()}${shown.slice(1)}`,
          );
          equal((await page.textContent("#err-steps"))!.trim(), shown);
          equal(await page.getAttribute("#steps", "aria-invalid"), "true");
          const copies = await page.evaluate(
            (text) =>
              [...document.querySelectorAll("body *")].filter((el) => el.children.length === 0)
                .filter((el) => el.textContent?.includes(text)).length,
            `between 1 and ${model.maxSteps}`,
          );
          equal(copies, 1, "The error shows in more than one place");
          equal(
            (await page.textContent("#err-general"))!.trim(),
            "",
            "The error also showed as a general error",
          );
          equal((await page.textContent('.panel[data-slot="a"] .panel-error'))!.trim(), "");
          ok(!wire.some((w) => w.type === "started"), "The server started a job with too many steps");
          // Fixing the value clears the message.
          await typeInto(page, "#steps", model.defaultSteps);
          equal((await page.textContent("#err-steps"))!.trim(), "");
        });
      },
    );

    await t.step(
      "a guidance scale beyond its range shows the server's message under that slider",
      async () => {
        await withClient(browser, server, async ({ page, wire }) => {
          const [, max] = model.guidance.ranges.gag.scale;
          await page.check('.slot[data-slot="a"] input[value="gag"]', { force: true });
          await typeInto(page, "#a-guidance-scale", max * 10 + 1);
          await submitPrompt(page, "a small 3");
          const slot = '.slot[data-slot="a"] [data-error-for="guidance.scale"]';
          await page.waitForSelector(`${slot}:not(:empty)`);
          const error = wire.find((w) => w.type === "error");
          equal(error?.json?.field, "guidance.scale");
          equal(
            (await page.textContent(slot))!.trim(),
            `Must be between 0 and ${max}: current value is ${max * 10 + 1}`,
          );
          equal(await page.getAttribute("#a-guidance-scale", "aria-invalid"), "true");
        });
      },
    );

    await t.step("a value the server's schema rejects reads in the same wording as the others", async () => {
      await withClient(browser, server, async ({ page, wire }) => {
        await typeInto(page, "#steps", 1.5);
        await submitPrompt(page, "a small 3");
        await page.waitForSelector("#err-steps:not(:empty)");
        equal(wire.find((w) => w.type === "error")?.json?.field, "steps");
        equal((await page.textContent("#err-steps"))!.trim(), "Must be an integer: current value is 1.5");
      });
    });

    await t.step("a GAG scale in the over-guiding region is marked under its slider", async () => {
      await withClient(browser, server, async ({ page }) => {
        const listed = (model.guidance as { overGuiding?: { gag?: number } }).overGuiding?.gag;
        const over = listed ?? model.guidance.defaults.gag.scale * 4;
        await page.check('.slot[data-slot="a"] input[value="gag"]', { force: true });
        const note = '.slot[data-slot="a"] [data-field="guidance.scale"] .over';
        ok(await page.isHidden(note), "The default scale is marked as over-guiding");
        await typeInto(page, "#a-guidance-scale", over + 1);
        ok(await page.isVisible(note), `A scale of ${over + 1} is not marked as over-guiding`);
        ok((await page.textContent(note))!.includes(`From ${over} on`));
        await page.click('.slot[data-slot="a"] [data-field="guidance.scale"] .reset');
        ok(await page.isHidden(note), "Reset left the over-guiding note");
      });
    });

    await t.step("a typed seed is used once; locking it keeps it for the next images", async () => {
      await withClient(browser, server, async ({ page, wire }) => {
        await typeInto(page, "#seed", 1234);
        equal(await page.getAttribute("#lock", "aria-pressed"), "false", "Typing a seed locked it");
        await submitPrompt(page, "a small 3");
        await waitForPanel(page, "a", "done");
        await page.press("#prompt", "Enter");
        await waitForPanel(page, "a", "done");
        deepStrictEqual(sentGenerates(wire).map((r) => r.seed === 1234), [true, false]);

        await typeInto(page, "#seed", 4321);
        await page.click("#lock");
        equal(await page.getAttribute("#lock", "aria-pressed"), "true", "The lock click did not lock");
        for (let i = 0; i < 2; i++) {
          await page.press("#prompt", "Enter");
          await waitForPanel(page, "a", "done");
        }
        deepStrictEqual(sentGenerates(wire).slice(2).map((r) => r.seed), [4321, 4321]);
      });
    });

    await t.step("an empty prompt says it gives an unconditional sample", async () => {
      await withClient(browser, server, async ({ page }) => {
        await submitPrompt(page, "");
        await waitForPanel(page, "a", "done");
        ok(
          (await page.textContent("#prompt-note"))!.includes("unconditional"),
          "No note on the empty prompt",
        );
        await submitPrompt(page, "a small 3");
        await waitForPanel(page, "a", "done");
        equal((await page.textContent("#prompt-note"))!.trim(), "");
      });
    });

    await t.step("the model menu lists every model and a generation uses the one picked", async () => {
      await withClient(browser, server, async ({ page, wire }) => {
        const options = await page.$$eval(
          "#model option",
          (els) => els.map((o) => (o as HTMLOptionElement).value),
        );
        deepStrictEqual(options, models.map((m) => m.id));
        const other = models.find((m) => m.id !== model.id);
        if (!other) return; // a server with one model has nothing to switch to
        await page.selectOption("#model", other.id);
        equal(
          await page.textContent("#steps-hint"),
          `default\u00a0${other.defaultSteps} · max\u00a0${other.maxSteps}`,
        );
        await submitPrompt(page, "a small 3");
        await waitForPanel(page, "a", "done");
        equal(sentGenerates(wire).at(-1)!.model, other.id);
        equal(wire.find((w) => w.type === "started")!.json!.model, other.id);
      });
    });

    await t.step("a history item restores the settings it was made with, also after a reload", async () => {
      await withClient(browser, server, async ({ page }) => {
        const steps = Math.min(model.maxSteps, Math.max(2, model.defaultSteps - 1));
        await typeInto(page, "#steps", steps);
        await page.check('.slot[data-slot="a"] input[value="pladis"]', { force: true });
        await submitPrompt(page, "a thin two upright");
        await waitForPanel(page, "a", "done");
        const seed = await page.inputValue("#seed");
        await page.reload();
        await page.waitForSelector("body[data-ready]");
        await page.fill("#prompt", "something else");
        await typeInto(page, "#steps", steps + 1);
        await page.check('.slot[data-slot="a"] input[value="none"]', { force: true });
        await submitPrompt(page, "something else");
        await waitForPanel(page, "a", "done");
        await page.click("#lock");
        await page.click('#history-list .history-item[aria-label*="a thin two upright"]');
        equal(await page.inputValue("#prompt"), "a thin two upright");
        equal(await page.inputValue("#steps"), String(steps));
        equal(await page.inputValue("#seed"), seed);
        equal(await page.getAttribute("#lock", "aria-pressed"), "true");
        ok(
          await page.isChecked('.slot[data-slot="a"] input[value="pladis"]'),
          "The guidance mode was not restored",
        );
        ok((await page.textContent("#status"))!.startsWith("Restored"));
        await waitForPanel(page, "a", "done");
        ok(
          (await page.textContent('.panel[data-slot="a"] .panel-label'))!.includes("PLADIS"),
          "The panel does not show the restored job's label",
        );
        ok(await page.isVisible('.panel[data-slot="a"] img.final'), "The restored image is not shown");
      });
    });

    await t.step("the page reconnects after its socket drops and generates again", async () => {
      const track = `(() => {
        const Native = WebSocket;
        globalThis.__sockets = [];
        globalThis.WebSocket = class extends Native {
          constructor(...args) { super(...args); globalThis.__sockets.push(this); }
        };
      })();`;
      await withClient(browser, server, async (client) => {
        const { page } = client;
        await page.waitForSelector('#connection[data-state="open"]');
        await page.evaluate(() =>
          (globalThis as unknown as { __sockets: WebSocket[] }).__sockets.at(-1)!.close(
            4000,
            "test drops the socket",
          )
        );
        await page.waitForSelector('#connection[data-state="closed"]');
        await page.waitForSelector('#connection[data-state="open"]', { timeout: 30_000 });
        equal(client.sockets, 2, "The page did not open a second socket");
        await submitPrompt(page, "a four");
        await waitForPanel(page, "a", "done");
      }, { initScript: track });
    });

    await t.step("the form works from the keyboard and every control has an accessible name", async () => {
      await withClient(browser, server, async ({ page, wire }) => {
        const unnamed = await page.evaluate(() =>
          [...document.querySelectorAll(
            "input, select, textarea, button, a[href], canvas, [role=radiogroup]",
          )]
            .filter((el) => (el as HTMLElement).offsetParent !== null)
            .filter((el) => {
              const labelled = (el as HTMLInputElement).labels?.length || el.getAttribute("aria-label") ||
                el.getAttribute("aria-labelledby") || (el.tagName !== "INPUT" && el.textContent?.trim());
              return !labelled;
            })
            .map((el) => el.outerHTML.slice(0, 80))
        );
        deepStrictEqual(unnamed, [], "Controls without an accessible name");
        equal(await page.getAttribute("#status", "aria-live"), "polite");

        // Tab from the prompt reaches Generate; arrow keys move through the guidance modes.
        await page.focus("#prompt");
        await page.keyboard.press("Tab");
        equal(await page.evaluate(() => document.activeElement?.id), "generate");
        await page.focus('.slot[data-slot="a"] input[value="none"]');
        await page.keyboard.press("ArrowRight");
        ok(
          await page.isChecked('.slot[data-slot="a"] input[value="pladis"]'),
          "ArrowRight did not pick PLADIS",
        );
        ok(await page.isVisible("#a-guidance-scale"), "The PLADIS scale slider did not appear");
        // The number box beside each slider is its keyboard control: arrows step it and move the slider.
        await page.focus("#a-guidance-scale");
        const before = Number(await page.inputValue("#a-guidance-scale"));
        await page.keyboard.press("ArrowUp");
        const after = Number(await page.inputValue("#a-guidance-scale"));
        ok(after > before, "ArrowUp did not raise the scale");
        equal(Number(await page.inputValue('.slot[data-slot="a"] [data-params] input[type="range"]')), after);

        // Enter generates and Escape cancels.
        await typeInto(page, "#steps", model.maxSteps);
        await page.focus("#prompt");
        await page.keyboard.type("a thick seven");
        await page.keyboard.press("Enter");
        await page.keyboard.press("Escape");
        await waitForPanel(page, "a", "cancelled");
        const id = await panelJob(page, "a");
        ok(
          wire.some((w) => w.type === "sent" && w.json!.type === "cancel" && w.id === id),
          "Escape sent no cancel",
        );
      });
    });

    await t.step(
      "at 375×812 the phone layout shows the form and the result without sideways scrolling",
      async () => {
        await withClient(browser, server, async ({ page }) => {
          await submitPrompt(page, "a thick seven slanted right");
          await waitForPanel(page, "a", "done");
          await page.evaluate(() => scrollTo(0, 0));
          await page.screenshot({ path: new URL("client-phone-375x812.png", ARTIFACTS).pathname });
          await page.screenshot({
            path: new URL("client-phone-375x812-full.png", ARTIFACTS).pathname,
            fullPage: true,
          });
          const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
          ok(scrollWidth <= 375, `The page is ${scrollWidth} px wide at 375 px`);
          await assertVisible(page, [
            "#prompt",
            "#generate",
            "#cancel",
            "#connection",
            '.panel[data-slot="a"] img.final',
            '.panel[data-slot="a"] progress',
            '.panel[data-slot="a"] .download',
          ], 375);
          // The result sits in the first screen, right under the prompt.
          const img = (await page.locator('.panel[data-slot="a"] img.final').boundingBox())!;
          ok(
            img.y + img.height <= 812,
            `The final image ends at ${img.y + img.height} px, below the first screen`,
          );
          await assertVisible(page, [
            "#model",
            "#steps",
            "#seed",
            "#dice",
            "#lock",
            '.slot[data-slot="a"] [role="radiogroup"]',
            '.slot[data-slot="a"] [data-cfg] input[type="range"]',
            "#ab",
            "#history-list .history-item",
          ], 375);
          await page.check("#ab");
          const boxes = await Promise.all(
            ["a", "b"].map((s) => page.locator(`.panel[data-slot="${s}"] .stage`).boundingBox()),
          );
          ok(
            boxes[0] && boxes[1] && Math.abs(boxes[0].y - boxes[1].y) < 1,
            "A and B are not side by side at 375 px",
          );
          ok(boxes[1]!.x + boxes[1]!.width <= 375, "B spills out of the screen at 375 px");
          await page.press("#prompt", "Enter");
          await waitForPanel(page, "a", "done");
          await waitForPanel(page, "b", "done");
          await page.evaluate(() => scrollTo(0, 0));
          await page.screenshot({ path: new URL("client-phone-375x812-ab.png", ARTIFACTS).pathname });
          const scrollWidthAb = await page.evaluate(() => document.documentElement.scrollWidth);
          ok(scrollWidthAb <= 375, `The A/B page is ${scrollWidthAb} px wide at 375 px`);
        }, { viewport: { width: 375, height: 812 }, mobile: true });
      },
    );

    await t.step("at 1280×800 the desktop layout shows the settings beside A/B previews", async () => {
      await withClient(browser, server, async ({ page }) => {
        await page.check("#ab");
        await submitPrompt(page, "a large eight");
        await waitForPanel(page, "a", "done");
        await waitForPanel(page, "b", "done");
        await page.screenshot({ path: new URL("client-desktop-1280x800.png", ARTIFACTS).pathname });
        await assertVisible(page, [
          "#prompt",
          "#generate",
          "#model",
          "#steps",
          "#seed",
          '.panel[data-slot="a"] img.final',
          '.panel[data-slot="b"] img.final',
          '.panel[data-slot="a"] .copy-seed',
          '.slot[data-slot="a"] [role="radiogroup"]',
          '.slot[data-slot="b"] [role="radiogroup"]',
        ], 1280);
        // The model menu shows its whole entry, and "max 8" in the steps hint stays on one line.
        const fits = await page.$eval("#model", (select: HTMLSelectElement) => {
          const style = getComputedStyle(select);
          const ctx = document.createElement("canvas").getContext("2d")!;
          ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
          const text = select.selectedOptions[0].textContent!;
          const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) -
            16;
          return { text, width: ctx.measureText(text).width, room };
        });
        ok(fits.width <= fits.room, `The model menu cuts "${fits.text}" off: ${JSON.stringify(fits)}`);
        const lines = await page.$eval("#steps-hint", (hint) => {
          const text = hint.firstChild!;
          const at = text.textContent!.indexOf("max");
          const range = document.createRange();
          range.setStart(text, at);
          range.setEnd(text, text.textContent!.length);
          return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
        });
        equal(lines, 1, "The steps hint breaks inside its maximum");
        if (model.name) ok((await page.textContent("#model-hint"))!.length > 0 || !model.name.includes("("));
        const form = (await page.locator(".prompt-card").boundingBox())!;
        const output = (await page.locator(".output").boundingBox())!;
        ok(output.x > form.x + form.width - 1, "The output is not beside the form on a desktop");
        notEqual(await page.locator("#history-list .history-item").count(), 0);
      });
    });
  },
  { entry: ENTRY },
);
