/**
 * The model manifest (`models/<id>/manifest.json`), validated with zod.
 *
 * @module
 */
import { z } from "zod";
import { OPTIMIZATION_LEVELS } from "./backend.ts";
import { LAYER_KINDS } from "../guidance/layer_kinds.ts";

const file = z.string().min(1).refine((f) => !f.includes(".."), "must stay inside the model folder");
const range = z.tuple([z.number(), z.number()]).refine(([a, b]) => a <= b, "min must not exceed max");

/** A size in elements, bounded so that a typo fails here, naming the field, rather than in an allocation. */
const size = (max: number) =>
  z.number().int().positive().max(max, {
    error: (i) => `must be at most ${max}: current value is ${i.input}`,
  });

/** `{ default, max }` whose default does not exceed its max. */
const capped = (value: z.ZodNumber) =>
  z.object({ default: value, max: value }).check((ctx) => {
    const { default: d, max } = ctx.value;
    if (d > max) {
      ctx.issues.push({
        code: "custom",
        input: d,
        path: ["default"],
        message: `must not exceed max (${max}): current value is ${d}`,
      });
    }
  });

/** How a step's clean-sample estimate becomes a preview image. */
export const PreviewSchema = z.discriminatedUnion("method", [
  z.object({ method: z.literal("identity") }),
  z.object({
    method: z.literal("latent2rgb"),
    /** One row of [r, g, b] per latent channel. */
    factors: z.array(z.tuple([z.number(), z.number(), z.number()])).min(1),
    bias: z.tuple([z.number(), z.number(), z.number()]).default([0, 0, 0]),
  }),
]);

const GuidanceSchema = z.object({
  /** Which attention layers the server patches (the request may pick any subset of these kinds). */
  layers: z.enum(LAYER_KINDS).default("cross"),
  defaults: z.object({
    pladis: z.object({ scale: z.number() }),
    gag: z.object({ scale: z.number(), eta: z.number(), zeta: z.number() }),
  }),
  ranges: z.object({
    pladis: z.object({ scale: range }),
    gag: z.object({ scale: range, eta: range, zeta: range }),
  }),
  /**
   * Scales from which the eval measured adherence falling clearly below no guidance (at the default η for
   * GAG): clients mark the range above as over-guiding.
   */
  overGuiding: z.object({ gag: z.number().positive().optional(), pladis: z.number().positive().optional() })
    .default({}),
});

const TextEncoderSchema = z.object({
  file,
  input: z.string(),
  inputType: z.enum(["int64", "int32"]).default("int64"),
  output: z.string(),
});

const common = {
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, "must be lowercase letters, digits, '.', '_' or '-'"),
  name: z.string(),
  /** One or two sentences on what the model is for, shown to users. */
  description: z.string().optional(),
  license: z.object({ weights: z.string(), data: z.string().optional() }),
  image: z.object({
    width: size(4096),
    height: size(4096),
    channels: size(4),
    /** Value range of the model's output image. */
    range: range.default([-1, 1]),
  }),
  tokenizer: z.object({
    file,
    length: z.number().int().positive(),
    padToken: z.string().default("[PAD]"),
    unkToken: z.string().optional(),
    /** Tokens around the prompt (CLIP: `<|startoftext|>`, `<|endoftext|>`). */
    bos: z.string().optional(),
    eos: z.string().optional(),
  }),
  textEncoder: TextEncoderSchema,
  steps: capped(z.number().int().positive().max(1000)),
  preview: PreviewSchema,
  guidance: GuidanceSchema,
  cfg: capped(z.number().min(1)),
  /**
   * onnxruntime graph optimisation for this model's sessions. Small models that gain nothing from
   * fusions start several times faster with `disabled`.
   */
  optimization: z.enum(OPTIMIZATION_LEVELS).default("all"),
};

/** A pixel-space flow / shortcut model sampled with `flow-euler`. */
export const FlowManifestSchema = z.object({
  ...common,
  kind: z.literal("flow"),
  denoiser: z.object({
    file,
    inputs: z.object({
      sample: z.string(),
      time: z.string(),
      stepSize: z.string().optional(),
      text: z.string(),
    }),
    output: z.string(),
    prediction: z.literal("velocity"),
  }),
  sampler: z.literal("flow-euler"),
  judge: z.object({ file, input: z.string(), logits: z.string(), features: z.string() }).optional(),
  attributes: file.optional(),
});

