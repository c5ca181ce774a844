import assert from "node:assert/strict";
import { join } from "node:path";
import { createEngine, guidancePatch } from "../../sampler/mod.ts";
import { parseManifest } from "../../sampler/manifest.ts";
import { sdManifest } from "../fixtures/sd_model.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function digits(): Promise<Record<string, Record<string, unknown>>> {
  return JSON.parse(await Deno.readTextFile(join(ROOT, "models/digits/manifest.json")));
}

Deno.test("a manifest whose default steps or cfg exceed their max is refused, naming the field", async () => {
  const m = await digits();
  m.steps = { default: 12, max: 8 };
  m.cfg = { default: 3, max: 2 };
  assert.throws(
    () => parseManifest(m, "digits/manifest.json"),
    (e: Error) =>
      e.message.includes("'steps.default' must not exceed max (8): current value is 12") &&
      e.message.includes("'cfg.default' must not exceed max (2): current value is 3"),
  );
  m.steps = { default: 8, max: 8 };
  m.cfg = { default: 2, max: 2 };
  assert.equal(parseManifest(m, "digits/manifest.json").steps.default, 8, "equal is fine");
});

Deno.test("an absurd image or latent size is refused naming the field, before anything is allocated", () => {
  const sd = sdManifest("sd") as Record<string, Record<string, unknown>>;
  sd.image.width = 1_000_000;
  sd.latent.height = 100_000;
  assert.throws(
    () => parseManifest(sd, "sd/manifest.json"),
    (e: Error) =>
      e.message.includes("'image.width' must be at most 4096: current value is 1000000") &&
      e.message.includes("'latent.height' must be at most 1024: current value is 100000"),
  );
});

Deno.test("the engine refuses such a manifest at start with the file and the field", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = await digits();
    m.steps = { default: 9, max: 4 };
    await Deno.mkdir(join(dir, "digits"));
    await Deno.writeTextFile(join(dir, "digits/manifest.json"), JSON.stringify(m));
    await assert.rejects(
      createEngine({ modelsDir: dir, backend: "wasm", patch: guidancePatch, log: () => {}, lazy: true }),
      (e: Error) =>
        e.message.includes(join(dir, "digits/manifest.json")) &&
        e.message.includes("'steps.default' must not exceed max (4): current value is 9"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
