/**
 * Tables as HTML through arquero: results next to the paper's numbers (ablation tables), with a delta column.
 */
import * as aq from "arquero";

/** A table row by column name. */
export type Row = Record<string, string | number | null>;

const STYLE = "<style>.infty-table table{border-collapse:collapse;font:13px sans-serif}" +
  ".infty-table th,.infty-table td{border-bottom:1px solid #ddd;padding:3px 8px}</style>";

/** How a table shows its numbers. */
export interface NumberFormat {
  /**
   * significant digits for numbers below 1,000 in magnitude (default 4). Digits left of the decimal point are never
   * rounded away: 2,500 stays 2,500 at any `digits`, 112.5 shows as 113 with 3 and 112.5 with 4.
   */
  digits?: number;
  /** fixed decimal places instead, for every column (a number) or per column name (others keep `digits`) */
  decimals?: number | Record<string, number>;
}

/**
 * One number as a table shows it: thousands separators ("32,500"), integers exact, others by `decimals` (fixed
 * places) when given, else by `digits` significant digits without ever rounding the integer part.
 */
export function formatNumber(v: number, opts: { digits?: number; decimals?: number } = {}): string {
  if (!Number.isFinite(v)) return "–";
  if (opts.decimals !== undefined) return group(v.toFixed(opts.decimals));
  if (Number.isInteger(v)) return group(String(v));
  const digits = opts.digits ?? 4;
  const intDigits = Math.abs(v) >= 1 ? Math.floor(Math.log10(Math.abs(v))) + 1 : 0;
  // at least every integer digit; numbers below 1 keep the shortest form of their significant digits (1.23e-7)
  if (intDigits >= digits) return group(Math.round(v).toString());
  const s = String(Number(v.toPrecision(digits)));
  return s.includes("e") ? s : group(s);
}

/** "1234567.5" → "1,234,567.5" (the integer part only). */
function group(s: string): string {
  const m = /^(-?)(\d+)(.*)$/.exec(s);
  if (!m) return s;
  return m[1] + m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + m[3];
}

/** Any rows as an HTML table (numbers as `formatNumber` shows them; null as "–"). */
export function tableHTML(rows: Row[], opts: NumberFormat & { title?: string } = {}): string {
  const t = aq.from(rows);
  const format: Record<string, (v: unknown) => string> = {};
  for (const c of t.columnNames()) {
    const decimals = typeof opts.decimals === "number" ? opts.decimals : opts.decimals?.[c];
    format[c] = (v: unknown) => (typeof v === "number" ? formatNumber(v, { digits: opts.digits, decimals }) : v == null ? "–" : String(v));
  }
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
export function comparisonTableHTML(ours: Row[], paper: Row[], key: string, metrics: string[], opts: NumberFormat & { title?: string } = {}): string {
  return tableHTML(compareRows(ours, paper, key, metrics), opts);
}

/** A table as an HTML view (for `show`/`showLive`); no rows yet → just its title. */
export function tableView(rows: Row[], opts: NumberFormat & { title?: string } = {}): { kind: "html"; html: string } {
  if (rows.length === 0) return { kind: "html", html: `<p style="font:13px sans-serif;color:#555">${(opts.title ?? "").replace(/</g, "&lt;")}</p>` };
  return { kind: "html", html: tableHTML(rows, opts) };
}
