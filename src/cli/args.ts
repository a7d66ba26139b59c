/**
 * A small, strict flag parser: `--key value`, `--key=value`, boolean `--flag`. Unknown flags are errors, so a typo
 * never silently falls back to a default.
 */
import { UsageError } from "./errors";

export type FlagKind = "string" | "int" | "number" | "boolean";
export interface FlagSpec {
  kind: FlagKind;
  /** human description for --help */
  help: string;
  default?: string | number | boolean;
  /** validates the parsed value; return an error message or null */
  check?: (v: never) => string | null;
}
export type FlagSpecs = Record<string, FlagSpec>;
export interface Parsed {
  /** positional arguments */
  _: string[];
  [k: string]: string | number | boolean | undefined | string[];
}

export function parseFlags(argv: string[], specs: FlagSpecs): Parsed {
  const out: Parsed = { _: [] };
  for (const [k, s] of Object.entries(specs)) if (s.default !== undefined) out[k] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      out._.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const key = a.slice(2, eq < 0 ? undefined : eq);
    const spec = specs[key];
    if (!spec) throw new UsageError(`unknown option --${key} (see --help)`);
    let raw: string | undefined = eq < 0 ? undefined : a.slice(eq + 1);
    if (spec.kind === "boolean") {
      out[key] = raw === undefined ? true : raw !== "false";
      continue;
    }
    if (raw === undefined) {
      raw = argv[++i];
      if (raw === undefined) throw new UsageError(`option --${key} needs a value`);
    }
    out[key] = convert(key, spec, raw);
  }
  return out;
}

function convert(key: string, spec: FlagSpec, raw: string): string | number {
  let v: string | number = raw;
  if (spec.kind === "int") {
    if (!/^[+-]?\d+$/.test(raw.trim())) throw new UsageError(`--${key} must be an integer, got '${raw}'`);
    v = parseInt(raw, 10);
  } else if (spec.kind === "number") {
    v = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(v)) throw new UsageError(`--${key} must be a number, got '${raw}'`);
  }
  const msg = spec.check ? spec.check(v as never) : null;
  if (msg) throw new UsageError(`--${key} ${msg}, got '${raw}'`);
  return v;
}

/** A --help block from the specs. */
export function flagsHelp(specs: FlagSpecs): string {
  return Object.entries(specs)
    .map(([k, s]) => `  --${k}${s.kind === "boolean" ? "" : ` <${s.kind}>`}`.padEnd(28) + s.help +
      (s.default !== undefined ? ` (default ${s.default})` : ""))
    .join("\n");
}
