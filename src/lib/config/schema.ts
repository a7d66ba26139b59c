/**
 * The one schema language for every config kind the lab reads (the model/diffusion/training config, experiment
 * specs, the autoencoder's and the feature network's settings): a value is checked against a schema, missing keys
 * take their defaults (or are errors when required), unknown keys and out-of-range values are one-line errors that
 * name the offending path. Options are string-literal enums; results are plain JSON data.
 */

export type Schema =
  | { t: "int"; min?: number; max?: number; odd?: true }
  | { t: "num"; min?: number; max?: number; minExclusive?: true; maxExclusive?: true }
  | { t: "bool" }
  | { t: "str" }
  | { t: "enum"; values: readonly string[] }
  | { t: "intList"; min?: number; max?: number; allowEmpty?: true; unique?: true }
  /** any JSON object, checked later by its user (e.g. a partial config inside a spec) */
  | { t: "record" }
  /** anything (comments) */
  | { t: "any" }
  | { t: "list"; of: Schema; allowEmpty?: true }
  | { t: "obj"; fields: Record<string, Schema>; required?: readonly string[] };

export interface CheckOptions {
  /** what each message starts with before the path, e.g. "config " */
  prefix?: string;
  /** the error to throw (default Error) */
  error?: (message: string) => Error;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Checks `value` against `schema` at `path` over the defaults `dflt` (same shape as the value); returns a fresh
 * copy with defaults filled in. Throws `opts.error("<prefix><path>: <why> (got <value>)")`.
 */
export function checkSchema(value: unknown, schema: Schema, path: string, dflt?: unknown, opts: CheckOptions = {}): unknown {
  if (value === undefined) return structuredClone(dflt);
  const err = opts.error ?? ((m: string) => new Error(m));
  const fail = (why: string, at = path, shown: unknown = value): never => {
    throw err(`${opts.prefix ?? ""}${at}: ${why}${shown === undefined ? "" : ` (got ${JSON.stringify(shown)})`}`);
  };
  switch (schema.t) {
    case "int": {
      if (typeof value !== "number" || !Number.isInteger(value)) fail("must be an integer");
      const v = value as number;
      if (schema.min !== undefined && v < schema.min) fail(`must be ≥ ${schema.min}`);
      if (schema.max !== undefined && v > schema.max) fail(`must be ≤ ${schema.max}`);
      if (schema.odd && v % 2 !== 1) fail("must be odd");
      return v;
    }
    case "num": {
      if (typeof value !== "number" || !Number.isFinite(value)) fail("must be a finite number");
      const v = value as number;
      if (schema.min !== undefined && (schema.minExclusive ? v <= schema.min : v < schema.min)) {
        fail(`must be ${schema.minExclusive ? ">" : "≥"} ${schema.min}`);
      }
      if (schema.max !== undefined && (schema.maxExclusive ? v >= schema.max : v > schema.max)) {
        fail(`must be ${schema.maxExclusive ? "<" : "≤"} ${schema.max}`);
      }
      return v;
    }
    case "bool":
      if (typeof value !== "boolean") fail("must be true or false");
      return value;
    case "str":
      if (typeof value !== "string" || !value) fail("must be a non-empty string");
      return value;
    case "enum":
      if (typeof value !== "string" || !schema.values.includes(value)) fail(`must be one of ${schema.values.join(", ")}`);
      return value;
    case "intList": {
      if (!Array.isArray(value)) fail("must be a list of integers");
      const arr = value as unknown[];
      if (!schema.allowEmpty && arr.length === 0) fail("must not be empty");
      const out = arr.map((x, i) => checkSchema(x, { t: "int", min: schema.min, max: schema.max }, `${path}[${i}]`, undefined, opts) as number);
      if (schema.unique && new Set(out).size !== out.length) fail("has duplicates");
      return out;
    }
    case "record":
      if (!isObj(value)) fail("must be an object");
      return structuredClone(value);
    case "any":
      return structuredClone(value);
    case "list": {
      if (!Array.isArray(value)) fail("must be a list");
      const arr = value as unknown[];
      if (!schema.allowEmpty && arr.length === 0) fail("must not be empty");
      return arr.map((x, i) => checkSchema(x, schema.of, `${path}[${i}]`, undefined, opts));
    }
    case "obj": {
      if (!isObj(value)) fail("must be an object");
      const obj = value as Record<string, unknown>;
      const unknown = Object.keys(obj).filter((k) => !(k in schema.fields));
      if (unknown.length) fail(`unknown key '${unknown[0]}' (allowed: ${Object.keys(schema.fields).join(", ")})`, path, undefined);
      const missing = (schema.required ?? []).filter((k) => obj[k] === undefined);
      if (missing.length) fail(`missing key '${missing[0]}'`, path, undefined);
      const out: Record<string, unknown> = {};
      const d = (dflt ?? {}) as Record<string, unknown>;
      for (const [k, s] of Object.entries(schema.fields)) {
        const v = checkSchema(obj[k], s, path ? `${path}.${k}` : k, d[k], opts);
        if (v !== undefined) out[k] = v;
      }
      return out;
    }
  }
}

/** Freezes an object and everything inside it. */
export function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    Object.values(o as Record<string, unknown>).forEach(deepFreeze);
    Object.freeze(o);
  }
  return o;
}
