import { deepStrictEqual, equal, ok, throws } from "@std/assert";
import {
  type AttributeThresholds,
  classifyAttributes,
  measureDigits,
  toUnitRange,
} from "../../tools/eval/mod.ts";

const S = 28;

/** A blank 28×28 image with `draw(x, y)` setting pixels to 1. */
function image(fill: (set: (x: number, y: number, v?: number) => void) => void): Float32Array {
  const out = new Float32Array(S * S);
  fill((x, y, v = 1) => out[y * S + x] = v);
  return out;
}

/** A one-pixel-wide stroke from (x0, y0) to (x1, y1), `width` pixels thick horizontally. */
const stroke = (x0: number, y0: number, x1: number, y1: number, width = 1) =>
  image((set) => {
    for (let y = Math.min(y0, y1); y <= Math.max(y0, y1); y++) {
      const x = Math.round(x0 + (x1 - x0) * (y - y0) / (y1 - y0));
      for (let w = 0; w < width; w++) set(x + w, y);
    }
  });

const concat = (...images: Float32Array[]) => {
  const out = new Float32Array(images.length * S * S);
  images.forEach((im, i) => out.set(im, i * S * S));
  return out;
};

const TH: AttributeThresholds = {
  slant: [-0.05, 0.3],
  classes: { "1": { ink: [20, 40], area: 100 } },
};

Deno.test("measureDigits() reads ink and bounding-box area of a filled rectangle", () => {
  const rect = image((set) => {
    for (let y = 4; y < 24; y++) for (let x = 10; x < 15; x++) set(x, y);
  });
  const m = measureDigits(rect, 1);
  equal(m.ink[0], 100);
  equal(m.area[0], 20 * 5);
  ok(Math.abs(m.slant[0]) < 1e-12, `an upright rectangle has slant ${m.slant[0]}`);
});

Deno.test("measureDigits() gives a stroke leaning right a positive slant and its mirror a negative one", () => {
  // Top at the right (row 4, column 18), bottom at the left (row 23, column 9).
  const right = stroke(18, 4, 9, 23), left = stroke(9, 4, 18, 23);
  const m = measureDigits(concat(right, left), 2);
  ok(m.slant[0] > 0.3, `right-leaning slant ${m.slant[0]}`);
  ok(Math.abs(m.slant[0] + m.slant[1]) < 1e-9, "mirror images have opposite slants");
  // The line's dx/dy is −9/19, and slant = −μ₁₁/μ₀₂ is minus the least-squares dx/dy.
  ok(Math.abs(m.slant[0] - 9 / 19) < 0.03, `slant ${m.slant[0]} ≈ 9/19 (rounded pixels)`);
});

Deno.test("measureDigits() ignores faint pixels for the box but counts them as ink", () => {
  const im = image((set) => {
    set(5, 5, 0.25); // below the 0.3 threshold
    set(10, 10);
    set(12, 14);
  });
  const m = measureDigits(im, 1);
  equal(m.area[0], 5 * 3);
  ok(Math.abs(m.ink[0] - 2.25) < 1e-6);
  equal(measureDigits(new Float32Array(S * S), 1).area[0], 0);
});

Deno.test("classifyAttributes() sorts hand-made digits into thin/thick, left/upright/right and small/large", () => {
  const thinUpright = stroke(14, 4, 14, 23); // ink 20, area 20
  const thickRight = stroke(18, 2, 8, 25, 3); // ink 72, box 24 rows × 13 columns
  const regularLeft = stroke(9, 4, 17, 23, 2); // ink 40, box 20 × 10 = 200
  const m = measureDigits(concat(thinUpright, thickRight, regularLeft), 3);
  const a = classifyAttributes(m, [1, 1, 1], TH);
  deepStrictEqual([...a.thickness], [1, 2, 1]);
  deepStrictEqual([...a.slant], [1, 2, 0]);
  deepStrictEqual([...a.size], [0, 1, 1]);
  const thin = classifyAttributes(measureDigits(stroke(14, 10, 14, 20), 1), [1], TH);
  equal(thin.thickness[0], 0);
});

Deno.test("classifyAttributes() names a class without thresholds", () => {
  throws(() => classifyAttributes(measureDigits(new Float32Array(S * S), 1), [7], TH), /class '7'/);
});

Deno.test("toUnitRange() maps [-1, 1] samples to [0, 1], clamping overshoot", () => {
  deepStrictEqual([...toUnitRange([-1.5, -1, 0, 1, 2])], [0, 0, 0.5, 1, 1]);
});
