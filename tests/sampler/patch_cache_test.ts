import assert from "node:assert/strict";
import { join } from "node:path";
import { cachedPatch, type CacheOutcome, type PatchFn } from "../../sampler/mod.ts";

function counting(): PatchFn & { calls: number } {
  const calls = { n: 0 };
  const fn: PatchFn = (model) => {
    calls.n++;
    return Promise.resolve({
      model: Uint8Array.from([...model, 42]),
      kinds: ["cross"],
      inputs: ["guidance_eta"],
    });
  };
  return Object.defineProperty(fn, "calls", { get: () => calls.n }) as PatchFn & { calls: number };
}

const req = { layers: "cross" as const, textInput: "text_states", path: "denoiser.onnx" };

Deno.test("the patched-model cache is used on the second start, and its output equals a fresh patch", async () => {
  const dir = await Deno.makeTempDir();
  const outcomes: CacheOutcome[] = [];
  const patch = counting();
  const cached = () => cachedPatch(patch, dir, { version: "1", onOutcome: (_p, o) => void outcomes.push(o) });
  const first = await cached()(Uint8Array.of(1, 2, 3), req);
  const second = await cached()(Uint8Array.of(1, 2, 3), req);
  assert.deepEqual(outcomes, ["miss", "hit"]);
  assert.equal(patch.calls, 1);
  assert.deepEqual(second, first);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a corrupted or truncated cache entry is rebuilt, never served", async () => {
  const dir = await Deno.makeTempDir();
  const outcomes: CacheOutcome[] = [];
  const patch = counting();
  const cached = cachedPatch(patch, dir, { version: "1", onOutcome: (_p, o) => void outcomes.push(o) });
  const good = await cached(Uint8Array.of(5, 6), req);
  const file = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(".onnx"))!.name;
  await Deno.writeFile(join(dir, file), Uint8Array.of(5)); // truncated
  const rebuilt = await cached(Uint8Array.of(5, 6), req);
  await Deno.writeTextFile(join(dir, file.replace(".onnx", ".json")), "{not json");
  const again = await cached(Uint8Array.of(5, 6), req);
  assert.deepEqual(outcomes, ["miss", "rebuilt", "rebuilt"]);
  assert.deepEqual(rebuilt.model, good.model);
  assert.deepEqual(again.model, good.model);
  assert.equal(patch.calls, 3);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a changed source model, other patch options or a new patcher version miss the cache", async () => {
  const dir = await Deno.makeTempDir();
  const outcomes: CacheOutcome[] = [];
  const patch = counting();
  const onOutcome = (_p: string, o: CacheOutcome) => void outcomes.push(o);
  await cachedPatch(patch, dir, { version: "1", onOutcome })(Uint8Array.of(1), req);
  await cachedPatch(patch, dir, { version: "1", onOutcome })(Uint8Array.of(2), req);
  await cachedPatch(patch, dir, { version: "1", onOutcome })(Uint8Array.of(1), { ...req, layers: "all" });
  await cachedPatch(patch, dir, { version: "2", onOutcome })(Uint8Array.of(1), req);
  await cachedPatch(patch, dir, { version: "1", onOutcome })(Uint8Array.of(1), req);
  assert.deepEqual(outcomes, ["miss", "miss", "miss", "miss", "hit"]);
  await Deno.remove(dir, { recursive: true });
});
