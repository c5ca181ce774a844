import assert from "node:assert/strict";
import { layerKinds, servedLayers } from "../../guidance/mod.ts";

Deno.test("servedLayers() serves 'cross' from cross or joint sites and 'all' only with self-attention too", () => {
  assert.deepEqual(servedLayers(["cross"]), ["cross"]);
  assert.deepEqual(servedLayers(["joint"]), ["cross"]);
  assert.deepEqual(servedLayers(["self"]), ["self"]);
  assert.deepEqual(servedLayers(["self", "joint"]), ["cross", "self", "all"]);
  assert.deepEqual(servedLayers([]), []);
});

Deno.test("servedLayers() of a manifest's layers before loading gives what the patch of those layers serves", () => {
  assert.deepEqual(servedLayers(layerKinds("cross")), ["cross"]);
  assert.deepEqual(servedLayers(layerKinds("self")), ["self"]);
  assert.deepEqual(servedLayers(layerKinds("all")), ["cross", "self", "all"]);
});
