import { equal, ok } from "@std/assert";
import { applyGuidance, entmax15, probeAttention, softmax } from "../../guidance/mod.ts";
import { normQuantiles, ruleNorms } from "../../tools/eval/mod.ts";
import { createBackend } from "../../sampler/mod.ts";

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((t, x) => t + x * x, 0));

Deno.test("ruleNorms() measures ‖o_d‖, ‖o_s‖, ‖Δ‖ and ‖g‖ as the guidance rule defines them", () => {
  // One group, two queries, three keys, value dim 2.
  const scores = { data: new Float32Array([2, 1, -1, 0.5, 0.4, 0.3]), dims: [1, 2, 3] };
  const value = { data: new Float32Array([1, 0, 0, 2, -1, 1]), dims: [1, 3, 2] };
  const r = ruleNorms(scores, value);
  for (let q = 0; q < 2; q++) {
    const row = scores.data.subarray(q * 3, q * 3 + 3);
    const mix = (p: Float64Array) =>
      [0, 1].map((c) => p.reduce((t, pj, j) => t + pj * value.data[j * 2 + c], 0));
    const od = mix(softmax(row)), os = mix(entmax15(row));
    // b = 1, a = 0, no clip, ζ = 0: o − o_d = g.
    const guided = applyGuidance(od, os, { a: 0, b: 1, eta: 1e9, zeta: 0 });
    const g = norm(guided.map((x, i) => x - od[i]));
    const close = (a: number, b: number, what: string) => ok(Math.abs(a - b) < 1e-5, `${what}: ${a} vs ${b}`);
    close(r.dense[q], norm(od), "‖o_d‖");
    close(r.sparse[q], norm(os), "‖o_s‖");
    close(r.delta[q], norm(os.map((x, i) => x - od[i])), "‖Δ‖");
    close(r.g[q], g, "‖g‖");
  }
  ok(r.g[0] > 0, "a peaked row has a non-zero guidance vector");
});

Deno.test("normQuantiles() reads quantiles of the values", () => {
  const q = normQuantiles(Float64Array.from({ length: 100 }, (_, i) => 99 - i));
  equal(q.p10, 10);
  equal(q.p50, 50);
  equal(q.p99, 99);
  equal(q.mean, 49.5);
});

Deno.test("probeAttention() exposes the scores and values of every site of the digits denoiser", async () => {
  const model = await Deno.readFile(new URL("../../models/digits-base/denoiser.onnx", import.meta.url));
  const probe = probeAttention(model, { textInput: "text_states" });
  const kinds = new Set(probe.sites.map((s) => s.kind));
  ok(kinds.has("cross") && kinds.has("self"), [...kinds].join(", "));
  equal(probe.sites.length, 8);
  const backend = await createBackend("wasm", { log: () => {} });
  const session = await backend.createSession(probe.model, "probe", { optimization: "disabled" });
  try {
    for (const s of probe.sites) {
      ok(session.outputNames.includes(s.scores) && session.outputNames.includes(s.value));
    }
  } finally {
    await session.release();
  }
});
