/**
 * Norm statistics of the guidance rule's vectors on real prompts: per attention site and sampling step,
 * quantiles of ‖o_d‖, ‖o_s‖, ‖Δ‖ = ‖o_s − o_d‖ and ‖g‖ (ζ = 0: the part of Δ along o_s) over tokens and
 * heads. The clip min(1, η/‖g‖) binds for the tokens whose ‖g‖ exceeds η, so these quantiles give η a
 * scale for each model.
 *
 * @module
 */
import { entmax15, GUIDANCE_EPSILON, probeAttention, softmax } from "../../guidance/mod.ts";
import {
  type Backend,
  type FlowManifest,
  flowTimes,
  gaussianNoise,
  type Pipeline,
  sampleFlowEuler,
  type TensorValue,
} from "../../sampler/mod.ts";

/** Quantiles of one norm over tokens × heads × samples. */
export interface NormQuantiles {
  p10: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

/** The norms of one site at one step. */
export interface SiteNorms {
  node: string;
  kind: string;
  /** 1-based sampling step. */
  step: number;
  dense: NormQuantiles;
  sparse: NormQuantiles;
  delta: NormQuantiles;
  /** ‖g‖ at ζ = 0 (‖Δ∥‖); at ζ = 1, g = Δ. */
  g: NormQuantiles;
  /** Vectors measured (tokens × heads × samples). */
  count: number;
}

/** Quantiles of `values` (sorted in place). */
export function normQuantiles(values: Float64Array): NormQuantiles {
  values.sort();
  const at = (q: number) => values[Math.min(values.length - 1, Math.floor(q * values.length))];
  const mean = values.reduce((t, v) => t + v, 0) / Math.max(1, values.length);
  return { p10: at(0.1), p50: at(0.5), p90: at(0.9), p99: at(0.99), mean };
}

/**
 * Norms of o_d, o_s, Δ and g (ζ = 0) for every query row of scores [..., queries, keys] and values
 * [..., keys, dim] (the leading axes, batch and heads, are shared).
 */
export function ruleNorms(scores: TensorValue, value: TensorValue) {
  const s = scores.data as Float32Array, v = value.data as Float32Array;
  const keys = scores.dims.at(-1)!, queries = scores.dims.at(-2)!, dim = value.dims.at(-1)!;
  const groups = s.length / (keys * queries);
  if (v.length !== groups * keys * dim) {
    throw new Error(
      `Cannot measure attention norms as values [${value.dims}] do not match scores [${scores.dims}]: ` +
        `current value count is ${v.length}`,
    );
  }
  const n = groups * queries;
  const out = {
    dense: new Float64Array(n),
    sparse: new Float64Array(n),
    delta: new Float64Array(n),
    g: new Float64Array(n),
  };
  const od = new Float64Array(dim), os = new Float64Array(dim);
  for (let gi = 0; gi < groups; gi++) {
    for (let q = 0; q < queries; q++) {
      const row = s.subarray((gi * queries + q) * keys, (gi * queries + q + 1) * keys);
      const pd = softmax(row), ps = entmax15(row);
      od.fill(0), os.fill(0);
      for (let j = 0; j < keys; j++) {
        const vo = (gi * keys + j) * dim;
        for (let c = 0; c < dim; c++) od[c] += pd[j] * v[vo + c], os[c] += ps[j] * v[vo + c];
      }
      let nd = 0, ns = 0, nDelta = 0, dot = 0;
      for (let c = 0; c < dim; c++) {
        const d = os[c] - od[c];
        nd += od[c] * od[c], ns += os[c] * os[c], nDelta += d * d, dot += d * os[c];
      }
      const i = gi * queries + q;
      out.dense[i] = Math.sqrt(nd), out.sparse[i] = Math.sqrt(ns), out.delta[i] = Math.sqrt(nDelta);
      // ‖Δ∥‖ = |⟨Δ, o_s⟩| / ‖o_s‖, as the rule computes Δ∥ (with its guard on ‖o_s‖²).
      out.g[i] = Math.abs(dot) / Math.sqrt(Math.max(ns, GUIDANCE_EPSILON));
    }
  }
  return out;
}

/** What {@linkcode attentionNorms} returns. */
export interface AttentionNorms {
  /** One row per site and step. */
  sites: SiteNorms[];
  /** Every site of a kind (cross, self) and every step pooled. */
  pooled: Record<string, Omit<SiteNorms, "node" | "kind" | "step">>;
}

/** Options of {@linkcode attentionNorms}. */
export interface AttentionNormOptions {
  backend: Backend;
  /** The loaded model (its text encoder is used). */
  pipeline: Pipeline;
  /** The unpatched denoiser's bytes. */
  denoiser: Uint8Array;
  prompts: { prompt: string; seed: number }[];
  steps: number;
}

/**
 * Samples `prompts` without guidance through a probed copy of the denoiser and measures, at every site
 * and step, the norms the guidance rule works with.
 */
export async function attentionNorms(options: AttentionNormOptions): Promise<AttentionNorms> {
  const { backend, pipeline, prompts, steps } = options;
  const manifest = pipeline.manifest as FlowManifest;
  const dn = manifest.denoiser;
  const probe = probeAttention(options.denoiser, { textInput: dn.inputs.text });
  const session = await backend.createSession(probe.model, `${manifest.id} attention probe`, {
    optimization: manifest.optimization,
  });
  try {
    const { width, height, channels } = manifest.image;
    const n = prompts.length, pixels = width * height * channels;
    const { states } = await pipeline.encodeText(prompts.map((p) => p.prompt));
    const noise = new Float32Array(n * pixels);
    prompts.forEach((p, i) => noise.set(gaussianNoise(p.seed, pixels), i * pixels));
    const collected = probe.sites.map(() =>
      Array.from(
        { length: steps },
        () => ({ dense: [], sparse: [], delta: [], g: [] } as Record<string, Float64Array[]>),
      )
    );
    let step = 0;
    await sampleFlowEuler(
      async (x, t, dt) => {
        const feeds: Record<string, TensorValue> = {
          [dn.inputs.sample]: { data: x, dims: [n, channels, height, width] },
          [dn.inputs.time]: { data: new Float32Array(n).fill(t), dims: [n] },
          [dn.inputs.text]: states,
        };
        if (dn.inputs.stepSize) feeds[dn.inputs.stepSize] = { data: new Float32Array(n).fill(dt), dims: [n] };
        const out = await session.run(feeds);
        probe.sites.forEach((site, k) => {
          const norms = ruleNorms(out[site.scores], out[site.value]);
          for (const [name, values] of Object.entries(norms)) collected[k][step][name].push(values);
        });
        step++;
        return out[dn.output].data as Float32Array;
      },
      noise,
      flowTimes(steps),
      {},
    );
    const join = (parts: Float64Array[]) => {
      const all = new Float64Array(parts.reduce((t, p) => t + p.length, 0));
      parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
      return all;
    };
    const quantiles = (parts: Record<string, Float64Array[]>) => ({
      dense: normQuantiles(join(parts.dense)),
      sparse: normQuantiles(join(parts.sparse)),
      delta: normQuantiles(join(parts.delta)),
      g: normQuantiles(join(parts.g)),
      count: parts.g.reduce((t, p) => t + p.length, 0),
    });
    const sites = probe.sites.flatMap((site, k) =>
      collected[k].map((c, i) => ({ node: site.node, kind: site.kind, step: i + 1, ...quantiles(c) }))
    );
    const pooled: AttentionNorms["pooled"] = {};
    for (const kind of new Set(probe.sites.map((s) => s.kind))) {
      const parts: Record<string, Float64Array[]> = { dense: [], sparse: [], delta: [], g: [] };
      probe.sites.forEach((s, k) => {
        if (s.kind !== kind) return;
        for (const c of collected[k]) for (const name of Object.keys(parts)) parts[name].push(...c[name]);
      });
      pooled[kind] = quantiles(parts);
    }
    return { sites, pooled };
  } finally {
    await session.release();
  }
}
