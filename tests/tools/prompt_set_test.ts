import { deepStrictEqual, equal, ok } from "@std/assert";
import { createTextTokenizer } from "../../sampler/mod.ts";
import { promptSet } from "../../tools/eval/mod.ts";

const MODEL = new URL("../../models/digits/", import.meta.url);

Deno.test("promptSet() is fixed, balanced over digits, and dev and test differ in prompts and seeds", () => {
  const test = promptSet("test", 200), dev = promptSet("dev", 200);
  deepStrictEqual(promptSet("test", 200), test);
  for (let d = 0; d < 10; d++) equal(test.filter((p) => p.digit === d).length, 20);
  const seeds = new Set(test.map((p) => p.seed));
  equal(seeds.size, 200);
  ok(dev.every((p) => !seeds.has(p.seed)));
  ok(dev.map((p) => p.prompt).join() !== test.map((p) => p.prompt).join());
  const named = test.filter((p) =>
    p.thickness !== undefined || p.slant !== undefined || p.size !== undefined
  );
  ok(named.length > 120 && named.length < 180, `${named.length} of 200 prompts name attributes`);
});

Deno.test("promptSet() prompts use only words the digits tokenizer knows and name what they ask for", async () => {
  const json = JSON.parse(await Deno.readTextFile(new URL("tokenizer.json", MODEL)));
  const tok = createTextTokenizer(json, { length: 12, padToken: "[PAD]", unkToken: "[UNK]" });
  for (const p of promptSet("test", 200)) {
    deepStrictEqual(tok.encode(p.prompt).unknown, [], p.prompt);
    if (p.thickness === 2) ok(/\bthick\b/.test(p.prompt), p.prompt);
    if (p.slant === 0) ok(/slanted left/.test(p.prompt), p.prompt);
    if (p.size === 0) ok(/\bsmall\b/.test(p.prompt), p.prompt);
  }
});
