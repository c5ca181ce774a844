import assert from "node:assert/strict";
import { join } from "node:path";
import { fetchModel, parseFetchArgs } from "../../tools/fetch_model.ts";
import { parseManifest, type SdManifest } from "../../sampler/manifest.ts";

Deno.test("fetch-model takes --manifest-only as a flag wherever it stands, not as the folder", () => {
  assert.deepEqual(parseFetchArgs(["sd-turbo", "--manifest-only"]), {
    id: "sd-turbo",
    dir: undefined,
    manifestOnly: true,
    help: false,
  });
  assert.deepEqual(parseFetchArgs(["--manifest-only", "sd-turbo", "x"]), {
    id: "sd-turbo",
    dir: "x",
    manifestOnly: true,
    help: false,
  });
  assert.throws(() => parseFetchArgs(["sd-turbo", "--manifest"]), /--manifest is not an option/);
});

Deno.test("fetch-model sd-turbo --manifest-only writes the public export's manifest: float16 weights, float32 boundary", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await fetchModel(["sd-turbo", join(dir, "sd-turbo"), "--manifest-only"]), 0);
    const path = join(dir, "sd-turbo/manifest.json");
    const m = parseManifest(JSON.parse(await Deno.readTextFile(path)), path) as SdManifest;
    for (const c of [m.textEncoder, m.unet, m.vae, m.previewDecoder!]) {
      assert.equal(c.weights, "float16", c.file);
      assert.equal(c.io, "float32", c.file);
    }
    assert.equal(m.textEncoder.inputType, "int32");
    assert.equal(m.unet.timestepType, "int64");
    assert.equal(m.tokenizer.padToken, "!");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
