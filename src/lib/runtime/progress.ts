/**
 * A one-line progress bar for long work (training, sampling, sweeps): count, rate, ETA and free-form fields.
 * Writes to stderr with \r when it is a TTY, otherwise a plain line every `everyMs`; silent when disabled.
 * In a notebook (tslab kernel) it is one display that updates in place (at most twice a second), not stderr lines.
 */
import { LiveDisplay, liveDisplay } from "./notebook";

/** A progress bar's label, total, unit, refresh interval and where it draws. */
export interface ProgressOptions {
  label: string;
  total: number;
  /** units per tick, for the rate (e.g. "it", "step", "img") */
  unit?: string;
  enabled?: boolean;
  everyMs?: number;
  stream?: NodeJS.WriteStream;
}

/** Seconds as "1h 02m", "3m 05s" or "12s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(r).padStart(2, "0")}s` : `${r}s`;
}

/** A one-line progress bar with rate and ETA (updates in place in a terminal or a notebook). */
export class Progress {
  private readonly start = Date.now();
  private last = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  /** the notebook display this bar rewrites (null outside a notebook or with an explicit stream) */
  private readonly display: LiveDisplay | null;
  constructor(private readonly o: ProgressOptions, private done = 0) {
    this.stream = o.stream ?? process.stderr;
    this.tty = !!this.stream.isTTY;
    this.startDone = done;
    this.display = o.stream || o.enabled === false ? null : liveDisplay();
  }
  private readonly startDone: number;

  /** Line for the current state (exposed for tests and notebooks). */
  line(fields: Record<string, string | number> = {}): string {
    const el = (Date.now() - this.start) / 1000;
    const rate = (this.done - this.startDone) / Math.max(el, 1e-9);
    const eta = rate > 0 ? (this.o.total - this.done) / rate : NaN;
    const frac = this.o.total > 0 ? this.done / this.o.total : 0;
    const width = 20, filled = Math.round(frac * width);
    const bar = "█".repeat(filled) + "░".repeat(width - filled);
    const extra = Object.entries(fields).map(([k, v]) => `${k} ${typeof v === "number" ? fmt(v) : v}`).join("  ");
    return `${this.o.label} ${bar} ${this.done}/${this.o.total}  ${fmt(rate)} ${this.o.unit ?? "it"}/s  ETA ${formatDuration(eta)}${extra ? "  " + extra : ""}`;
  }

  /** Advances by n and redraws (at most every `everyMs`), with extra fields shown after the bar. */
  tick(n = 1, fields: Record<string, string | number> = {}): void {
    this.done += n;
    if (this.o.enabled === false) return;
    const now = Date.now();
    const every = this.o.everyMs ?? (this.display ? 500 : this.tty ? 200 : 10000);
    if (now - this.last < every && this.done < this.o.total) return;
    this.last = now;
    this.write(this.line(fields), false);
  }

  /** Draws the final state and ends the line. */
  finish(fields: Record<string, string | number> = {}): void {
    if (this.o.enabled === false) return;
    this.write(this.line(fields), true);
  }

  private write(text: string, final: boolean): void {
    if (this.display) this.display.html(progressHTML(text));
    else this.stream.write(this.tty ? `\r${text}\x1b[K${final ? "\n" : ""}` : `${text}\n`);
  }
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : a >= 0.01 ? v.toFixed(4) : v.toExponential(2);
}

/** The notebook form of a progress line: monospace, quiet grey, escaped. */
export function progressHTML(text: string): string {
  const esc = text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return `<pre class="infty-progress" style="margin:0;color:#555;font-size:12px">${esc}</pre>`;
}
