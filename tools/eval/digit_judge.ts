/**
 * The digit judge of a model folder (`judge.onnx`: image [B, 1, 28, 28] in [-1, 1] → logits [B, 10],
 * features [B, 128]), run in batches.
 *
 * @module
 */
import { join } from "node:path";
import { type Backend, fileSource, openSession, readModelFile } from "../../sampler/mod.ts";

/** The judge's outputs for a set of images. */
export interface JudgeOutputs {
  /** [n, classes], row-major. */
  logits: Float32Array;
  /** [n, dim], row-major. */
  features: Float32Array;
  classes: number;
  dim: number;
}

/** The manifest fields the judge needs. */
export interface JudgeManifest {
  id: string;
  image: { width: number; height: number; channels: number };
  judge?: { file: string; input: string; logits: string; features: string };
}

/** A loaded judge. */
export interface DigitJudge {
  /** Runs the judge on `n` images in [-1, 1] ([n, 1, 28, 28], values outside are clamped). */
  judge(images: Float32Array, n: number): Promise<JudgeOutputs>;
  release(): Promise<void>;
}

/** Loads the judge named by a manifest's `judge` entry. */
export async function loadDigitJudge(
  backend: Backend,
  dir: string,
  manifest: JudgeManifest,
  { batch = 250 }: { batch?: number } = {},
): Promise<DigitJudge> {
  const j = manifest.judge;
  if (!j) throw new Error(`Cannot judge samples of model '${manifest.id}' as its manifest names no judge`);
  const { width, height, channels } = manifest.image;
  const pixels = width * height * channels;
  const bytes = await readModelFile(fileSource(dir), j.file);
  const session = await openSession(backend, bytes, join(dir, j.file), [j.input], [
    j.logits,
    j.features,
  ]);
  return {
    async judge(images, n) {
      if (images.length !== n * pixels) {
        throw new RangeError(
          `Cannot judge images as the data must hold ${n}×${pixels} values: current length is ${images.length}`,
        );
      }
      let logits = new Float32Array(0), features = new Float32Array(0), classes = 0, dim = 0;
      for (let at = 0; at < n; at += batch) {
        const b = Math.min(batch, n - at);
        const x = images.slice(at * pixels, (at + b) * pixels).map((v) => Math.min(1, Math.max(-1, v)));
        const out = await session.run({ [j.input]: { data: x, dims: [b, channels, height, width] } });
        const l = out[j.logits], f = out[j.features];
        if (at === 0) {
          classes = l.dims[1], dim = f.dims[1];
          logits = new Float32Array(n * classes);
          features = new Float32Array(n * dim);
        }
        logits.set(l.data as Float32Array, at * classes);
        features.set(f.data as Float32Array, at * dim);
      }
      return { logits, features, classes, dim };
    },
    release: () => session.release(),
  };
}
