/**
 * Tables as HTML through arquero: results next to the paper's numbers (ablation tables), with a delta column.
 */
import * as aq from "arquero";

export type Row = Record<string, string | number | null>;

const STYLE = "<style>.infty-table table{border-collapse:collapse;font:13px sans-serif}" +
  ".infty-table th,.infty-table td{border-bottom:1px solid #ddd;padding:3px 8px}</style>";

/** Any rows as an HTML table (numbers to `digits` significant digits). */
export function tableHTML(rows: Row[], opts: { digits?: number; title?: string } = {}): string {
  const digits = opts.digits ?? 4;
  const fmt = (v: unknown) => (typeof v === "number" ? (Number.isFinite(v) ? String(Number(v.toPrecision(digits))) : "–") : v == null ? "–" : String(v));
  const t = aq.from(rows);
  const format: Record<string, (v: unknown) => string> = {};
  for (const c of t.columnNames()) format[c] = fmt;
  const caption = opts.title ? `<div style="font:bold 13px sans-serif;margin:4px 0">${opts.title}</div>` : "";
  return `${STYLE}<div class="infty-table">${caption}${t.toHTML({ format })}</div>`;
}

/**
 * Ours vs paper: joins two row sets on `key` and lists, per metric, our value, the paper's and ours − paper.
 * Rows present on one side only keep "–" on the other.
 */
export function compareRows(ours: Row[], paper: Row[], key: string, metrics: string[]): Row[] {
  // Rename before joining so a metric missing on one side still gets its own column.
  const side = (rows: Row[], tag: string) => aq.from(rows.map((r) => {
    const o: Row = { [key]: r[key] };
    for (const m of metrics) o[`${m} (${tag})`] = r[m] ?? null;
    return o;
  }));
  const joined = side(ours, "ours").join_full(side(paper, "paper"), key);
  const out: Row[] = [];
  for (const r of joined.objects() as Row[]) {
    const row: Row = { [key]: r[key] };
    for (const m of metrics) {
      const a = r[`${m} (ours)`] ?? null, b = r[`${m} (paper)`] ?? null;
      row[`${m} (ours)`] = a;
      row[`${m} (paper)`] = b;
      row[`Δ ${m}`] = typeof a === "number" && typeof b === "number" ? a - b : null;
    }
    out.push(row);
  }
  return out;
}

/** HTML of `compareRows`. */
export function comparisonTableHTML(ours: Row[], paper: Row[], key: string, metrics: string[], opts: { digits?: number; title?: string } = {}): string {
  return tableHTML(compareRows(ours, paper, key, metrics), opts);
}

/** A table as an HTML view (for `show`/`showLive`); no rows yet → just its title. */
export function tableView(rows: Row[], opts: { digits?: number; title?: string } = {}): { kind: "html"; html: string } {
  if (rows.length === 0) return { kind: "html", html: `<p style="font:13px sans-serif;color:#555">${(opts.title ?? "").replace(/</g, "&lt;")}</p>` };
  return { kind: "html", html: tableHTML(rows, opts) };
}
