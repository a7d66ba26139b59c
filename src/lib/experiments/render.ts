/**
 * Merged results as plain rows beside the paper's numbers (for src/viz/tables.ts `compareRows`, notebooks and the
 * README's markdown). Pure functions of plain data: no tensors, no files.
 */
import { ExperimentSpec } from "./spec";
import { MergedTable, MergedRow } from "./merge";

/** A table cell: a number, a string, or null for "no value". */
export type Cell = string | number | null;
/** A table row by column name. */
export type TableRow = Record<string, Cell>;

/** One row per variant: our numbers (mean, std over seeds) and the paper's. Paper-only variants keep null metrics. */
export function tableRows(merged: MergedTable, spec: ExperimentSpec): TableRow[] {
  return spec.variants.map((v) => {
    const r = merged.rows.find((x) => x.variant === v.label && x.resolutionMultiplier === 1);
    return {
      variant: v.label,
      seeds: r ? r.seeds.length : 0,
      fid: r?.fid ?? null,
      fidStd: r?.fidStd ?? null,
      fidLo: r?.fidInterval?.[0] ?? null,
      fidHi: r?.fidInterval?.[1] ?? null,
      kid: r?.kid ?? null,
      kidStd: r?.kidStd ?? null,
      speedup: r?.speedup ?? null,
      stepsPerSecond: r?.stepsPerSecond ?? null,
      paperFid: v.paper?.fid ?? null,
      paperSpeedup: v.paper?.speedup ?? null,
    };
  });
}

/** Our side and the paper's side, keyed by "variant", for `compareRows(ours, paper, "variant", ["FID", "speedup"])`. */
export function oursAndPaper(merged: MergedTable, spec: ExperimentSpec): { ours: TableRow[]; paper: TableRow[] } {
  const rows = tableRows(merged, spec);
  return {
    ours: rows.filter((r) => r.fid !== null).map((r) => ({ variant: r.variant, FID: r.fid, KID: r.kid, speedup: r.speedup })),
    paper: spec.variants.filter((v) => v.paper).map((v) => ({ variant: v.label, FID: v.paper?.fid ?? null, speedup: v.paper?.speedup ?? null })),
  };
}

/** Fig. 7: FID against DDIM steps, one series per sampling resolution. */
export function stepsResolutionSeries(merged: MergedTable): { resolution: number; multiplier: number; steps: number[]; fid: number[]; kid: number[] }[] {
  const byRes = new Map<number, MergedRow[]>();
  for (const r of merged.rows) {
    if (!byRes.has(r.resolution)) byRes.set(r.resolution, []);
    byRes.get(r.resolution)!.push(r);
  }
  return [...byRes.entries()].sort((a, b) => a[0] - b[0]).map(([resolution, rs]) => {
    rs.sort((a, b) => a.ddimSteps - b.ddimSteps);
    return { resolution, multiplier: rs[0].resolutionMultiplier, steps: rs.map((r) => r.ddimSteps), fid: rs.map((r) => r.fid), kid: rs.map((r) => r.kid) };
  });
}

function pm(m: number | null, s: number | null, digits: number): string {
  if (m === null || !Number.isFinite(m)) return "–";
  return s === null ? m.toFixed(digits) : `${m.toFixed(digits)} ± ${s.toFixed(digits)}`;
}

