import assert from "node:assert/strict";
import { Image } from "imagescript";
import onnx from "onnx-proto";
import { imageSize } from "../_image.ts";
import { decodePreview, encodeImage } from "../../sampler/mod.ts";
import { decoderRange } from "../../sampler/preview_decoder.ts";

const P = onnx.onnx;

/**
 * A tiny "decoder" latent [1,4,h,w] → its first three channels, ending like diffusers' AutoencoderTiny
 * (`x.mul(2).sub(1)`), like the original TAESD (a clamp), or with a Cast after either.
 */
function tinyDecoder(tail: "sub" | "clip" | "cast" | "relu"): Uint8Array {
  const f = P.TensorProto.DataType.FLOAT;
  const i64 = (name: string, v: number[]) => ({
    name,
    dataType: P.TensorProto.DataType.INT64,
    dims: [v.length],
    int64Data: v,
  });
  const scalar = (name: string, v: number) => ({ name, dataType: f, dims: [], floatData: [v] });
  const node = [{ opType: "Slice", input: ["latent_sample", "starts", "ends", "axes"], output: ["rgb"] }];
  if (tail === "clip") node.push({ opType: "Clip", input: ["rgb", "zero", "one"], output: ["sample"] });
  else if (tail === "relu") node.push({ opType: "Relu", input: ["rgb"], output: ["sample"] });
  else {
    node.push({ opType: "Mul", input: ["rgb", "two"], output: ["doubled"] });
    node.push({ opType: "Sub", input: ["doubled", "one"], output: [tail === "cast" ? "pre" : "sample"] });
  }
  if (tail === "cast") {
    node.push(
      {
        opType: "Cast",
        input: ["pre"],
        output: ["sample"],
        attribute: [{ name: "to", i: f, type: P.AttributeProto.AttributeType.INT }],
      } as (typeof node)[number],
    );
  }
  const graph = {
    name: "decoder",
    node,
    initializer: [i64("starts", [0]), i64("ends", [3]), i64("axes", [1]), ...[
      scalar("zero", 0),
      scalar("one", 1),
      scalar("two", 2),
    ]],
    input: [{ name: "latent_sample", type: { tensorType: { elemType: f } } }],
    output: [{ name: "sample", type: { tensorType: { elemType: f } } }],
  };
  return P.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: "", version: 17 }], graph }).finish();
}

Deno.test("every preview method produces an image of the requested size", async () => {
  const x = Float32Array.from({ length: 4 * 8 * 8 }, (_, i) => Math.sin(i));
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
  ];
  for (const method of methods) {
    const rgba = await decodePreview({ x, channels: 4, width: 8, height: 8, method });
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
});

Deno.test("decoderRange() reads a TAESD export's image range from the op that produces it", () => {
  assert.deepEqual(decoderRange(tinyDecoder("sub"), "sample"), [-1, 1], "diffusers: x.mul(2).sub(1)");
  assert.deepEqual(decoderRange(tinyDecoder("cast"), "sample"), [-1, 1], "a Cast is looked through");
  assert.deepEqual(decoderRange(tinyDecoder("clip"), "sample"), [0, 1], "original TAESD, clamped");
  assert.equal(decoderRange(tinyDecoder("relu"), "sample"), undefined, "anything else is unknown");
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
