import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { testEngine } from "../_engine.ts";

const ENTRY = new URL("../../sampler/browser.ts", import.meta.url);

/** Bare imports a page maps to ESM builds; anything else bare is a dependency the page cannot load. */
const MAPPED = ["zod", "@huggingface/tokenizers"];

/** Comments and string contents removed, so prose that mentions Deno does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "").replace(/`(?:\\.|[^`\\])*`/g, "``");
}

/** The runtime import graph of a module (type-only imports are erased by every TypeScript compiler). */
async function importGraph(entry: URL): Promise<{ local: Map<string, string>; bare: Map<string, string> }> {
  const local = new Map<string, string>(), bare = new Map<string, string>();
  const queue = [entry.href];
  while (queue.length) {
    const url = queue.pop()!;
    if (local.has(url)) continue;
    const text = await Deno.readTextFile(new URL(url));
    local.set(url, text);
    const specifiers = [
      ...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^;]*?\sfrom\s+)?["']([^"']+)["']/gm),
      ...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
    ].map((m) => m[1]);
    for (const s of specifiers) {
      if (s.startsWith(".")) queue.push(new URL(s, url).href);
      else bare.set(s, url);
    }
  }
  return { local, bare };
}

Deno.test("sampler/browser.ts imports no module that touches Deno, node:, onnxruntime-node, imagescript or a CommonJS package", async () => {
  const { local, bare } = await importGraph(ENTRY);
  const names = [...local.keys()].map((u) => fileURLToPath(u).replace(/^.*\/(sampler|guidance)\//, "$1/"));
  for (
    const pure of [
      "sampler/text.ts",
      "sampler/schedules.ts",
      "sampler/rng.ts",
      "sampler/euler.ts",
      "sampler/cfg.ts",
      "sampler/job.ts",
      "sampler/engine.ts",
      "sampler/flow_pipeline.ts",
      "guidance/guidance_scalars.ts",
      "guidance/guidance_feeds.ts",
    ]
  ) {
    assert.ok(names.includes(pure), `the browser entry reaches ${pure}`);
  }
  const offenders = [...local].flatMap(([url, text]) =>
    /\bDeno\./.test(code(text)) ? [`${fileURLToPath(url)} uses Deno.`] : []
  );
  for (const [specifier, from] of bare) {
    if (!MAPPED.includes(specifier)) offenders.push(`${fileURLToPath(from)} imports '${specifier}'`);
  }
  assert.deepEqual(offenders, [], "modules of the browser entry that a page cannot load");
});

Deno.test({
  name: "the browser entry imported without the Deno global generates the same pixels as the server's engine",
  async fn() {
    const child = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", fileURLToPath(new URL("./_browser_probe.ts", import.meta.url))],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(child.stderr);
    assert.ok(child.success, stderr);
    const out = JSON.parse(new TextDecoder().decode(child.stdout));
    assert.equal(out.deno, "undefined");
    const engine = await testEngine("wasm");
    try {
      const job = engine.prepare({ prompt: "a thick seven", steps: 2, seed: 11, guidance: { mode: "gag" } });
      assert.deepEqual(out.job, JSON.parse(JSON.stringify(job)));
      const gen = await engine.generate(job);
      assert.deepEqual(out.pixels, [...gen.image.data]);
    } finally {
      await engine.close();
    }
  },
});
