/**
 * Result tables of `deno task bench` and `deno task eval`: markdown formatting, number formatting and
 * writing the markdown + JSON pair.
 *
 * @module
 */
import { dirname } from "node:path";

/** A markdown table (GitHub flavour) from a header row and rows of cells. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.map((c) => String(c)).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Formats a number with `digits` decimals, or "–" when it is not finite. */
export function fmt(value: number | undefined | null, digits = 2): string {
  return value === undefined || value === null || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

/** Formats a rate as a percentage with its interval: `91.5 % (87.1–94.5)`. */
export function pct(p: { rate: number; low: number; high: number }, digits = 1): string {
  if (!Number.isFinite(p.rate)) return "–";
  return `${(100 * p.rate).toFixed(digits)} % (${(100 * p.low).toFixed(digits)}–${
    (100 * p.high).toFixed(digits)
  })`;
}

/** Formats a signed difference of rates in percentage points with its interval. */
export function pp(d: { value: number; low: number; high: number }, digits = 1): string {
  const s = (v: number) => `${v >= 0 ? "+" : "−"}${Math.abs(100 * v).toFixed(digits)}`;
  return `${s(d.value)} (${s(d.low)}…${s(d.high)})`;
}

/** The model a result was measured on: the last line of its training log and a short hash of its denoiser. */
export async function describeModel(dir: string, denoiserFile = "denoiser.onnx"): Promise<{
  training: string;
  denoiserSha256: string;
}> {
  const log = await Deno.readTextFile(`${dir}/training_log.txt`).catch(() => "");
  const last = log.trim().split("\n").filter(Boolean).at(-1) ?? "(no training log)";
  const bytes = await Deno.readFile(`${dir}/${denoiserFile}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return {
    training: last,
    denoiserSha256: Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(""),
  };
}

/** Writes `<base>.md` and `<base>.json`, creating the folder. */
export async function writeReport(base: string, markdown: string, json: unknown): Promise<void> {
  await Deno.mkdir(dirname(base), { recursive: true });
  await Deno.writeTextFile(`${base}.md`, markdown.endsWith("\n") ? markdown : markdown + "\n");
  await Deno.writeTextFile(`${base}.json`, JSON.stringify(json, null, 1) + "\n");
  // Formatted as the repository's `deno fmt` wants them, so committed results stay fmt-clean.
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", `${base}.md`, `${base}.json`] }).output()
    .catch(() => {});
}
