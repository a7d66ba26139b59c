/**
 * The lab's ablation tables beside the paper's, like with like. Our FID (lab feature net, 14-px Fashion-MNIST, 300
 * steps) and the paper's FID_CLIP (CLIP features, FFHQ-128, full training) are different metrics on different data, so
 * their difference means nothing. What can be compared: each variant's rank within its own table, and its FID as a
 * ratio to its own table's reference row (∞-Diff) — "how much worse than ∞-Diff" on each side. Speedups are ratios on
 * both sides already and compare directly.
 */
import { ExperimentSpec } from "./spec";
import { MergedTable } from "./merge";
import { tableRows, TableRow } from "./render";
import { ranks } from "../eval/statistics";

/**
 * One row per variant with our FID: rank (1 = best FID) and FID ÷ the reference row's FID, ours and the paper's, and
 * whether the two ratios fall on the same side of 1 (both worse or both better than the reference); the speedups
 * where the spec has the paper's. The reference is `spec.reference`.
 */
export function paperComparisonRows(merged: MergedTable, spec: ExperimentSpec): TableRow[] {
  const rows = tableRows(merged, spec).filter((r) => r.fid !== null);
  const ref = rows.find((r) => r.variant === spec.reference);
  const ourRef = ref ? (ref.fid as number) : null;
  const paperRef = ref && typeof ref.paperFid === "number" ? ref.paperFid : null;
  const ourRanks = ranks(rows.map((r) => r.fid as number));
  const withPaper = rows.filter((r) => typeof r.paperFid === "number");
  const paperRanks = ranks(withPaper.map((r) => r.paperFid as number));
  const hasSpeedup = spec.variants.some((v) => v.paper?.speedup !== undefined);
  return rows.map((r, i) => {
    const k = withPaper.indexOf(r);
    const ours = ourRef ? (r.fid as number) / ourRef : null;
    const paper = paperRef && typeof r.paperFid === "number" ? r.paperFid / paperRef : null;
    const out: TableRow = {
      variant: r.variant,
      "rank (ours)": ourRanks[i],
      "rank (paper)": k >= 0 ? paperRanks[k] : null,
      "FID ÷ reference (ours)": ours,
      "FID_CLIP ÷ reference (paper)": paper,
      "same side of the reference": r.variant === spec.reference ? "(reference)"
        : ours === null || paper === null ? null : (ours - 1) * (paper - 1) > 0 ? "yes" : "no",
    };
    if (hasSpeedup) {
      out["speedup (ours)"] = r.speedup;
      out["speedup (paper)"] = r.paperSpeedup;
    }
    return out;
  });
}