/** A markdown table of the merged results (beside the paper's numbers for tables; a steps × resolution grid for Fig. 7). */
export function markdownTable(merged: MergedTable, spec: ExperimentSpec): string {
  const lines: string[] = [];
  const ev = spec.budgets[merged.budget].eval;
  const grid = ev.ddimSteps.length * ev.resolutionMultipliers.length > 1;
  if (grid) {
    const series = stepsResolutionSeries(merged);
    const steps = [...new Set(merged.rows.map((r) => r.ddimSteps))].sort((a, b) => a - b);
    lines.push(`| resolution | ${steps.map((s) => `FID @ ${s} steps`).join(" | ")} |`);
    lines.push(`|---|${steps.map(() => "---").join("|")}|`);
    for (const s of series) {
      lines.push(`| ${s.resolution}×${s.resolution} (${s.multiplier}×) | ${steps.map((st) => {
        const i = s.steps.indexOf(st);
        return i < 0 ? "–" : s.fid[i].toFixed(2);
      }).join(" | ")} |`);
    }
  } else {
    const rows = tableRows(merged, spec);
    const hasSpeed = spec.baseline !== undefined;
    const st = merged.statistics;
    const ref = st?.reference ?? null;
    lines.push(`| ${spec.baseline !== undefined ? "ratio" : "variant"} | FID (ours) | 95 % CI | ${ref ? `ΔFID vs ${ref} (paired) | p |` : ""} KID (ours) | ${hasSpeed ? "speedup (ours) | " : ""}seeds | FID_CLIP (paper) |${hasSpeed ? " speedup (paper) |" : ""}`);
    lines.push(`|---|---|---|${ref ? "---|---|" : ""}---|${hasSpeed ? "---|" : ""}---|---|${hasSpeed ? "---|" : ""}`);
    for (const r of rows) {
      // KID on the lab's raw 128-d features (not rescaled): compare within a table only
      const kid = r.kid as number | null, kidStd = r.kidStd as number | null;
      const ci = r.fidLo === null ? "–" : `[${(r.fidLo as number).toFixed(1)}, ${(r.fidHi as number).toFixed(1)}]`;
      const pc = st?.paired.find((p) => p.variant === r.variant);
      const delta = r.variant === ref ? "(reference) | – |" : !pc ? "– | – |"
        : `${pc.meanDiff >= 0 ? "+" : ""}${pc.meanDiff.toFixed(1)} ${pc.tInterval ? `[${pc.tInterval[0].toFixed(1)}, ${pc.tInterval[1].toFixed(1)}]` : ""} (${pc.seeds.length} seeds) | ${pc.p === null ? "–" : pc.p < 0.001 ? "<0.001" : pc.p.toFixed(3)} |`;
      lines.push(`| ${r.variant} | ${pm(r.fid as number | null, r.fidStd as number | null, 2)} | ${ci} | ${ref ? delta + " " : ""}${pm(kid, kidStd, 2)} | ` +
        (hasSpeed ? `${r.speedup === null ? "–" : (r.speedup as number).toFixed(2) + "×"} | ` : "") +
        `${r.seeds} | ${r.paperFid ?? "–"} |` + (hasSpeed ? ` ${r.paperSpeedup === null ? "–" : r.paperSpeedup + "×"} |` : ""));
    }
    if (st?.rank) {
      const d = st.rank.distribution.filter((x) => x.fraction >= 0.01).map((x) => `${x.rho.toFixed(2)}: ${(100 * x.fraction).toFixed(0)} %`).join(", ");
      lines.push("");
      lines.push(`Spearman ρ between our FID ranking and the paper's: **${st.rank.rho.toFixed(2)}** (bootstrap over seeds, ${st.rank.resamples} resamples: 95 % interval [${st.rank.interval[0].toFixed(2)}, ${st.rank.interval[1].toFixed(2)}]; distribution ${d}).`);
    }
    if (ref) {
      lines.push("");
      lines.push(`FID mean ± sample std over seeds; 95 % CI: percentile bootstrap of the mean over seeds (narrow with few seeds); ΔFID: mean paired difference on shared seeds with its paired-t 95 % interval, p: two-sided paired t-test.`);
    }
  }
  const r0 = merged.rows[0];
  lines.push("");
  lines.push(`Budget \`${merged.budget}\`: ${merged.budgetNote}` + (r0 ? ` FID/KID from ${r0.nSamples} samples vs ${r0.nTest} test images (lab feature net), backend ${r0.backend}.` : "") +
    ` ${merged.planned - merged.missing}/${merged.planned} planned runs complete.` +
    (merged.throughput ? ` Speedup: interleaved throughput, ${merged.throughput.rounds}×${merged.throughput.stepsPerRound} steps per variant in one process (median step time).` :
      spec.baseline !== undefined ? " Speedup: from the runs' own training logs (sequential runs on a shared machine: noisy)." : "") +
    ` Paper: ${spec.paperNote}`);
  return lines.join("\n");
}

/**
 * The statistics of a one-point table as plain rows (notebook 07): per variant the FID mean ± std over seeds, its 95 %
 * bootstrap interval, and the paired difference against the reference row (mean, paired-t 95 % interval, p).
 */
export function statisticsRows(merged: MergedTable, spec: ExperimentSpec): TableRow[] {
  const st = merged.statistics;
  const f = (x: number | null | undefined, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(d)));
  return tableRows(merged, spec).filter((r) => r.fid !== null).map((r) => {
    const pc = st?.paired.find((p) => p.variant === r.variant);
    return {
      variant: r.variant, seeds: r.seeds, "FID mean": f(r.fid as number, 2), "FID std": f(r.fidStd as number | null, 2),
      "95 % CI low": f(r.fidLo as number | null), "95 % CI high": f(r.fidHi as number | null),
      [`ΔFID vs ${st?.reference ?? "reference"}`]: r.variant === st?.reference ? 0 : f(pc?.meanDiff),
      "Δ 95 % CI (paired t)": pc?.tInterval ? `[${pc.tInterval[0].toFixed(1)}, ${pc.tInterval[1].toFixed(1)}]` : null,
      p: pc?.p === null || pc?.p === undefined ? null : Number(pc.p.toFixed(3)),
    };
  });
}

/** One line: Spearman ρ against the paper's ranking with its bootstrap interval and distribution. */
export function rankSummary(merged: MergedTable): string {
  const r = merged.statistics?.rank;
  if (!r) return "Spearman ρ: fewer than 3 variants with the paper's numbers";
  const d = r.distribution.filter((x) => x.fraction >= 0.01).map((x) => `${x.rho.toFixed(2)} (${(100 * x.fraction).toFixed(0)} %)`).join(", ");
  return `Spearman ρ (our FID ranking vs the paper's) = ${r.rho.toFixed(2)}; bootstrap over seeds: 95 % [${r.interval[0].toFixed(2)}, ${r.interval[1].toFixed(2)}], distribution ${d}`;
}
