/**
 * Generates one image from the command line: `deno task generate --help` lists the options.
 *
 * ```sh
 * deno task generate --prompt "a thick seven" --steps 4 --guidance gag --seed 1 --out x.png
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { GUIDANCE_MODES, type GuidanceMode, LAYER_NAMES } from "../guidance/mod.ts";
import {
  BACKEND_CHOICES,
  type BackendChoice,
  createEngine,
  encodeImage,
  guidancePatch,
} from "../sampler/mod.ts";

const USAGE = `Usage: deno task generate [options]

Generates one image with a model from models/ and writes it to a file.

Options:
  --prompt TEXT        what to draw (default: empty, an unconditional sample)
  --negative TEXT      the CFG/APG unconditional prompt (default: empty)
  --model ID           model folder under models/ (default: the server's default model)
  --steps N            sampling steps (default: the model's)
  --seed N             noise seed, 0..2^32-1 (default: random; printed)
  --guidance MODE      ${GUIDANCE_MODES.join(" | ")} (default: none)
  --scale X            GAG w or PLADIS λ (default: the model's tuned value)
  --eta X              GAG norm clip η (default: the model's)
  --zeta X             GAG share of Δ⊥ kept, 0..1 (default: the model's)
  --layers KIND        attention layers to guide: cross | self | all (default: the model's)
  --cfg X              classifier-free guidance scale; > 1 runs two passes (default: 1)
  --apg                use adaptive projected guidance at the --cfg scale instead of CFG
  --size N             longest side of the written image in pixels (default: the model's size)
  --out FILE           .png or .jpg (default: out.png)
  --backend NAME       ${BACKEND_CHOICES.join(" | ")} (default: auto)
  --previews DIR       also write every step's preview there
  -h, --help           this help`;

const OPTIONS = {
  prompt: { type: "string", default: "" },
  negative: { type: "string" },
  model: { type: "string" },
  steps: { type: "string" },
  seed: { type: "string" },
  guidance: { type: "string", default: "none" },
  scale: { type: "string" },
  eta: { type: "string" },
  zeta: { type: "string" },
  layers: { type: "string" },
  cfg: { type: "string" },
  apg: { type: "boolean", default: false },
  size: { type: "string" },
  out: { type: "string", default: "out.png" },
  backend: { type: "string", default: "auto" },
  previews: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

let parsed;
try {
  parsed = parseArgs({ args: Deno.args, options: OPTIONS });
} catch (e) {
  console.error(`${(e as Error).message.split("\n")[0]}; see deno task generate --help`);
  Deno.exit(2);
}
const a = parsed.values;
if (a.help) {
  console.log(USAGE);
  Deno.exit(0);
}

const num = (name: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) {
    throw new Error(`Cannot generate as --${name} must be a number: current value is ${v}`);
  }
  return n;
};

try {
  if (!GUIDANCE_MODES.includes(a.guidance as GuidanceMode)) {
    throw new Error(
      `Cannot generate as --guidance must be one of ${
        GUIDANCE_MODES.join(", ")
      }: current value is ${a.guidance}`,
    );
  }
  if (!(BACKEND_CHOICES as readonly string[]).includes(a.backend!)) {
    throw new Error(
      `Cannot generate as --backend must be one of ${
        BACKEND_CHOICES.join(", ")
      }: current value is ${a.backend}`,
    );
  }
  if (a.layers !== undefined && !(LAYER_NAMES as readonly string[]).includes(a.layers)) {
    throw new Error(`Cannot generate as --layers must be cross, self or all: current value is ${a.layers}`);
  }
  const engine = await createEngine({
    modelsDir: new URL("../models", import.meta.url).pathname,
    // Only the model asked for is loaded, on first use.
    lazy: true,
    backend: a.backend as BackendChoice,
    patch: guidancePatch,
    log: () => {},
  });
  const format = /\.jpe?g$/i.test(a.out!) ? "jpeg" : "png";
  const size = num("size", a.size);
  if (a.previews) await Deno.mkdir(a.previews, { recursive: true });
  const job = engine.prepare({
    model: a.model,
    prompt: a.prompt!,
    negativePrompt: a.negative,
    steps: num("steps", a.steps),
    seed: num("seed", a.seed),
    cfg: num("cfg", a.cfg),
    ...(a.apg ? { apg: {} } : {}),
    guidance: {
      mode: a.guidance as GuidanceMode,
      scale: num("scale", a.scale),
      eta: num("eta", a.eta),
      zeta: num("zeta", a.zeta),
      ...(a.layers ? { layers: a.layers as "cross" | "self" | "all" } : {}),
    },
  });
  const gen = await engine.generate(job, {
    onStep: async (s) => {
      if (a.previews) {
        await Deno.writeFile(
          `${a.previews}/step_${s.step}.png`,
          await encodeImage(await s.render(), { format: "png", size }),
        );
      }
    },
  });
  await Deno.writeFile(a.out!, await encodeImage(gen.image, { format, size }));
  console.log(
    `${a.out}: model ${gen.model}, seed ${gen.seed}, ${gen.steps} steps, guidance ${gen.mode}, cfg ${gen.cfg}, ` +
      `${gen.elapsedMs.toFixed(0)} ms on ${engine.backend.name}` +
      (gen.unknownWords.length ? `; unknown words: ${gen.unknownWords.join(", ")}` : ""),
  );
  await engine.close();
} catch (e) {
  console.error((e as Error).message);
  Deno.exit(1);
}
