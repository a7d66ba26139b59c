/**
 * A small, strict, typed flag parser: `--key value`, `--key=value`, boolean `--flag` / `--flag=true|false`. Unknown
 * flags, repeated flags, a boolean given any other value, numbers in any form but plain decimal (`0x1`, `1e20` for an
 * integer, `Infinity`), and values outside a flag's stated range are usage errors, so a typo never silently falls back
 * to a default and no request is unbounded. The parsed object's type follows from the specs (no casts at call sites).
 */
import { UsageError } from "./errors";

export type FlagKind = "string" | "int" | "number" | "boolean";
type KindOf<T> = T extends boolean ? "boolean" : T extends number ? "int" | "number" : "string";

/** One flag; `Has` says whether it has a default (then its parsed value is never undefined). */
export interface Flag<T extends string | number | boolean, Has extends boolean = boolean> {
  kind: KindOf<T>;
  /** human description for --help */
  help: string;
  default?: T;
  /** validates the parsed value; returns an error message ("must be …") or null (method syntax: bivariant) */
  check?(v: T): string | null;
  /** phantom: whether a default is set */
  readonly has?: Has;
}
export type FlagSpecs = Record<string, Flag<string | number | boolean, boolean>>;
export type Flags<S extends FlagSpecs> = { _: string[] } & {
  [K in keyof S]: S[K] extends Flag<infer T, infer H> ? (H extends true ? T : T | undefined) : never;
};

interface RangeOpts {
  min: number;
  max: number;
  /** the reason for the limit, shown with it */
  why?: string;
  /** the lower bound is excluded (e.g. a ratio in (0, 1]) */
  minOpen?: boolean;
}
const range = (o: RangeOpts) => (v: number): string | null => {
  const lo = o.minOpen ? v > o.min : v >= o.min;
  if (lo && v <= o.max) return null;
  return (o.minOpen ? `must be in (${o.min}, ${o.max}]` : `must be ≥ ${o.min} and ≤ ${o.max}`) + (o.why ? ` (${o.why})` : "");
};

export function str(help: string, o: { default: string; check?: (v: string) => string | null }): Flag<string, true>;
export function str(help: string, o?: { check?: (v: string) => string | null }): Flag<string, false>;
export function str(help: string, o: { default?: string; check?: (v: string) => string | null } = {}): Flag<string> {
  return { kind: "string", help, default: o.default, check: o.check };
}
export function choice<V extends string>(help: string, values: readonly V[], def: V): Flag<V, true>;
export function choice<V extends string>(help: string, values: readonly V[]): Flag<V, false>;
export function choice<V extends string>(help: string, values: readonly V[], def?: V): Flag<V> {
  const last = values.length > 2 ? `one of ${values.join(", ")}` : values.join(" or ");
  return { kind: "string" as KindOf<V>, help, default: def, check: (v) => ((values as readonly string[]).includes(v) ? null : `must be ${last}`) };
}
export function int(help: string, o: RangeOpts & { default: number }): Flag<number, true>;
export function int(help: string, o: RangeOpts): Flag<number, false>;
export function int(help: string, o: RangeOpts & { default?: number }): Flag<number> {
  return { kind: "int", help, default: o.default, check: range(o) };
}
export function num(help: string, o: RangeOpts & { default: number }): Flag<number, true>;
export function num(help: string, o: RangeOpts): Flag<number, false>;
export function num(help: string, o: RangeOpts & { default?: number }): Flag<number> {
  return { kind: "number", help, default: o.default, check: range(o) };
}
export function bool(help: string, def = false): Flag<boolean, true> {
  return { kind: "boolean", help, default: def };
}

/** Seeds: any integer a 32-bit seeded generator distinguishes. */
export const SEED_MAX = 2 ** 32 - 1;

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function parseFlags<S extends FlagSpecs>(argv: string[], specs: S): Flags<S> {
  const out: Record<string, unknown> = { _: [] as string[] };
  const positional = out._ as string[];
  const seen = new Set<string>();
  for (const [k, s] of Object.entries(specs)) if (s.default !== undefined) out[k] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const key = a.slice(2, eq < 0 ? undefined : eq);
    const spec = Object.prototype.hasOwnProperty.call(specs, key) ? specs[key] : undefined;
    if (!spec) throw new UsageError(`unknown option --${key} (see --help)`);
    if (seen.has(key)) throw new UsageError(`option --${key} is given twice`);
    seen.add(key);
    let raw: string | undefined = eq < 0 ? undefined : a.slice(eq + 1);
    if (spec.kind === "boolean") {
      if (raw !== undefined && raw !== "true" && raw !== "false") throw new UsageError(`--${key} takes no value or =true/=false, got '${raw}'`);
      out[key] = raw !== "false";
      continue;
    }
    if (raw === undefined) {
      raw = argv[++i];
      if (raw === undefined || raw.startsWith("--")) throw new UsageError(`option --${key} needs a value`);
    }
    out[key] = convert(key, spec, raw);
  }
  return out as Flags<S>;
}

function convert(key: string, spec: Flag<string | number | boolean>, raw: string): string | number {
  let v: string | number = raw;
  if (spec.kind === "int") {
    if (!/^[+-]?\d+$/.test(raw)) throw new UsageError(`--${key} must be an integer, got '${raw}'`);
    v = Number(raw);
    // beyond 2⁵³ the range check states the limit; a flag without one is still refused
    if (!Number.isSafeInteger(v)) throw new UsageError(`--${key} ${spec.check?.(v) ?? "is too large"}, got '${raw}'`);
  } else if (spec.kind === "number") {
    if (!DECIMAL.test(raw)) throw new UsageError(`--${key} must be a decimal number, got '${raw}'`);
    v = Number(raw);
    if (!Number.isFinite(v)) throw new UsageError(`--${key} ${spec.check?.(v) ?? "is too large"}, got '${raw}'`);
  } else if (raw === "") {
    throw new UsageError(`--${key} must not be empty`);
  }
  const msg = spec.check ? spec.check(v) : null;
  if (msg) throw new UsageError(`--${key} ${msg}, got '${raw}'`);
  return v;
}

/** A --help block from the specs. */
export function flagsHelp(specs: FlagSpecs): string {
  return Object.entries(specs)
    .map(([k, s]) => `  --${k}${s.kind === "boolean" ? "" : ` <${s.kind}>`}`.padEnd(28) + s.help +
      (s.default !== undefined && s.default !== false ? ` (default ${s.default})` : ""))
    .join("\n");
}
