import type { AttentionKind } from "./_classify.ts";
import { GUIDANCE_INPUTS } from "./guidance_inputs.ts";
import type { GuidanceScalars } from "./guidance_scalars.ts";

/** A plain tensor value for a session feed. */
export interface ScalarFeed {
  /** One float32 value. */
  data: Float32Array;
  /** Always [1]. */
  dims: number[];
}

/**
 * Builds the feeds of a patched model's guidance inputs (names from `report.inputs`) for one run:
 * each kind takes its scalars, kinds not given take a = b = 0 (their sites reproduce the model),
 * and η and ζ, which are shared, come from the given kinds (they must agree).
 *
 * @example
 * ```ts
 * const feeds = guidanceFeeds(report.inputs, { cross: guidanceScalars({ mode: "gag" }) });
 * await session.run({ ...modelFeeds, ...toOrtTensors(feeds) });
 * ```
 */
export function guidanceFeeds(
  inputs: readonly string[],
  scalars: Partial<Record<AttentionKind, GuidanceScalars>>,
): Record<string, ScalarFeed> {
  const given = Object.values(scalars).filter((s): s is GuidanceScalars => s !== undefined);
  const shared = given[0] ?? { a: 0, b: 0, eta: 15, zeta: 0 };
  for (const s of given) {
    if (s.eta !== shared.eta || s.zeta !== shared.zeta) {
      throw new Error(
        `Cannot build guidance feeds as eta and zeta are shared by all attention kinds: current values are ${
          given.map((g) => `eta=${g.eta} zeta=${g.zeta}`).join(" and ")
        }`,
      );
    }
  }
  const feeds: Record<string, ScalarFeed> = {};
  const put = (name: string, value: number) => {
    if (inputs.includes(name)) feeds[name] = { data: Float32Array.of(value), dims: [1] };
  };
  for (const name of inputs) {
    const match = /^guidance_(a|b)_(\w+)$/.exec(name);
    if (!match) continue;
    const kind = match[2] as AttentionKind;
    put(name, scalars[kind]?.[match[1] as "a" | "b"] ?? 0);
  }
  put(GUIDANCE_INPUTS.eta, shared.eta);
  put(GUIDANCE_INPUTS.zeta, shared.zeta);
  return feeds;
}
