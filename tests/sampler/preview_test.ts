import assert from "node:assert/strict";
import { Image } from "imagescript";
import onnx from "onnx-proto";
import { imageSize } from "../_image.ts";
import { createBackend, decodePreview, encodeImage } from "../../sampler/mod.ts";

const P = onnx.onnx;

/** A tiny "VAE decoder": latent [1,4,h,w] → first three channels → ×2 nearest upsampling → [1,3,2h,2w]. */
function tinyDecoder(): Uint8Array {
  const f = P.TensorProto.DataType.FLOAT;
  const i64 = (name: string, v: number[]) => ({
    name,
    dataType: P.TensorProto.DataType.INT64,
    dims: [v.length],
    int64Data: v,
  });
  const graph = {
    name: "decoder",
    node: [
      { opType: "Slice", input: ["latent_sample", "starts", "ends", "axes"], output: ["rgb"] },
      {
        opType: "Resize",
        input: ["rgb", "", "scales"],
        output: ["sample"],
        attribute: [{
          name: "mode",
          s: new TextEncoder().encode("nearest"),
          type: P.AttributeProto.AttributeType.STRING,
        }],
      },
    ],
    initializer: [
      i64("starts", [0]),
      i64("ends", [3]),
      i64("axes", [1]),
      { name: "scales", dataType: f, dims: [4], floatData: [1, 1, 2, 2] },
    ],
    input: [{
      name: "latent_sample",
      type: {
        tensorType: {
          elemType: f,
          shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }, { dimParam: "h" }, { dimParam: "w" }] },
        },
      },
    }],
    output: [{ name: "sample", type: { tensorType: { elemType: f } } }],
  };
  return P.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: "", version: 17 }], graph }).finish();
}

Deno.test("every preview method produces an image of the requested size", async () => {
  const x = Float32Array.from({ length: 4 * 8 * 8 }, (_, i) => Math.sin(i));
  const backend = await createBackend("wasm");
  const decoder = await backend.createSession(tinyDecoder(), "tiny decoder");
  const methods = [
    { method: "identity" as const },
    {
      method: "latent2rgb" as const,
      factors: [[0.3, 0.2, 0.2], [0.2, 0.3, 0.2], [0.2, 0.2, 0.3], [-0.2, -0.2, -0.2]] as [
        number,
        number,
        number,
      ][],
      bias: [0, 0, 0] as [number, number, number],
    },
    { method: "decoder" as const, file: "x.onnx", input: "latent_sample", output: "sample", scale: 1 },
  ];
  for (const method of methods) {
    const rgba = await decodePreview({ x, channels: 4, width: 8, height: 8, method, decoder });
    assert.equal(rgba.data.length, rgba.width * rgba.height * 4);
    for (const [format, requested] of [["png", 64], ["jpeg", 40], ["png", undefined]] as const) {
      const bytes = await encodeImage(rgba, { format, size: requested });
      const { width: w, height: h, format: got } = imageSize(bytes);
      assert.equal(got, format);
      assert.equal(
        Math.max(w, h),
        requested ?? Math.max(rgba.width, rgba.height),
        `${method.method} ${format}`,
      );
    }
  }
  await decoder.release();
});

Deno.test("identity previews map -1 and 1 to 0 and 255 and upscale with nearest neighbours", async () => {
  const x = Float32Array.of(-1, 1, 1, -1);
  const rgba = await decodePreview({ x, channels: 1, width: 2, height: 2, method: { method: "identity" } });
  assert.deepEqual(Array.from(rgba.data.filter((_, i) => i % 4 === 0)), [0, 255, 255, 0]);
  const big = await Image.decode(await encodeImage(rgba, { format: "png", size: 8 }));
  // Nearest-neighbour: every pixel is still pure black or white, no interpolated greys.
  for (let y = 1; y <= 8; y++) {
    for (let xx = 1; xx <= 8; xx++) assert.ok([0, 255].includes(big.bitmap[((y - 1) * 8 + xx - 1) * 4]));
  }
});
