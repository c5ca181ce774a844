/**
 * The optional TAESD-style preview decoder of an SD pipeline. It only makes previews nicer, so anything
 * wrong with it (missing file, float16 weights without a float32 variant here, other tensor names, an
 * image of the wrong shape) falls back to the manifest's `preview` with one warning instead of failing
 * the model.
 *
 * @module
 */
import onnx from "onnx-proto";
import type { Backend, TensorData } from "./backend.ts";
import type { SdManifest } from "./manifest.ts";
import { openTypedSession, readModelFile } from "./model_files.ts";
import type { ModelSource } from "./model_source.ts";
import { planarToRgba, type Rgba } from "./preview.ts";

type PreviewDecoder = NonNullable<SdManifest["previewDecoder"]>;

const FLOATS = ["float32", "float16"] as const;

/**
 * The value range of a decoder's image, read from the op that produces it: diffusers' `AutoencoderTiny`
 * ends with `x.mul(2).sub(1)` ([-1, 1]); the original TAESD decoder ends with its last convolution, or a
 * clamp, ([0, 1]). Casts are looked through. `undefined` when the graph says neither.
 */
export function decoderRange(model: Uint8Array, output: string): [number, number] | undefined {
  const graph = onnx.onnx.ModelProto.decode(model).graph;
  const producer = new Map<string, onnx.onnx.INodeProto>();
  for (const node of graph?.node ?? []) for (const o of node.output ?? []) producer.set(o, node);
  let node = producer.get(output);
  while (node && (node.opType === "Cast" || node.opType === "Identity")) node = producer.get(node.input![0]);
  switch (node?.opType) {
    case "Sub":
      return [-1, 1];
    case "Conv":
    case "Clip":
    case "Sigmoid":
      return [0, 1];
    default:
      return undefined;
  }
}

function toFloat32(data: TensorData): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data as Float16Array);
}

/** Options of {@linkcode openPreviewDecoder}. */
export interface PreviewDecoderOptions {
  source: ModelSource;
  decoder: PreviewDecoder;
  latent: SdManifest["latent"];
  backend: Backend;
  /** Where the one warning goes when the decoder cannot be used. */
  log: (message: string) => void;
}

/**
 * Opens the preview decoder and checks it with one decode of a zero latent.
 *
 * @returns the preview renderer and a release function, or `undefined` (after one warning) when the
 * decoder cannot be used
 */
export async function openPreviewDecoder(
  { source, decoder: pd, latent, backend, log }: PreviewDecoderOptions,
): Promise<{ render(x0: Float32Array): Promise<Rgba>; release(): Promise<void> } | undefined> {
  const file = pd.weights === "float16" && !backend.float16 ? pd.float32File : pd.file;
  if (!file) {
    log(
      `Preview decoder ${
        source.path(pd.file)
      } is not used as its weights are float16 and the ${backend.name} ` +
        `backend has no float16 support: previews use the manifest's 'preview' method (a 'float32File' would do)`,
    );
    return undefined;
  }
  const path = source.path(file);
  if (!(await source.exists(file))) {
    log(`Preview decoder ${path} is not there: previews use the manifest's 'preview' method`);
    return undefined;
  }
  const { channels, width, height } = latent;
  let opened: Awaited<ReturnType<typeof openTypedSession>> | undefined;
  try {
    const bytes = await readModelFile(source, file);
    const [lo, hi] = pd.range ?? decoderRange(bytes, pd.output) ?? [-1, 1];
    opened = await openTypedSession(
      backend,
      bytes,
      path,
      { [pd.input]: { allowed: FLOATS, declared: pd.io }, [pd.output]: { allowed: FLOATS, declared: pd.io } },
      [pd.output],
    );
    const { session, types } = opened;
    const render = async (x0: Float32Array): Promise<Rgba> => {
      const x = pd.scale === 1 ? x0 : x0.map((v) => v * pd.scale);
      const out = await session.run({
        [pd.input]: {
          data: types[pd.input] === "float16" ? Float16Array.from(x) : x,
          dims: [1, channels, height, width],
        },
      });
      const img = out[pd.output];
      const [, c, h, w] = img.dims;
      let data = toFloat32(img.data);
      // planarToRgba takes [-1, 1].
      if (lo !== -1 || hi !== 1) data = data.map((v) => (v - lo) / (hi - lo) * 2 - 1);
      return planarToRgba(data, c, w, h);
    };
    const probe = await session.run({
      [pd.input]: {
        data: types[pd.input] === "float16"
          ? new Float16Array(channels * width * height)
          : new Float32Array(channels * width * height),
        dims: [1, channels, height, width],
      },
    });
    const dims = probe[pd.output].dims;
    if (dims.length !== 4 || dims[0] !== 1 || dims[1] !== 3) {
      throw new Error(`its output '${pd.output}' has shape [${dims.join(", ")}], not [1, 3, height, width]`);
    }
    return { render, release: () => session.release() };
  } catch (e) {
    await opened?.session.release();
    log(
      `Preview decoder ${path} is not used: ${
        (e as Error).message.replace(/^Cannot load model file \S+ as /, "")
      }` +
        `; previews use the manifest's 'preview' method`,
    );
    return undefined;
  }
}
