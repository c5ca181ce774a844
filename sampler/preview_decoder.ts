/**
 * The optional TAESD-style preview decoder of an SD pipeline. It only makes previews nicer, so anything
 * wrong with it (missing file, float16 weights without a float32 variant here, other tensor names, an
 * image of the wrong shape) falls back to the manifest's `preview` with one warning instead of failing
 * the model.
 *
 * @module
 */
import type { Backend } from "./backend.ts";
import { castFloat, FLOATS, toFloat32 } from "./_floats.ts";
import type { SdManifest } from "./manifest.ts";
import { openTypedSession, readModelFile } from "./model_files.ts";
import type { ModelSource } from "./model_source.ts";
import { planarToRgba, type Rgba } from "./preview.ts";

type PreviewDecoder = NonNullable<SdManifest["previewDecoder"]>;

/** Calls `visit` with each length-delimited field of one protobuf message (varints and fixed ones skipped). */
function scanMessage(bytes: Uint8Array, visit: (field: number, value: Uint8Array) => void): void {
  let i = 0;
  const varint = () => {
    let value = 0, scale = 1, byte;
    do {
      byte = bytes[i++];
      value += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte & 0x80 && i < bytes.length);
    return value;
  };
  while (i < bytes.length) {
    const tag = varint(), wire = tag % 8;
    if (wire === 0) varint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const n = varint();
      visit(Math.floor(tag / 8), bytes.subarray(i, i + n));
      i += n;
    } else throw new Error(`Cannot read the ONNX model as it has protobuf wire type ${wire}`);
  }
}

/** The nodes of an ONNX model's main graph: op type, inputs and outputs (ModelProto.graph = 7, GraphProto.node = 1). */
function graphNodes(model: Uint8Array): { op: string; inputs: string[]; outputs: string[] }[] {
  const text = new TextDecoder();
  const nodes: { op: string; inputs: string[]; outputs: string[] }[] = [];
  scanMessage(model, (field, graph) => {
    if (field !== 7) return;
    scanMessage(graph, (field, bytes) => {
      if (field !== 1) return;
      const node = { op: "", inputs: [] as string[], outputs: [] as string[] };
      // NodeProto: input = 1, output = 2, op_type = 4.
      scanMessage(bytes, (f, v) => {
        if (f === 1) node.inputs.push(text.decode(v));
        else if (f === 2) node.outputs.push(text.decode(v));
        else if (f === 4) node.op = text.decode(v);
      });
      nodes.push(node);
    });
  });
  return nodes;
}

/**
 * The value range of a decoder's image, read from the op that produces it: diffusers' `AutoencoderTiny`
 * ends with `x.mul(2).sub(1)` ([-1, 1]); the original TAESD decoder ends with its last convolution, or a
 * clamp, ([0, 1]). Casts are looked through. `undefined` when the graph says neither. The model is read
 * with a few lines of protobuf rather than onnx-proto, so this module also runs in a page.
 */
export function decoderRange(model: Uint8Array, output: string): [number, number] | undefined {
  const producer = new Map<string, { op: string; inputs: string[] }>();
  for (const node of graphNodes(model)) for (const o of node.outputs) producer.set(o, node);
  let node = producer.get(output);
  while (node && (node.op === "Cast" || node.op === "Identity")) node = producer.get(node.inputs[0]);
  switch (node?.op) {
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
          data: castFloat(x, types[pd.input]),
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
