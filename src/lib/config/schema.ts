/**
 * Every config kind the lab reads (the model/diffusion/training config, experiment specs, the cross-resolution spec,
 * the autoencoder's and the feature network's settings) is declared once with zod: the declaration gives the
 * TypeScript type (`z.infer`), the validation, and the messages. This module holds the field builders every kind
 * uses, so one rule reads the same everywhere, and `parseWith`, which fills defaults and turns the first problem into
 * a one-line error naming the key: `<prefix><path>: <why> (got <value>)`, `<path>: unknown key 'k' (allowed: …)`,
 * `<path>: missing key 'k'`.
 *
 * Why zod: a hand-written schema language (this file until issue 30) had to be kept in step with the interfaces it
 * checked, by hand; zod is small, dependency-free, and infers the type from the check.
 */
import { z } from "zod";

export { z };

/** An integer in [min, max] (odd when asked). */
export function int(min: number, max?: number, opts: { odd?: true } = {}) {
  let base = z.number({ invalid_type_error: "must be an integer" }).int("must be an integer").min(min, `must be ≥ ${min}`);
  if (max !== undefined) base = base.max(max, `must be ≤ ${max}`);
  return opts.odd ? base.refine((v) => v % 2 === 1, "must be odd") : base;
}

/** A finite number in [min, max]; `minExclusive` makes the lower bound strict. */
export function num(min?: number, max?: number, opts: { minExclusive?: true; maxExclusive?: true } = {}) {
  let s = z.number({ invalid_type_error: "must be a finite number" }).finite("must be a finite number");
  if (min !== undefined) s = opts.minExclusive ? s.gt(min, `must be > ${min}`) : s.gte(min, `must be ≥ ${min}`);
  if (max !== undefined) s = opts.maxExclusive ? s.lt(max, `must be < ${max}`) : s.lte(max, `must be ≤ ${max}`);
  return s;
}

/** A boolean field with a one-line message. */
export const bool = () => z.boolean({ invalid_type_error: "must be true or false" });
/** A non-empty string field with a one-line message. */
export const str = () => z.string({ invalid_type_error: "must be a non-empty string" }).min(1, "must be a non-empty string");

/** One of `values` (a registry's keys, or a literal list): the union type of those strings. */
export function oneOf<T extends string>(values: readonly T[]) {
  const set: readonly string[] = values;
  return z.custom<T>((v) => typeof v === "string" && set.includes(v), `must be one of ${values.join(", ")}`);
}

/** A list of integers in [min, max]; non-empty unless `allowEmpty`, distinct when `unique`. */
export function intList(min: number, max?: number, opts: { allowEmpty?: true; unique?: true } = {}) {
  let s = z.array(int(min, max), { invalid_type_error: "must be a list of integers" });
  if (!opts.allowEmpty) s = s.min(1, "must not be empty");
  return opts.unique ? s.refine((a) => new Set(a).size === a.length, "has duplicates") : s;
}

/** A non-empty list of `of` (empty allowed with `allowEmpty`). */
export function list<T extends z.ZodTypeAny>(of: T, opts: { allowEmpty?: true } = {}) {
  const s = z.array(of, { invalid_type_error: "must be a list" });
  return opts.allowEmpty ? s : s.min(1, "must not be empty");
}

/** An object with exactly these keys (unknown keys are errors). */
export function obj<T extends z.ZodRawShape>(shape: T) {
  return z.object(shape, { invalid_type_error: "must be an object" }).strict(`allowed: ${Object.keys(shape).join(", ")}`);
}

/** Any JSON object, checked later by its user (e.g. a partial config inside a spec). */
export const record = () => z.record(z.unknown(), { invalid_type_error: "must be an object" });

/** How a parse failure is reported: the prefix of each message. */
export interface ParseOptions {
  /** what each message starts with before the path, e.g. "config " */
  prefix?: string;
  /** the error to throw (default Error) */
  error?: (message: string) => Error;
  /** defaults of the same shape: missing keys take them (objects merge key by key, lists and values replace) */
  defaults?: unknown;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** An own, enumerable data property (so a key named `__proto__` stays a key and is refused, not a prototype). */
function put(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** `value` over `dflt`: plain objects merge key by key; anything else in `value` wins. Fresh copies throughout. */
export function withDefaults(value: unknown, dflt: unknown): unknown {
  if (value === undefined) return structuredClone(dflt);
  if (!isObj(value) || !isObj(dflt)) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(dflt)) put(out, k, withDefaults(value[k], dflt[k]));
  for (const k of Object.keys(value)) if (!Object.prototype.hasOwnProperty.call(dflt, k)) put(out, k, structuredClone(value[k]));
  return out;
}

const pathText = (root: string, p: readonly (string | number)[]): string =>
  p.reduce<string>((a, k) => (typeof k === "number" ? `${a}[${k}]` : a ? `${a}.${k}` : k), root);

function valueAt(v: unknown, p: readonly (string | number)[]): unknown {
  for (const k of p) v = v !== null && typeof v === "object" ? (v as Record<string | number, unknown>)[k] : undefined;
  return v;
}

/** The first problem of a failed parse as one line (see the module note). */
export function issueMessage(issue: z.ZodIssue, input: unknown, root: string, prefix = ""): string {
  const at = (p: readonly (string | number)[]) => `${prefix}${pathText(root, p)}`.trimEnd();
  if (issue.code === "unrecognized_keys") return `${at(issue.path)}: unknown key '${issue.keys[0]}' (${issue.message})`;
  const got = valueAt(input, issue.path);
  if (got === undefined && issue.path.length) return `${at(issue.path.slice(0, -1))}: missing key '${issue.path[issue.path.length - 1]}'`;
  return `${at(issue.path)}: ${issue.message}${got === undefined ? "" : ` (got ${JSON.stringify(got)})`}`;
}

/**
 * Checks `value` (over `opts.defaults`) against `schema`; returns the parsed value, or throws
 * `opts.error(<one line>)` for the first problem, its path starting at `root`.
 */
export function parseWith<S extends z.ZodTypeAny>(schema: S, value: unknown, root: string, opts: ParseOptions = {}): z.output<S> {
  const input = opts.defaults === undefined ? value : withDefaults(value, opts.defaults);
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const err = opts.error ?? ((m: string) => new Error(m));
  // an object's unknown keys are reported before problems inside it (zod lists them after)
  const first = r.error.issues[0];
  const within = (i: z.ZodIssue) => i.code === "unrecognized_keys" && i.path.every((k, j) => first.path[j] === k);
  throw err(issueMessage(r.error.issues.find(within) ?? first, input, root, opts.prefix));
}

/** Freezes an object and everything inside it. */
export function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    Object.values(o as Record<string, unknown>).forEach(deepFreeze);
    Object.freeze(o);
  }
  return o;
}
