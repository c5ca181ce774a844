/**
 * Patches the attention of an ONNX model for GAG/PLADIS guidance.
 *
 * ```sh
 * deno task patch IN.onnx OUT.onnx [--layers cross|self|joint|all|REGEX] [--text-input NAME|--no-text-input]
 * deno task patch IN.onnx --list [--text-input NAME]
 * ```
 *
 * The output runs in any onnxruntime; feed `guidance_a_<kind>`, `guidance_b_<kind>`, `guidance_eta`
 * and `guidance_zeta` (float32, shape [rows, 1, 1, 1]: one value per batch row, or one for all) — all
 * zeros for a and b reproduce the input model.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { findAttentionSites, type LayerSelection, patchAttention } from "../guidance/mod.ts";

const USAGE = `Usage:
  deno task patch IN.onnx OUT.onnx [--layers cross|self|joint|all|REGEX] [--text-input NAME | --no-text-input]
  deno task patch IN.onnx --list [--text-input NAME | --no-text-input]`;

function parseLayers(value: string): LayerSelection {
  if (value === "cross" || value === "self" || value === "joint" || value === "all") return value;
  try {
    return new RegExp(value);
  } catch {
    throw new Error(
      `Cannot select attention layers as '--layers' is not a valid RegExp: current value is ${value}`,
    );
  }
}

/**
 * Runs the command line and returns the exit code.
 *
 * @param args the arguments after the script name
 * @param print where lines of output go
 */
export async function runPatchCli(
  args: string[],
  print: (line: string) => void = console.log,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      layers: { type: "string", default: "cross" },
      "text-input": { type: "string" },
      "no-text-input": { type: "boolean", default: false },
      list: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    print(USAGE);
    return 0;
  }
  const [input, output] = positionals;
  if (!input || (!output && !values.list) || positionals.length > 2) {
    throw new Error(
      `Cannot patch as the arguments are IN.onnx OUT.onnx: current value is '${args.join(" ")}'\n${USAGE}`,
    );
  }
  const textInput = values["no-text-input"] ? null : values["text-input"];
  const layers = parseLayers(values.layers);
  const model = await Deno.readFile(input);
  if (values.list) {
    const list = findAttentionSites(model, { textInput, layers });
    print(`text input: ${list.textInput ?? "(none)"}`);
    for (const s of list.sites) print(`${s.selected ? "*" : " "} ${s.node}  ${s.kind}  ${s.form}`);
    for (const s of list.skipped.filter((k) => !list.sites.some((site) => site.node === k.node))) {
      print(`  ${s.node}  unsupported: ${s.reason}`);
    }
    return 0;
  }
  const { model: patched, report } = patchAttention(model, { textInput, layers });
  await Deno.writeFile(output, patched);
  print(`text input: ${report.textInput ?? "(none)"}`);
  for (const s of report.patched) print(`patched ${s.node}  ${s.kind}  ${s.form}`);
  for (const s of report.skipped) print(`skipped ${s.node}: ${s.reason}`);
  print(`inputs added: ${report.inputs.join(", ")}`);
  print(`wrote ${output} (${patched.length} bytes)`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await runPatchCli(Deno.args));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(1);
  }
}
