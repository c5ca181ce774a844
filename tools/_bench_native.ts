/**
 * onnxruntime-node with intra-op thread spinning turned off, for one bench row only: it shows what the
 * engine's native backend (`sampler/backend.ts`, spinning on by default) would gain on a machine whose cores
 * are shared with other work. Not a second engine wrapper: nothing but the bench uses it.
 *
 * @module
 */
import type { Backend, TensorData, TensorValue } from "../sampler/mod.ts";

/** A native backend whose sessions do not spin-wait between parallel sections. */
export async function nativeWithoutSpinning(): Promise<Backend> {
  const ort = await import("onnxruntime-node");
  return {
    name: "native",
    reason: "onnxruntime-node, session.intra_op.allow_spinning = 0 (bench only)",
    float16: false,
    async createSession(model, label, { optimization = "all" } = {}) {
      const s = await ort.InferenceSession.create(model, {
        executionProviders: ["cpu"],
        graphOptimizationLevel: optimization,
        extra: { session: { intra_op: { allow_spinning: "0" } } },
      });
      return {
        inputNames: s.inputNames,
        outputNames: s.outputNames,
        types: {},
        async run(feeds: Record<string, TensorValue>) {
          const tensors = Object.fromEntries(
            s.inputNames.map((n) => [n, new ort.Tensor(feeds[n].data as Float32Array, feeds[n].dims)]),
          );
          let out;
          try {
            out = await s.run(tensors);
          } catch (e) {
            throw new Error(`Cannot run ${label}: ${(e as Error).message}`, { cause: e });
          }
          return Object.fromEntries(
            Object.entries(out).map(([k, t]) => [k, { data: t.data as TensorData, dims: t.dims }]),
          );
        },
        release: () => s.release(),
      };
    },
  };
}
