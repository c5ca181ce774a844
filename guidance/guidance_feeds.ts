/**
 * The feeds of a patched model's guidance inputs: one value per batch row for each of a, b, η and ζ.
 *
 * @module
 */
import type { AttentionKind } from "./_classify.ts";
import { GUIDANCE_INPUTS } from "./guidance_inputs.ts";
import type { GuidanceScalars } from "./guidance_scalars.ts";

/** A plain tensor value for a session feed. */
export interface ScalarFeed {
  /** One float32 value per row. */
  data: Float32Array;
  /** [rows, 1, 1, 1]. */
  dims: number[];
}

/** The guidance of one batch row: scalars per attention kind; kinds not given are left unguided. */
export type GuidanceRow = Partial<Record<AttentionKind, GuidanceScalars>>;

/** η and ζ of a row whose kinds are all unguided (any η > 0 works there, as a = b = 0). */
const UNGUIDED: GuidanceScalars = { a: 0, b: 0, eta: 15, zeta: 0 };

function shared(row: GuidanceRow, index: number): GuidanceScalars {
  const given = Object.values(row).filter((s): s is GuidanceScalars => s !== undefined);
  const first = given[0] ?? UNGUIDED;
  for (const s of given) {
    if (s.eta !== first.eta || s.zeta !== first.zeta) {
      throw new Error(
        `Cannot build guidance feeds as eta and zeta are shared by all attention kinds of a row: current values of row ${index} are ${
          given.map((g) => `eta=${g.eta} zeta=${g.zeta}`).join(" and ")
        }`,
      );
    }
  }
  return first;
}

/**
 * Builds the feeds of a patched model's guidance inputs (names from `report.inputs`) for one run: each
 * kind takes its scalars, kinds not given take a = b = 0 (their sites reproduce the model), and η and
 * ζ, which are shared by the kinds, come from the given kinds (they must agree within a row).
 *
 * Pass one row to guide every batch row alike, or one row per batch row, so rows with different modes
 * and scales share a run.
 *
 * @example
 * ```ts
 * const feeds = guidanceFeeds(report.inputs, { cross: guidanceScalars({ mode: "gag" }) });
 * const mixed = guidanceFeeds(report.inputs, [{}, { cross: guidanceScalars({ mode: "pladis" }) }]);
 * await session.run({ ...modelFeeds, ...toOrtTensors(feeds) });
 * ```
 */
export function guidanceFeeds(
  inputs: readonly string[],
  rows: GuidanceRow | readonly GuidanceRow[],
): Record<string, ScalarFeed> {
  const list: readonly GuidanceRow[] = Array.isArray(rows) ? rows : [rows as GuidanceRow];
  if (list.length === 0) {
    throw new Error("Cannot build guidance feeds as at least one row is needed: current value is 0 rows");
  }
  const common = list.map(shared);
  const feed = (value: (row: GuidanceRow, i: number) => number): ScalarFeed => ({
    data: Float32Array.from(list, value),
    dims: [list.length, 1, 1, 1],
  });
  const feeds: Record<string, ScalarFeed> = {};
  for (const name of inputs) {
    const match = /^guidance_(a|b)_(\w+)$/.exec(name);
    if (match) feeds[name] = feed((row) => row[match[2] as AttentionKind]?.[match[1] as "a" | "b"] ?? 0);
    else if (name === GUIDANCE_INPUTS.eta) feeds[name] = feed((_, i) => common[i].eta);
    else if (name === GUIDANCE_INPUTS.zeta) feeds[name] = feed((_, i) => common[i].zeta);
  }
  return feeds;
}
