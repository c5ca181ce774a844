/**
 * Generates one image from the command line.
 *
 * ```sh
 * deno task generate --prompt "a thick seven" --steps 4 --guidance gag --seed 1 --out x.png
 * ```
 *
 * Options: --prompt, --negative, --model, --steps, --seed, --guidance none|pladis|gag, --scale, --eta,
 * --zeta, --cfg, --size (longest side), --out (.png or .jpg), --backend auto|wasm|webgpu|native,
 * --previews DIR (writes every step's preview there).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { GUIDANCE_MODES, type GuidanceMode } from "../guidance/mod.ts";
import {
  BACKEND_CHOICES,
  type BackendChoice,
  createEngine,
  encodeImage,
  guidancePatch,
} from "../sampler/mod.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    prompt: { type: "string", default: "" },
    negative: { type: "string" },
    model: { type: "string" },
    steps: { type: "string" },
    seed: { type: "string" },
    guidance: { type: "string", default: "none" },
    scale: { type: "string" },
    eta: { type: "string" },
    zeta: { type: "string" },
    cfg: { type: "string" },
    size: { type: "string" },
    out: { type: "string", default: "out.png" },
    backend: { type: "string", default: "auto" },
    previews: { type: "string" },
  },
});

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
  const engine = await createEngine({
    modelsDir: new URL("../models", import.meta.url).pathname,
    models: a.model ? [a.model] : undefined,
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
    guidance: {
      mode: a.guidance as GuidanceMode,
      scale: num("scale", a.scale),
      eta: num("eta", a.eta),
      zeta: num("zeta", a.zeta),
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
