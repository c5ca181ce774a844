/**
 * The markdown of the guidance study: a summary answering "does GAG help?" per model, then each model's
 * norm statistics, tuned defaults and test sections.
 *
 * @module
 */
import { fmt, markdownTable, pct, pp } from "../_report.ts";
import type { CellRow, ModelStudy, StudyPlan } from "./study_model.ts";
import { label } from "./study.ts";
import { STABILITY_SCALE, STABLE_TOLERANCE } from "./tuning.ts";

const fd = (r: CellRow) => `${fmt(r.fd.value, 1)} ± ${fmt(1.96 * (r.fd.sd ?? NaN), 1)}`;

function cellTable(
  rows: CellRow[],
  first: { name: string; value: (r: CellRow) => string | number }[],
): string {
  return markdownTable(
    [...first.map((f) => f.name), "digit", "Δ digit vs none (pp)", "attributes", "Δ attributes (pp)", "FD"],
    rows.map((r) => [
      ...first.map((f) => f.value(r)),
      pct(r.digit),
      r.dDigit ? pp(r.dDigit) : "–",
      pct(r.attributes),
      r.dAttributes ? pp(r.dAttributes) : "–",
      fd(r),
    ]),
  );
}

/** The answer per model, at the most steps tested: differences against none, digit / attributes. */
export function summarySection(studies: ModelStudy[], plan: StudyPlan): string[] {
  const steps = plan.testSteps.at(-1)!;
  const both = (r?: CellRow) => (r?.dDigit && r.dAttributes ? `${pp(r.dDigit)} / ${pp(r.dAttributes)}` : "–");
  const rows = studies.map((s) => {
    const at = (mode: string) => s.sections.headline.find((r) => r.mode === mode && r.steps === steps)!;
    const w10 = s.sections.stability.find((r) =>
      r.spec.guidance?.scale === STABILITY_SCALE && r.spec.guidance?.eta === s.defaults.gag.eta
    );
    const off10 = s.sections.stability.find((r) =>
      r.spec.guidance?.scale === STABILITY_SCALE && r.spec.guidance?.eta === s.etaOff
    );
    const cfg = s.sections.combined.find((r) => r.mode === "cfg" && r.steps === steps);
    const none = at("none");
    return [
      s.id,
      `${pct(none.digit)} / ${pct(none.attributes)}`,
      `${label(at("gag").spec).replace("gag ", "")}: ${both(at("gag"))}`,
      `${label(at("pladis").spec).replace("pladis ", "")}: ${both(at("pladis"))}`,
      both(w10),
      both(off10),
      cfg ? `${cfg.spec.cfg}: ${both(cfg)}` : "–",
    ];
  });
  return [
    `## Summary (${steps} steps, test set)`,
    "",
    "Each cell: digit adherence / attribute adherence; guided cells as the paired difference against none in " +
    "percentage points with its 95 % interval. Settings tuned on the dev set.",
    "",
    markdownTable(
      [
        "model",
        "none",
        "GAG, tuned",
        "PLADIS, tuned",
        `GAG w=${STABILITY_SCALE}, tuned η`,
        `GAG w=${STABILITY_SCALE}, no clip`,
        "CFG (two passes)",
      ],
      rows,
    ),
  ];
}

function normsTable(s: ModelStudy): string {
  const q = (x: { p10: number; p50: number; p90: number; p99: number }) =>
    `${fmt(x.p10, 2)} / ${fmt(x.p50, 2)} / ${fmt(x.p90, 2)} / ${fmt(x.p99, 2)}`;
  const pooled = Object.entries(s.norms.pooled).map(([kind, n]) => [
    `${kind}, all steps`,
    q(n.dense),
    q(n.sparse),
    q(n.delta),
    q(n.g),
    n.count,
  ]);
  const perStep = [...new Set(s.norms.sites.map((r) => `${r.kind}|${r.step}`))].map((key) => {
    const [kind, step] = key.split("|");
    const rows = s.norms.sites.filter((r) => r.kind === kind && String(r.step) === step);
    const med = (f: (r: typeof rows[number]) => number) => {
      const v = rows.map(f).sort((x, y) => x - y);
      return v[Math.floor(v.length / 2)];
    };
    return [
      `${kind}, step ${step} (median of ${rows.length} sites)`,
      `– / ${fmt(med((r) => r.dense.p50))} / – / –`,
      `– / ${fmt(med((r) => r.sparse.p50))} / – / –`,
      `– / ${fmt(med((r) => r.delta.p50))} / ${fmt(med((r) => r.delta.p90))} / –`,
      `– / ${fmt(med((r) => r.g.p50))} / ${fmt(med((r) => r.g.p90))} / –`,
      rows.reduce((t, r) => t + r.count, 0),
    ];
  });
  return markdownTable(
    ["sites", "‖o_d‖ p10/50/90/99", "‖o_s‖", "‖Δ‖", "‖g‖ (ζ = 0)", "vectors"],
    [...pooled, ...perStep],
  );
}

