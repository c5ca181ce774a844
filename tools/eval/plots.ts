/**
 * The eval's pictures as Vega-Lite specs (data in, spec out) rendered headless to SVG: quality against
 * guidance scale, and a strip of one prompt and seed across scales.
 *
 * @module
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { encodeImage, planarToRgba } from "../../sampler/mod.ts";

/** One point of a stability curve. */
export interface CurvePoint {
  model: string;
  /** PLADIS, GAG η=∞, GAG η=0.3, … */
  method: string;
  scale: number;
  metric: string;
  value: number;
  low?: number;
  high?: number;
}

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Quality against guidance scale: one row per metric, one column per model, one line per method, with the
 * unguided value as a dashed rule and 95 % intervals as bands.
 */
export function stabilitySpec(
  points: CurvePoint[],
  none: { model: string; metric: string; value: number }[],
) {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    data: {
      values: [
        ...points.map((p) => ({ ...p, kind: "guided" })),
        ...none.map((n) => ({ ...n, kind: "none" })),
      ],
    },
    facet: {
      row: { field: "metric", type: "nominal", title: null, header: { labelFontSize: 12 } },
      column: { field: "model", type: "nominal", title: null, header: { labelFontSize: 13 } },
    },
    spec: {
      width: 260,
      height: 170,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'guided'" }],
          mark: { type: "errorband", opacity: 0.15 },
          encoding: {
            x: { field: "scale", type: "quantitative", scale: { type: "log" } },
            y: { field: "low", type: "quantitative" },
            y2: { field: "high" },
            color: { field: "method", type: "nominal" },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'guided'" }],
          mark: { type: "line", point: true },
          encoding: {
            x: {
              field: "scale",
              type: "quantitative",
              scale: { type: "log" },
              title: "scale (w for GAG, λ for PLADIS)",
            },
            y: { field: "value", type: "quantitative", title: null, scale: { zero: false } },
            color: { field: "method", type: "nominal", title: "method" },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'none'" }],
          mark: { type: "rule", strokeDash: [4, 4], color: "#555" },
          encoding: { y: { field: "value", type: "quantitative" } },
        },
      ],
    },
    resolve: { scale: { y: "independent" } },
  } as unknown as TopLevelSpec;
}

/** One image of a strip. */
export interface StripImage {
  model: string;
  method: string;
  scale: number;
  /** `data:image/png;base64,…` */
  url: string;
}

/** A grid of images: one row per method, one column per scale, one block per model. */
export function stripSpec(images: StripImage[], size = 56): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    data: { values: images },
    facet: { row: { field: "model", type: "nominal", title: null } },
    spec: {
      width: { step: size + 8 },
      height: { step: size + 8 },
      mark: { type: "image", width: size, height: size, smooth: false },
      encoding: {
        x: { field: "scale", type: "ordinal", title: "scale (w for GAG, λ for PLADIS)", sort: "ascending" },
        y: {
          field: "method",
          type: "nominal",
          title: null,
          sort: ["none (any scale)", "PLADIS λ", "GAG w, no clip", "GAG w, tuned η"],
        },
        url: { field: "url", type: "nominal" },
      },
    },
  } as unknown as TopLevelSpec;
}

/** A grey-scale image in [-1, 1] (row-major, one channel) as a PNG data URL, encoded as the server does. */
export async function pngDataUrl(pixels: Float32Array, width: number, height: number): Promise<string> {
  const png = await encodeImage(planarToRgba(pixels, 1, width, height), { format: "png" });
  let binary = "";
  for (const b of png) binary += String.fromCharCode(b);
  return `data:image/png;base64,${btoa(binary)}`;
}
