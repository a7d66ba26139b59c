/**
 * Fig. 7 on the shipped model: FID against DDIM steps, per sampling resolution and sampler variant, one
 * `infty eval --json` file per point (scripts/fig7-steps.sh writes them as r<R>-<variant>-s<STEPS>-n<N>.json). Reading
 * them here keeps docs/results.md and notebook 06 on the same numbers.
 */
import { fidCell, interval, resultFiles } from "./quality-curve";

/** The sampler variants the script runs: the checkpoint's own settings, the Tx̂₀ clip off, the even step grid. */
export const STEPS_VARIANTS = {
  default: "authors' grid (ddimN stride), Tx̂₀ clipped",
  noclip: "Tx̂₀ not clipped",
  even: "even grid (T−1 … 0)",
} as const;
/** A sampler variant of the Fig. 7 measurement (a key of `STEPS_VARIANTS`). */
export type StepsVariant = keyof typeof STEPS_VARIANTS;

/** One point of the Fig. 7 measurement: FID of n samples at a resolution, sampler variant and step count. */
export interface StepsPoint {
  resolution: number;
  variant: StepsVariant;
  /** DDIM steps */
  steps: number;
  n: number;
  fid: number;
  /** FID's 95 % bootstrap interval over the samples (the reference fixed) */
  fidInterval95: [number, number] | null;
  fidStd: number | null;
  kid: number;
  sampleSeconds: number;
  /** what the file records it ran with */
  ddimGrid: string;
  clipTx0: boolean;
  file: string;
}

const FILE = /^r(\d+)-([a-z]+)-s(\d+)-n(\d+)\.json$/;

/** Every point file in `dir`, sorted by resolution, variant and steps; a file contradicting its name is an error. */
export function readStepsCurve(dir: string): StepsPoint[] {
  const points: StepsPoint[] = [];
  for (const { m, file, r, num } of resultFiles(dir, FILE)) {
    if (!(m[2] in STEPS_VARIANTS)) throw new Error(`${file}: unknown variant '${m[2]}' (${Object.keys(STEPS_VARIANTS).join(" | ")})`);
    const res = Array.isArray(r.resolution) ? num(r.resolution[0], "resolution") : num(r.resolution, "resolution");
    const p: StepsPoint = {
      resolution: res, variant: m[2] as StepsVariant, steps: num(r.steps, "steps"), n: num(r.n, "n"), fid: num(r.fid, "fid"),
      fidInterval95: interval(r.fidInterval95, file), fidStd: typeof r.fidStd === "number" ? r.fidStd : null, kid: num(r.kid, "kid"),
      sampleSeconds: num(r.sampleSeconds, "sampleSeconds"), ddimGrid: String(r.ddimGrid), clipTx0: r.clipTx0 === true, file,
    };
    for (const [got, want, what] of [[p.resolution, +m[1], "resolution"], [p.steps, +m[3], "steps"], [p.n, +m[4], "n"]] as const) {
      if (got !== want) throw new Error(`${file}: holds ${what} ${got}, its name says ${want}`);
    }
    const expect = { default: ["ddim-stride", true], noclip: ["ddim-stride", false], even: ["even", true] }[p.variant];
    if (p.ddimGrid !== expect[0] || p.clipTx0 !== expect[1]) {
      throw new Error(`${file}: ran with grid ${p.ddimGrid}, clip ${p.clipTx0}; variant '${p.variant}' means ${expect[0]}, clip ${expect[1]}`);
    }
    points.push(p);
  }
  const order = Object.keys(STEPS_VARIANTS);
  return points.sort((a, b) => a.resolution - b.resolution || order.indexOf(a.variant) - order.indexOf(b.variant) || a.steps - b.steps);
}

/** One line of the figure: a resolution and variant, its points in order of steps. */
export interface StepsSeries {
  resolution: number;
  variant: StepsVariant;
  label: string;
  points: StepsPoint[];
}

/** The points grouped into lines (resolution, then variant). */
export function stepsSeries(points: StepsPoint[]): StepsSeries[] {
  const out: StepsSeries[] = [];
  for (const p of points) {
    let s = out.find((q) => q.resolution === p.resolution && q.variant === p.variant);
    if (!s) out.push((s = { resolution: p.resolution, variant: p.variant, label: `${p.resolution}×${p.resolution}, ${STEPS_VARIANTS[p.variant]}`, points: [] }));
    s.points.push(p);
  }
  for (const s of out) s.points.sort((a, b) => a.steps - b.steps);
  return out;
}

/**
 * How FID moves from the fewest to the most steps of a line: "falls" / "rises" when the two points' difference exceeds
 * 1.96 × the sd of a difference of independent bootstrap estimates (√(sd₁² + sd₂²); the points share their initial
 * noise, so this is conservative), else "flat".
 */
export function stepsTrend(s: StepsSeries): { from: StepsPoint; to: StepsPoint; change: number; sd: number | null; trend: "falls" | "rises" | "flat" } | null {
  if (s.points.length < 2) return null;
  const from = s.points[0], to = s.points[s.points.length - 1];
  const change = to.fid - from.fid;
  const sd = from.fidStd !== null && to.fidStd !== null ? Math.hypot(from.fidStd, to.fidStd) : null;
  const trend = sd === null ? (change < 0 ? "falls" : "rises") : Math.abs(change) <= 1.96 * sd ? "flat" : change < 0 ? "falls" : "rises";
  return { from, to, change, sd, trend };
}

/** docs/results.md's table: one row per line, one column per step count, FID with its interval. */
export function stepsCurveMarkdown(points: StepsPoint[]): string {
  const steps = [...new Set(points.map((p) => p.steps))].sort((a, b) => a - b);
  const lines = [
    `| sampled at | sampler | n | ${steps.map((s) => `FID @ ${s} steps`).join(" | ")} | from fewest to most steps |`,
    `|---|---|---|${steps.map(() => "---|").join("")}---|`,
  ];
  for (const s of stepsSeries(points)) {
    const cells = steps.map((k) => {
      const p = s.points.find((q) => q.steps === k);
      return p ? fidCell(p.fid, p.fidInterval95) : "–";
    });
    const t = stepsTrend(s);
    const verdict = t ? `${t.trend} (${t.change > 0 ? "+" : ""}${t.change.toFixed(1)}${t.sd !== null ? ` ± ${(1.96 * t.sd).toFixed(1)}` : ""})` : "–";
    const n = [...new Set(s.points.map((p) => p.n))].map((v) => v.toLocaleString("en-US")).join(", ");
    lines.push(`| ${s.resolution}×${s.resolution} | ${STEPS_VARIANTS[s.variant]} | ${n} | ${cells.join(" | ")} | ${verdict} |`);
  }
  return lines.join("\n");
}