const float = z.enum(["float32", "float16"]);

/**
 * One ONNX file of a pipeline. Its weights' precision decides where it runs; the element types at its
 * boundary are read from the file itself (onnxruntime reports them), so an export with float16 weights
 * and float32 inputs and outputs, as the public SD-Turbo one, is described by `weights: "float16"` alone.
 */
const component = <T extends z.ZodRawShape>(tensors: T) =>
  z.object({
    file,
    /** Precision of the weights and compute inside: float16 needs WebGPU with `shader-f16` or a `float32File`. */
    weights: float.default("float32"),
    /** Element type of the float inputs and outputs where the runtime does not report the file's own. */
    io: float.default("float32"),
    /** The float32 variant used where the backend cannot run `weights: float16`. */
    float32File: file.optional(),
    /**
     * Sizes of the file's symbolic dimensions (onnxruntime `freeDimensionOverrides`), as public clients of
     * the SD-Turbo export set them; the batch dimension stays free for CFG and batching.
     */
    dimensions: z.record(z.string(), z.number().int().positive()).optional(),
    dtype: z.never({
      error:
        "was split into 'weights' (float16 needs WebGPU with shader-f16) and 'io' (the file's input and " +
        "output type, float32 in the public SD-Turbo export); write the manifest again with deno task fetch-model",
    }).optional(),
    ...tensors,
  });

/**
 * A Stable-Diffusion-style latent pipeline (SD-Turbo): CLIP text encoder, ε-prediction UNet sampled
 * with Euler over the σ schedule, VAE decoder. Tensor names and types come from here, not from code.
 */
export const SdManifestSchema = z.object({
  ...common,
  kind: z.literal("sd"),
  textEncoder: component({
    input: z.string(),
    inputType: z.enum(["int64", "int32"]).default("int32"),
    output: z.string(),
  }),
  unet: component({
    inputs: z.object({ sample: z.string(), timestep: z.string(), text: z.string() }),
    timestepType: z.enum(["int64", "int32", "float32", "float16"]).default("int64"),
    output: z.string(),
    prediction: z.literal("epsilon"),
  }),
  latent: z.object({
    channels: size(64),
    width: size(1024),
    height: size(1024),
    /** Latents are divided by this before the VAE (0.18215 for SD 1.x/2.x). */
    scalingFactor: z.number().positive(),
  }),
  vae: component({ input: z.string(), output: z.string() }),
  /**
   * A TAESD-style preview decoder, used for previews when it loads (else `preview`, with one warning).
   * `range` is its image's value range; by default it is read from the file (diffusers' AutoencoderTiny
   * gives [-1, 1], the original TAESD decoder [0, 1]).
   */
  previewDecoder: component({
    input: z.string(),
    output: z.string(),
    /** Latents are multiplied by this before decoding (1 for TAESD, which takes the UNet's latents). */
    scale: z.number().default(1),
    range: range.optional(),
  }).optional(),
  sampler: z.literal("euler"),
  schedule: z.object({
    trainSteps: z.number().int().positive().default(1000),
    betaStart: z.number().positive().default(0.00085),
    betaEnd: z.number().positive().default(0.012),
  }).default({ trainSteps: 1000, betaStart: 0.00085, betaEnd: 0.012 }),
});

/** A manifest of any supported model kind. */
export const ManifestSchema = z.discriminatedUnion("kind", [FlowManifestSchema, SdManifestSchema]);

/** A validated manifest. */
export type Manifest = z.infer<typeof ManifestSchema>;
/** A validated flow-model manifest. */
export type FlowManifest = z.infer<typeof FlowManifestSchema>;
/** A validated SD-style manifest. */
export type SdManifest = z.infer<typeof SdManifestSchema>;
/** A preview method. */
export type PreviewMethod = z.infer<typeof PreviewSchema>;

/**
 * Parses a manifest, naming the file and every bad field in the error.
 *
 * @param path shown in errors
 */
export function parseManifest(json: unknown, path: string): Manifest {
  const result = ManifestSchema.safeParse(json);
  if (!result.success) {
    const fields = result.error.issues.map((i) => `'${i.path.join(".") || "(root)"}' ${i.message}`);
    throw new Error(`Cannot load model manifest ${path} as ${fields.join("; ")}`);
  }
  return result.data;
}