/** One model's full section. */
export function modelSection(s: ModelStudy, plan: StudyPlan): string[] {
  const d = s.defaults;
  const devRows = s.dev.points.map((p) => [
    label(p.spec),
    ...p.perSteps.flatMap((x) => [fmt(100 * x.digit, 1), fmt(100 * x.attributes, 1), fmt(x.fd, 1)]),
    fmt(100 * p.adherence, 1),
    fmt(p.meanFd, 1),
    p.meanFd <= s.dev.fdLimit ? "yes" : "no",
  ]);
  return [
    `## ${s.id}`,
    "",
    `Model: ${s.model.training} (denoiser sha256 ${s.model.denoiserSha256}…).`,
    "",
    `### Norm statistics (η's scale)`,
    "",
    `Measured while sampling ${plan.normN} dev prompts at 4 steps without guidance, over every token and head ` +
    "(`tools/eval/attention_norms.ts`). g is Δ's component along o_s (ζ = 0); the clip min(1, η/‖g‖) binds for " +
    `tokens with ‖g‖ > η. η candidates from the pooled cross-attention ‖g‖ p10 / p50 / p90: ${
      s.etas.join(", ")
    }; ` +
    `η = ${s.etaOff} stands for no clip (above every ‖g‖ measured).`,
    "",
    normsTable(s),
    "",
    "### Tuned defaults (dev set)",
    "",
    `GAG w = ${d.gag.scale}, η = ${d.gag.eta}, ζ = ${d.gag.zeta}, layers ${d.layers}; PLADIS λ = ${d.pladis}; ` +
    `CFG ${d.cfg}; ${label(d.cfgGag)}; APG ${d.apg}. η range ${d.etaRange.join("–")}. ` +
    `η values stable at w = ${STABILITY_SCALE} (dev adherence within ${
      100 * STABLE_TOLERANCE
    } points of none): ` +
    `${s.dev.stableEtas.join(", ") || "none"}. Over-guiding (dev adherence more than ${
      100 * STABLE_TOLERANCE
    } ` +
    `points below none from this scale on): GAG w ≥ ${
      d.overGuiding.gag ?? "none in the sweep"
    } at the default ` +
    `η, PLADIS λ ≥ ${d.overGuiding.pladis ?? "none in the sweep"}.`,
    "",
    `### 1. GAG against none and PLADIS`,
    "",
    cellTable(s.sections.headline, [{ name: "steps", value: (r) => r.steps }, {
      name: "setting",
      value: (r) => r.label,
    }]),
    "",
    `### 2. Stability: quality against scale (${plan.curveSteps} steps)`,
    "",
    cellTable(s.sections.stability, [{ name: "setting", value: (r) => r.label }]),
    "",
    `### 3. ζ: only the parallel part of Δ (ζ = 0) against all of it (ζ = 1)`,
    "",
    cellTable(s.sections.zeta, [{ name: "setting", value: (r) => r.label }]),
    "",
    "### 4. Layers",
    "",
    cellTable(s.sections.layers, [{ name: "setting", value: (r) => r.label }]),
    "",
    "### 5. With CFG and APG (two passes per step)",
    "",
    cellTable(s.sections.combined, [{ name: "steps", value: (r) => r.steps }, {
      name: "setting",
      value: (r) => r.label,
    }]),
    "",
    "<details><summary>Dev sweep</summary>",
    "",
    markdownTable(
      [
        "setting",
        ...plan.tuneSteps.flatMap((t) => [`digit ${t}`, `attr ${t}`, `FD ${t}`]),
        "adherence",
        "mean FD",
        "FD ok",
      ],
      devRows,
    ),
    "",
    "</details>",
    "",
  ];
}
