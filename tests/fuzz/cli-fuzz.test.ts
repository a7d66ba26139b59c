/**
 * Property-based fuzzing of the whole CLI (issue 29), with fast-check: generated flags and values for every
 * command, generated configs (wrong types, out-of-range values, unknown and prototype keys, NaN/Infinity, huge
 * numbers, a byte-order mark) and generated corruptions (truncation, bit flips, wrong magic, bad header JSON, junk
 * appended) of every format the lab reads (checkpoints in both layouts, safetensors, .npy, PNG, configs, result JSON).
 *
 * The invariant, for every case: exit 0, or exit 2 with exactly one line on stderr and nothing written; never exit
 * 1, never a stack trace, never a file the command read changed (on success only the outputs it was given change).
 *
 * Cases run through the CLI's `main` in this process (thousands in under two minutes); a few run as real processes.
 * The seed is printed; replay a failure with INFTY_FUZZ_SEED=<seed> (fast-check also prints the shrunk case).
 * INFTY_FUZZ_SCALE multiplies the number of cases (e.g. 10 for a long local run).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import fc from "fast-check";
import { exportModel, loadCheckpoint } from "infty-diff-lab";
import { saveCheckpointV1 } from "../../src/lib/runtime/checkpoint";
import { inProcess, errorLines, CliResult } from "../helpers/in-process";
import { infty } from "../helpers/cli";
import { TINY } from "../helpers/tiny";

const ROOT = path.resolve(__dirname, "../../..");
const SEED = process.env.INFTY_FUZZ_SEED !== undefined ? Number(process.env.INFTY_FUZZ_SEED) : (Date.now() ^ (process.pid << 8)) >>> 0;
const SCALE = Number(process.env.INFTY_FUZZ_SCALE ?? 1);
const RUNS = { flags: Math.round(1200 * SCALE), corruptions: Math.round(450 * SCALE), configs: Math.round(400 * SCALE) };


// ─── the fixture: one folder of inputs, restored after every case ───────────────────────────────────────────────

type Snap = Map<string, string>;
/** Every entry under `dir`: kind, size, inode, mtime (a write or a rename changes one of them). */
function snapshot(dir: string): Snap {
  const out: Snap = new Map();
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name), rel = path.relative(dir, p);
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) out.set(rel, `link ${fs.readlinkSync(p)}`);
      else if (st.isDirectory()) { out.set(rel, "dir"); walk(p); }
      // not ctime: replacing model.ckpt (an allowed output) changes its hard link's link count, not the link's content
      else out.set(rel, `file ${st.size} ${st.ino} ${st.mtimeMs}`);
    }
  };
  walk(dir);
  return out;
}
const changes = (a: Snap, b: Snap): string[] => {
  const out: string[] = [];
  for (const [k, v] of b) if (a.get(k) !== v) out.push(a.has(k) ? `changed ${k}` : `new ${k}`);
  for (const k of a.keys()) if (!b.has(k)) out.push(`deleted ${k}`);
  return out;
};

let dir: string, pristine: string, base: Snap;

/** Puts the folder back exactly as the fixture was (after a successful command wrote its outputs). */
function restore(): void {
  const now = snapshot(dir);
  const diff = changes(base, now);
  if (!diff.length) return;
  // remove what is new (deepest first), then copy back what changed or went
  for (const k of [...now.keys()].filter((k) => !base.has(k)).sort((a, b) => b.length - a.length)) fs.rmSync(path.join(dir, k), { recursive: true, force: true });
  for (const [k, v] of base) {
    const p = path.join(dir, k), cur = snapshot(dir).get(k);
    if (cur === v) continue;
    if (v === "dir") fs.mkdirSync(p, { recursive: true });
    else if (v.startsWith("link")) { fs.rmSync(p, { force: true }); fs.symlinkSync(v.slice(5), p); }
    else if (fs.existsSync(path.join(pristine, k))) { fs.rmSync(p, { recursive: true, force: true }); fs.copyFileSync(path.join(pristine, k), p); }
  }
  // the hard link shares the model's inode again
  fs.rmSync(path.join(dir, "hard.ckpt"), { force: true });
  fs.linkSync(path.join(dir, "model.ckpt"), path.join(dir, "hard.ckpt"));
  base = snapshot(dir);
}

async function buildFixture(): Promise<void> {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "infty-fuzz-"));
  const w = (name: string, data: string | Uint8Array) => fs.writeFileSync(path.join(dir, name), data);
  w("tiny.json", JSON.stringify(TINY));
  const r = await inProcess(["train", "--config", "tiny.json", "--run", "run", "--quiet", "--backend", "wasm"], dir);
  assert.equal(r.code, 0, r.stderr);
  exportModel(path.join(dir, "run"), path.join(dir, "model.ckpt"));
  saveCheckpointV1(path.join(dir, "old.ckpt"), loadCheckpoint(path.join(dir, "model.ckpt")));
  fs.symlinkSync("model.ckpt", path.join(dir, "link.ckpt"));
  fs.linkSync(path.join(dir, "model.ckpt"), path.join(dir, "hard.ckpt"));
  const g = await inProcess(["sample", "--checkpoint", "model.ckpt", "--resolution", "12", "--n", "4", "--steps", "2", "--out", "samples", "--quiet"], dir);
  assert.equal(g.code, 0, g.stderr);
  fs.renameSync(path.join(dir, "samples.png"), path.join(dir, "in.png"));
  const npy = fs.readFileSync(path.join(dir, "samples.npy"));
  npy.writeFloatLE(NaN, npy.length - 4);
  w("nan.npy", npy);
  fs.cpSync(path.join(dir, "run"), path.join(dir, "crun"), { recursive: true });
  fs.copyFileSync(path.join(ROOT, "tests/fixtures/authors/authors-config.json"), path.join(dir, "authors.json"));
  fs.copyFileSync(path.join(ROOT, "tests/fixtures/authors/sparse-unet.safetensors"), path.join(dir, "w.safetensors"));
  w("ae.json", JSON.stringify({ zDim: 4 }));
  fs.mkdirSync(path.join(dir, "res", "table3"), { recursive: true });
  for (const f of fs.readdirSync(path.join(ROOT, "results/table3")).filter((f) => f.endsWith(".json")).slice(0, 4)) {
    fs.copyFileSync(path.join(ROOT, "results/table3", f), path.join(dir, "res", "table3", f));
  }
  w("existing.png", "keep me unless --force");
  w("afile", "a plain file");
  fs.mkdirSync(path.join(dir, "adir"));
  w("corrupt.ckpt", "INFTYCK1 not really");
  pristine = fs.mkdtempSync(path.join(os.tmpdir(), "infty-fuzz-pristine-"));
  fs.cpSync(dir, pristine, { recursive: true, verbatimSymlinks: true });
  base = snapshot(dir);
}

// ─── the invariant ──────────────────────────────────────────────────────────────────────────────────────────────

interface Case {
  args: string[];
  /** paths (relative to the fixture) a successful run may create or change: its outputs */
  outputs: string[];
}

/** The contract of one finished case; null when it holds, else what broke. */
function violation(c: Case, r: CliResult, before: Snap, after: Snap): string | null {
  const diff = changes(before, after);
  if (/\n\s+at .*:\d+:\d+\)?/.test(r.stderr + r.stdout)) return `a stack trace:\n${r.stderr}`;
  if (r.code === 2) {
    const lines = errorLines(r.stderr);
    if (lines.length !== 1) return `exit 2 with ${lines.length} lines:\n${r.stderr}`;
    if (diff.length) return `exit 2 (${lines[0]}) but wrote: ${diff.join(", ")}`;
    return null;
  }
  if (r.code !== 0) return `exit ${r.code}: ${r.stderr}`;
  const allowed = (entry: string) => {
    const p = entry.replace(/^(changed|new|deleted) /, "");
    return c.outputs.some((o) => {
      const n = path.normalize(o);
      return p === n || p.startsWith(n) || p.startsWith(n + path.sep);
    });
  };
  const bad = diff.filter((d) => !allowed(d));
  return bad.length ? `exit 0 but changed what it did not write: ${bad.join(", ")}` : null;
}

/** INFTY_FUZZ_PROFILE=1: where the time goes (command, exit code → count, seconds) */
const PROFILE = new Map<string, [number, number]>();

async function check(c: Case): Promise<void> {
  const before = snapshot(dir);
  const t0 = Date.now();
  const r = await inProcess(c.args, dir);
  if (process.env.INFTY_FUZZ_PROFILE && Date.now() - t0 > 3000) console.log(`        slow (${((Date.now() - t0) / 1000).toFixed(1)} s): infty ${c.args.join(" ")}`);
  if (process.env.INFTY_FUZZ_PROFILE) {
    const k = `${c.args[0]} ${r.code}`, p = PROFILE.get(k) ?? [0, 0];
    PROFILE.set(k, [p[0] + 1, p[1] + (Date.now() - t0) / 1000]);
  }
  const v = violation(c, r, before, snapshot(dir));
  restore();
  if (v) throw new Error(`infty ${c.args.join(" ")}\n  → ${v}`);
}

// ─── generated flags for every command ──────────────────────────────────────────────────────────────────────────

const strs = (...xs: string[]) => fc.constantFrom(...xs);
const intStr = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map(String);
/** what is bad for any integer flag: other syntaxes, non-numbers, beyond 2⁵³ */
const BAD_INT = fc.oneof(strs("1.5", "1e3", "0x10", "abc", "", " 3", "+", "-", "99999999999999999999", "Infinity", "NaN", "1,5", "٣"),
  fc.string({ maxLength: 6 }), fc.double().map(String));
const BAD_NUM = fc.oneof(strs("nan", "NaN", "Infinity", "-Infinity", "0x1", "1e400", "", "1,5", ".", "e5", "--1"), fc.string({ maxLength: 6 }));
const below = (lo: number) => fc.integer({ min: -1e9, max: lo - 1 }).map(String);
const above = (hi: number) => fc.oneof(fc.integer({ min: hi + 1, max: hi + 1000 }), fc.constant(Number.MAX_SAFE_INTEGER)).map(String);
const badInt = (lo: number, hi: number) => fc.oneof(BAD_INT, below(lo), above(hi));
const badNum = (lo: number, hi: number) => fc.oneof(BAD_NUM, fc.double({ min: -1e12, max: lo, maxExcluded: true, noNaN: true }).map(String),
  fc.double({ min: hi, max: 1e300, minExcluded: true, noNaN: true }).map(String));
/** paths a command might be pointed at by mistake: missing, a folder, a file as a parent, other formats, empty */
const BAD_READ = strs("nope.ckpt", "adir", "afile", "afile/x", "", "corrupt.ckpt", "tiny.json", "in.png", "samples.npy", "w.safetensors", "existing.png", "run", "/dev/null");
/** outputs that must be refused: a folder, under a file, the inputs themselves (by any spelling), training files */
const BAD_WRITE = strs("adir", "adir/", "afile/x", "model.ckpt", "./model.ckpt", "link.ckpt", "hard.ckpt", "run/../model.ckpt", "run/checkpoint.bin",
  "samples.npy", "in.png", "tiny.json", "w.safetensors", "authors.json", "");
const BACKENDS_GOOD = strs("wasm");
const BACKENDS_BAD = strs("gpu", "webgl", "", "WASM", "tensorflow2");
const CKPT_GOOD = strs("model.ckpt", "./model.ckpt", "link.ckpt", "hard.ckpt", "old.ckpt");
const SEED_ANY = fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }).map(String), badInt(0, 2 ** 32 - 1));
const STEPS_GOOD = fc.oneof({ weight: 4, arbitrary: strs("2") }, { weight: 1, arbitrary: strs("3", "4", "5") });

interface FlagGen {
  name: string;
  good: fc.Arbitrary<string>;
  bad: fc.Arbitrary<string>;
  /** boolean flag: written alone (or =true/=false) */
  bool?: boolean;
  /** never omitted: required by the command, or its default is costly (eval's --n 1000, sample's 100 steps) */
  required?: boolean;
  /** the value is an output path (a successful run may write there) */
  out?: "file" | "prefix" | "dir";
}
interface CommandGen {
  /** argv before the flags (command and positionals) */
  head: fc.Arbitrary<readonly string[]>;
  flags: FlagGen[];
  /**
   * percent of all-good cases left to succeed (default 100): a success that trains, or scores FID (100 bootstrap
   * resamples), takes seconds, so most of those cases get one bad value forced in (and fail fast)
   */
  successPct?: number;
  /** outputs a success writes whatever the flags */
  fixedOutputs?: string[];
}

const boolFlag = (name: string): FlagGen => ({ name, good: strs(""), bad: strs("=maybe", "=1", "=", "=yes"), bool: true });
const FRESH = (prefix: string) => fc.integer({ min: 0, max: 5 }).map((i) => `${prefix}${i}`);

const COMMANDS: Record<string, CommandGen> = {
  train: { head: fc.constant(["train"]), fixedOutputs: ["runs"], successPct: 30, flags: [
    { name: "config", good: strs("tiny.json"), bad: fc.oneof(BAD_READ, strs("ae.json", "authors.json")) },
    // a fresh run renders its 20,000 procedural images (seconds): mostly the existing run, which is refused or has nothing to do
    { name: "run", good: fc.oneof({ weight: 1, arbitrary: FRESH("fz-run") }, { weight: 9, arbitrary: strs("run", "./run") }), bad: strs("afile", "afile/r", "adir/../afile", ""), out: "dir", required: true },
    { name: "steps", good: strs("1", "2", "3"), bad: badInt(1, 1e9) },
    { name: "ratio", good: strs("0.5", "1", "0.25"), bad: badNum(0, 1) },
    { name: "seed", good: SEED_ANY, bad: badInt(0, 2 ** 32 - 1) },
    { name: "backend", good: BACKENDS_GOOD, bad: BACKENDS_BAD },
    { name: "workers", good: strs("1"), bad: badInt(1, 64) },
    { name: "keep-every", good: strs("1", "2"), bad: badInt(1, 1e9) },
    boolFlag("quiet"),
  ] },
  "train-ae": { successPct: 0, head: fc.constant(["train-ae"]), fixedOutputs: ["runs"], flags: [
    { name: "config", good: strs("tiny.json"), bad: BAD_READ },
    { name: "autoencoder", good: strs("ae.json"), bad: fc.oneof(BAD_READ, strs("tiny.json")) },
    { name: "run", good: FRESH("fz-ae"), bad: strs("afile", "run", "afile/x"), out: "dir" },
    { name: "steps", good: strs("1"), bad: badInt(1, 1e9) },
    { name: "init-from", good: CKPT_GOOD, bad: fc.oneof(BAD_READ, strs("run/checkpoint.bin")) },
    { name: "fit-latent", good: strs("1"), bad: badInt(1, 1e7) },
    { name: "latent-target", good: strs("eps", "v"), bad: strs("x", "", "EPS") },
    { name: "seed", good: SEED_ANY, bad: badInt(0, 2 ** 32 - 1) },
    { name: "backend", good: BACKENDS_GOOD, bad: BACKENDS_BAD },
    boolFlag("quiet"),
  ] },
  sample: { head: fc.constant(["sample"]), flags: [
    { name: "checkpoint", good: CKPT_GOOD, bad: BAD_READ, required: true },
    { name: "resolution", good: strs("4", "6", "8", "12", "6x8", "8×6"), bad: fc.oneof(strs("0", "1.5", "-28", "4097", "12x0", "abc", "12x", "x12", "0x0", ""), fc.string({ maxLength: 5 })), required: true },
    { name: "n", good: strs("1", "2", "3"), bad: badInt(1, 1e6), required: true },
    { name: "batch", good: strs("1", "2", "16"), bad: badInt(1, 1024) },
    { name: "steps", good: STEPS_GOOD, bad: fc.oneof(badInt(1, 100000), strs("1", "1001", "45")), required: true },
    { name: "sampler", good: strs("ddim", "ddpm"), bad: strs("ddpx", "", "DDIM") },
    { name: "eta", good: strs("0", "0.5", "1"), bad: badNum(0, 1) },
    { name: "seed", good: SEED_ANY, bad: badInt(0, 2 ** 32 - 1) },
    { name: "out", good: fc.oneof(FRESH("o"), strs("existing", "newdir/o", "./o")), bad: fc.oneof(BAD_WRITE, strs("afile/s", "adir/")), out: "prefix", required: true },
    boolFlag("force"), boolFlag("raw"),
    { name: "backend", good: BACKENDS_GOOD, bad: BACKENDS_BAD },
    { name: "workers", good: strs("1"), bad: badInt(1, 64) },
    boolFlag("quiet"),
  ] },
  eval: { head: fc.constant(["eval"]), successPct: 2, flags: [
    { name: "samples", good: strs("samples.npy", "./samples.npy"), bad: BAD_READ },
    { name: "checkpoint", good: CKPT_GOOD, bad: BAD_READ },
    { name: "resolution", good: strs("6", "12"), bad: strs("0", "x", "", "4097", "-1"), required: true },
    { name: "n", good: strs("2", "3", "4"), bad: fc.oneof(badInt(1, 50000), strs("50001")), required: true },
    { name: "steps", good: STEPS_GOOD, bad: fc.oneof(badInt(1, 100000), strs("2000", "1")), required: true },
    { name: "ddim-grid", good: strs("even", "ddim-stride"), bad: strs("odd", "") },
    { name: "batch", good: strs("1", "4"), bad: badInt(1, 1024) },
    { name: "seed", good: SEED_ANY, bad: badInt(0, 2 ** 32 - 1) },
    { name: "json", good: fc.oneof(FRESH("e").map((s) => `${s}.json`), strs("existing.png", "newdir/e.json")), bad: BAD_WRITE, out: "file" },
    boolFlag("force"), boolFlag("baselines"),
    { name: "backend", good: BACKENDS_GOOD, bad: BACKENDS_BAD },
    { name: "workers", good: strs("1"), bad: badInt(1, 64) },
    boolFlag("quiet"),
  ] },
  export: { head: fc.constant(["export"]), flags: [
    { name: "run", good: strs("run", "./run", "run/"), bad: strs("nope", "afile", "adir", ""), required: true },
    { name: "out", good: fc.oneof(FRESH("x").map((s) => `${s}.ckpt`), strs("existing.png", "newdir/m.ckpt")),
      bad: fc.oneof(BAD_WRITE, strs("run/log.jsonl", "run/config.json", "run/commands.jsonl", "run/./checkpoint.bin")), out: "file", required: true },
    boolFlag("force"),
  ] },
  grid: { head: fc.constant(["grid"]), successPct: 8, flags: [
    { name: "checkpoint", good: CKPT_GOOD, bad: BAD_READ, required: true },
    { name: "resolutions", good: strs("6", "3,6", "2,4"), bad: strs("0,12", "5,12", "12,8192", "a", "", ",", "6,,12", "-6,12"), required: true },
    { name: "n", good: strs("1", "2"), bad: badInt(1, 256), required: true },
    { name: "steps", good: STEPS_GOOD, bad: badInt(1, 100000), required: true },
    { name: "seed", good: SEED_ANY, bad: badInt(0, 2 ** 32 - 1) },
    { name: "out", good: fc.oneof(FRESH("g").map((s) => `${s}.png`), strs("existing.png")), bad: BAD_WRITE, out: "file", required: true },
    boolFlag("force"),
    { name: "backend", good: BACKENDS_GOOD, bad: BACKENDS_BAD },
    boolFlag("quiet"),
  ] },
  inpaint: { head: fc.constant(["inpaint"]), successPct: 50, flags: [
    { name: "checkpoint", good: CKPT_GOOD, bad: BAD_READ, required: true },
    { name: "input", good: strs("in.png", "./in.png"), bad: BAD_READ },
    { name: "index", good: strs("0", "3"), bad: badInt(0, 999999) },
    { name: "dataset", good: strs("procedural", "fashion-mnist"), bad: strs("mnist", "") },
    { name: "mask", good: strs("centre", "strokes", "half"), bad: strs("circle", "") },
    { name: "ts", good: strs("0", "500", "999"), bad: fc.oneof(badInt(0, 100000), strs("1000")) },
    { name: "resolution", good: strs("6", "8", "12"), bad: badInt(2, 1024) },
    { name: "lambda", good: strs("0", "0.5", "3"), bad: badNum(0, 1e6) },
    { name: "steps", good: STEPS_GOOD, bad: badInt(1, 100000), required: true },
    { name: "seed", good: SEED_ANY, bad: badInt(0, 2 ** 32 - 1) },
    { name: "out", good: fc.oneof(FRESH("ip").map((s) => `${s}.png`), strs("existing.png")), bad: BAD_WRITE, out: "file", required: true },
    boolFlag("force"),
    { name: "backend", good: BACKENDS_GOOD, bad: BACKENDS_BAD },
  ] },
  superres: { head: fc.constant(["superres"]), successPct: 10, flags: [
    { name: "checkpoint", good: CKPT_GOOD, bad: BAD_READ, required: true },
    { name: "input", good: strs("in.png"), bad: BAD_READ },
    { name: "index", good: strs("0", "2"), bad: badInt(0, 999999) },
    { name: "dataset", good: strs("procedural"), bad: strs("mnist") },
    { name: "scale", good: strs("2"), bad: fc.oneof(badInt(2, 4), strs("3")) },
    { name: "t-encode", good: strs("1", "300", "999"), bad: fc.oneof(badInt(1, 100000), strs("1000")) },
    { name: "lambda", good: strs("0", "1"), bad: badNum(0, 1e6) },
    { name: "steps", good: strs("1", "2"), bad: badInt(1, 100000), required: true },
    { name: "project", good: strs("", "=false", "=true"), bad: strs("=maybe"), bool: true },
    { name: "out", good: fc.oneof(FRESH("sr").map((s) => `${s}.png`)), bad: BAD_WRITE, out: "file", required: true },
    boolFlag("force"),
  ] },
  import: { head: fc.constant(["import"]), flags: [
    { name: "weights", good: strs("w.safetensors", "./w.safetensors"), bad: BAD_READ, required: true },
    { name: "config", good: strs("authors.json"), bad: fc.oneof(BAD_READ, strs("tiny.json")), required: true },
    { name: "out", good: fc.oneof(FRESH("imp").map((s) => `${s}.ckpt`), strs("existing.png")), bad: fc.oneof(BAD_WRITE, strs("run/checkpoint.bin")), out: "file", required: true },
    boolFlag("force"),
    { name: "step", good: strs("0", "5", "9007199254740991"), bad: badInt(0, Number.MAX_SAFE_INTEGER) },
    { name: "backend", good: strs("cpu", "wasm"), bad: BACKENDS_BAD },
  ] },
  "train-features": { successPct: 0, head: fc.constant(["train-features"]), flags: [
    { name: "epochs", good: strs("1"), bad: badInt(1, 1000) },
    { name: "batch", good: strs("8"), bad: badInt(1, 1024) },
    { name: "lr", good: strs("0.001"), bad: fc.oneof(badNum(0, 0.999999), strs("0", "1")) },
    { name: "seed", good: SEED_ANY, bad: badInt(0, 2 ** 32 - 1) },
    { name: "limit", good: strs("8"), bad: badInt(0, 55000) },
    { name: "out", good: FRESH("feat"), bad: strs("afile", "afile/x"), out: "dir", required: true },
    { name: "backend", good: BACKENDS_GOOD, bad: BACKENDS_BAD },
    { name: "min-accuracy", good: strs("0"), bad: badNum(0, 1) },
  ] },
  ablate: { head: fc.oneof(fc.constant(["ablate", "table3"]), fc.constant(["ablate", "table2"]), fc.constant(["ablate", "merge", "table3"]),
    fc.constant(["ablate", "nope"]), fc.constant(["ablate"]), fc.constant(["ablate", "merge"]), fc.constant(["ablate", "throughput"]), fc.constant(["ablate", "tiny.json"])),
  fixedOutputs: ["results", "runs"], flags: [
    { name: "budget", good: strs("fast", "full"), bad: strs("medium", "") },
    { name: "shard", good: strs("0/1", "1/2"), bad: strs("3/2", "x", "0/0", "-1/2", "1/", "") },
    { name: "results", good: strs("res"), bad: strs("afile", "afile/r", ""), out: "dir" },
    { name: "runs", good: strs("fz-runs"), bad: strs("afile"), out: "dir" },
    { name: "seed", good: strs("0", "1"), bad: badInt(0, 2 ** 32 - 1) },
    { name: "rounds", good: strs("1"), bad: badInt(1, 1000) },
    { name: "steps", good: strs("1"), bad: badInt(1, 100000) },
    { name: "list", good: strs(""), bad: strs("=maybe"), bool: true, required: true },
    { name: "backend", good: BACKENDS_GOOD, bad: BACKENDS_BAD },
    boolFlag("quiet"),
  ] },
  crossres: { head: fc.oneof(fc.constant(["crossres"]), fc.constant(["crossres", "fig2"]), fc.constant(["crossres", "merge", "fig2"]), fc.constant(["crossres", "nope"]),
    fc.constant(["crossres", "fig2", "fig2"])), fixedOutputs: ["results", "runs"], flags: [
    { name: "budget", good: strs("fast", "full"), bad: strs("medium", "") },
    { name: "shard", good: strs("0/1"), bad: strs("2/1", "x") },
    { name: "seed", good: strs("0"), bad: BAD_INT },
    { name: "dataset", good: strs("procedural"), bad: strs("") },
    { name: "results", good: strs("res"), bad: strs("afile", "afile/r"), out: "dir" },
    { name: "runs", good: strs("fz-runs"), bad: strs("afile"), out: "dir" },
    { name: "list", good: strs(""), bad: strs("=maybe"), bool: true, required: true },
    { name: "backend", good: BACKENDS_GOOD, bad: BACKENDS_BAD },
    boolFlag("quiet"),
  ] },
  backend: { head: fc.constant(["backend"]), flags: [
    { name: "backend", good: BACKENDS_GOOD, bad: BACKENDS_BAD },
    { name: "seconds", good: strs("0"), bad: badNum(0, 600), required: true },
    { name: "size", good: strs("1", "16"), bad: badInt(1, 8192) },
  ] },
};

type Choice = "omit" | "good" | "bad";
/** One command line: each flag omitted, good or bad (mostly good), then a few structural mutations. */
function commandCase(name: string): fc.Arbitrary<Case> {
  const spec = COMMANDS[name];
  const choice = fc.oneof({ weight: 6, arbitrary: fc.constant<Choice>("good") }, { weight: 3, arbitrary: fc.constant<Choice>("omit") },
    { weight: 1, arbitrary: fc.constant<Choice>("bad") });
  const perFlag = fc.tuple(...spec.flags.map((fl) => fc.tuple(choice, fl.good, fl.bad)));
  const mutation = fc.oneof(
    { weight: 20, arbitrary: fc.constant<string[] | null>(null) },
    { weight: 1, arbitrary: fc.constantFrom(["--no-such-flag", "1"], ["extra-positional"], ["--"], ["-n", "2"], ["--help=x"], ["--=x"]) },
  );
  return fc.tuple(spec.head, perFlag, mutation, fc.boolean(), fc.nat(99)).map(([head, picks, mut, eqForm, r]) => {
    const args = [...head], outputs = [...(spec.fixedOutputs ?? [])];
    let anyBad = false;
    spec.flags.forEach((fl, i) => {
      let [c, good, bad] = picks[i];
      if (c === "omit" && fl.required) c = "good";
      if (c === "omit") return;
      const v = c === "good" ? good : bad;
      if (c === "bad") anyBad = true;
      if (fl.bool) args.push(`--${fl.name}${v}`);
      else if (eqForm || v.startsWith("-")) args.push(`--${fl.name}=${v}`);
      else args.push(`--${fl.name}`, v);
      if (fl.out && c === "good") outputs.push(v);
      if (fl.out && c === "bad") outputs.push(v); // a bad output may still be written if the command does not check it: the invariant says
    });
    if (!anyBad && !mut && r >= (spec.successPct ?? 100)) {
      // a command whose success would be slow gets a bad integer (a seed of 0x1, always refused) or a flag given twice
      const seed = spec.flags.find((f) => f.name === "seed");
      const given = args.find((a) => a.startsWith("--"));
      if (seed && r % 2 === 0) args.push("--seed", "0x1");
      else args.push(given ? given.split("=")[0] : "--no-such-flag", "1");
    }
    if (mut) args.push(...mut);
    // two same-named flags through a duplicated pick are a generated case of their own
    if (r === 0 && args.length > 2) args.push(args[1]);
    // every success writes only what the case names; sample's prefix covers .npy/.png/.part.npy and a new folder
    return { args, outputs: outputs.map((o) => (o.startsWith("newdir") ? "newdir" : o)) };
  });
}

// ─── generated configs ──────────────────────────────────────────────────────────────────────────────────────────

const CONFIG_PATHS = ["model.resolution", "model.nf", "model.timeEmbDim", "model.sparseBlocks", "model.kernelSize", "model.unet.res", "model.unet.mults",
  "model.unet.groups", "model.unet.dropout", "model.arch", "model.operator", "train.batchSize", "train.coordRatio", "train.steps", "train.lr",
  "train.dataset", "train.checkpointEvery", "train.logEvery", "train.seed", "train.emaDecay", "diffusion.timesteps", "diffusion.schedule",
  "diffusion.mollifierStd", "diffusion.ddimGrid", "diffusion.clipTx0", "model", "train", "diffusion", "model.unet"];
const NAN = "\u0000NaN\u0000", INF = "\u0000Infinity\u0000", NINF = "\u0000-Infinity\u0000", HUGE = "\u00001e400\u0000";
const configValue = fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.constantFrom(NAN, INF, NINF, HUGE, 1e308, -0, 2 ** 53 + 2, 0, -1, 1.5),
  fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null), fc.array(fc.integer({ min: -3, max: 9 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }));
const configKey = fc.oneof(fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "nf ", "Model", "", "valueOf"), fc.string({ maxLength: 8 }));
type Mut = { kind: "set"; at: string; value: unknown } | { kind: "key"; at: string; key: string; value: unknown } | { kind: "delete"; at: string };
const configMutation: fc.Arbitrary<Mut> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.constantFrom(...CONFIG_PATHS), value: configValue }),
  fc.record({ kind: fc.constant("key" as const), at: fc.constantFrom("", "model", "train", "model.unet", "diffusion"), key: configKey, value: configValue }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.constantFrom(...CONFIG_PATHS) }),
);
const configCase = fc.record({
  muts: fc.array(configMutation, { minLength: 1, maxLength: 3 }),
  bom: fc.boolean(),
  tail: fc.constantFrom("", "", "", "\n", " garbage", "}", ",", "\u0000"),
  command: fc.constantFrom("train", "train", "train-ae", "import"),
}).map(({ muts, bom, tail, command }) => {
  const cfg = JSON.parse(JSON.stringify(command === "import" ? JSON.parse(fs.readFileSync(path.join(ROOT, "tests/fixtures/authors/authors-config.json"), "utf8")) : TINY));
  const get = (at: string): Record<string, unknown> | undefined => at.split(".").filter(Boolean).reduce<unknown>((o, k) =>
    (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), cfg) as Record<string, unknown> | undefined;
  for (const m of muts) {
    const parts = m.at.split(".");
    const parent = m.kind === "key" ? get(m.at) : get(parts.slice(0, -1).join("."));
    if (!parent || typeof parent !== "object") continue;
    // defineProperty: a "__proto__" key becomes an own key, as JSON.parse makes it
    if (m.kind === "set") Object.defineProperty(parent, parts[parts.length - 1], { value: m.value, enumerable: true, writable: true, configurable: true });
    else if (m.kind === "key") Object.defineProperty(parent, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
    else delete parent[parts[parts.length - 1]];
  }
  let text = JSON.stringify(cfg).replace(/"\\u0000([^"\\]*)\\u0000"/g, "$1");
  text = (bom ? "\ufeff" : "") + text + tail;
  // train: an existing run (a valid config that differs is refused; no step is ever trained); train-ae: a fresh run
  // refused for its missing --init-from once the config is read; import: the fixture's weights
  const args = command === "train" ? ["train", "--config", "c.json", "--run", "run", "--quiet"]
    : command === "train-ae" ? ["train-ae", "--config", "c.json", "--run", "fz-ae", "--init-from", "nope.ckpt"]
      : ["import", "--weights", "w.safetensors", "--config", "c.json", "--out", "ci.ckpt"];
  return { text, args, outputs: ["ci.ckpt", "run"] };
});

// ─── generated corruptions of every format the lab reads ────────────────────────────────────────────────────────

interface Format { file: string; from: string; args: string[]; outputs: string[]; jsonHeader?: (b: Buffer) => [number, number] }
const safetensorsHeader = (b: Buffer): [number, number] => [8, 8 + Math.min(Number(b.readBigUInt64LE(0)), b.length - 8)];
const FORMATS: Format[] = [
  { file: "c.ckpt", from: "model.ckpt", args: ["sample", "--checkpoint", "c.ckpt", "--resolution", "6", "--n", "1", "--steps", "2", "--out", "co", "--quiet"], outputs: ["co"], jsonHeader: safetensorsHeader },
  { file: "c.ckpt", from: "old.ckpt", args: ["sample", "--checkpoint", "c.ckpt", "--resolution", "4", "--n", "1", "--steps", "2", "--out", "cg", "--quiet"], outputs: ["cg"],
    jsonHeader: (b) => [12, 12 + Math.min(b.readUInt32LE(8), b.length - 12)] },
  // resuming to the step it holds: every check of the checkpoint (layout, config, finite weights, step), no training
  { file: "run/checkpoint.bin", from: "run/checkpoint.bin", args: ["train", "--run", "run", "--steps", "2", "--quiet"], outputs: ["run"], jsonHeader: safetensorsHeader },
  { file: "crun/checkpoint.bin", from: "crun/checkpoint.bin", args: ["export", "--run", "crun", "--out", "cx.ckpt"], outputs: ["cx.ckpt"], jsonHeader: safetensorsHeader },
  { file: "c.safetensors", from: "w.safetensors", args: ["import", "--weights", "c.safetensors", "--config", "authors.json", "--out", "ci.ckpt"], outputs: ["ci.ckpt"], jsonHeader: safetensorsHeader },
  // the fixture's .npy holds one NaN (its last value): a corruption of the data is refused at the values, and every
  // header corruption reaches the parser, without a FID (seconds) per case
  { file: "c.npy", from: "nan.npy", args: ["eval", "--samples", "c.npy", "--json", "ce.json"], outputs: ["ce.json"], jsonHeader: (b) => [10, 10 + Math.min(b.readUInt16LE(8), b.length - 10)] },
  { file: "c.png", from: "in.png", args: ["inpaint", "--checkpoint", "model.ckpt", "--input", "c.png", "--resolution", "6", "--steps", "2", "--out", "cp.png"], outputs: ["cp.png"] },
  { file: "c.json", from: "tiny.json", args: ["train", "--config", "c.json", "--run", "run", "--quiet"], outputs: ["run"], jsonHeader: (b) => [0, b.length] },
  { file: "c.json", from: "authors.json", args: ["import", "--weights", "w.safetensors", "--config", "c.json", "--out", "ci.ckpt"], outputs: ["ci.ckpt"], jsonHeader: (b) => [0, b.length] },
  { file: "res/table3/RESULT", from: "res/table3/RESULT", args: ["ablate", "merge", "table3", "--results", "res"], outputs: ["res"], jsonHeader: (b) => [0, b.length] },
];
type Corruption = { kind: "truncate"; at: number } | { kind: "flip"; bits: Array<[number, number]> } | { kind: "magic"; bytes: number[] }
  | { kind: "header"; at: number; text: string } | { kind: "append"; bytes: number[] } | { kind: "empty" };
const corruption: fc.Arbitrary<Corruption> = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }).map((x) => x) as fc.Arbitrary<number> }),
  fc.record({ kind: fc.constant("flip" as const), bits: fc.array(fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant("magic" as const), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant("header" as const), at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    text: fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("null", "{}", "[]", "\"", "}", "NaN", "1e999", "-", "__proto__", "{\"version\":1}")) }),
  fc.record({ kind: fc.constant("append" as const), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }) }),
  fc.constant({ kind: "empty" as const }),
);
function corrupt(buf: Buffer, c: Corruption, fmt: Format): Buffer {
  const b = Buffer.from(buf);
  switch (c.kind) {
    case "truncate": return b.subarray(0, Math.floor(c.at * b.length));
    case "flip": for (const [x, bit] of c.bits) b[Math.floor(x * b.length)] ^= 1 << bit; return b;
    case "magic": for (let i = 0; i < c.bytes.length && i < b.length; i++) b[i] = c.bytes[i]; return b;
    case "header": {
      // overwrite part of the JSON header with other text, byte length kept (so the length field still agrees)
      const [s, e] = fmt.jsonHeader ? fmt.jsonHeader(b) : [0, b.length];
      const t = Buffer.from(c.text, "utf8");
      const at = s + Math.floor(c.at * Math.max(0, e - s - t.length));
      t.copy(b, at, 0, Math.min(t.length, Math.max(0, e - at)));
      return b;
    }
    case "append": return Buffer.concat([b, Buffer.from(c.bytes)]);
    case "empty": return Buffer.alloc(0);
  }
}

// ─── the suite ──────────────────────────────────────────────────────────────────────────────────────────────────

describe(`CLI fuzz (fast-check, seed ${SEED}; replay with INFTY_FUZZ_SEED=${SEED})`, function () {
  this.timeout(600000);
  let total = 0;
  let started = 0;
  before(async () => {
    started = Date.now();
    console.log(`      fuzz seed ${SEED} — replay: INFTY_FUZZ_SEED=${SEED} npx mocha dist/tests/fuzz/cli-fuzz.test.js`);
    await buildFixture();
  });
  after(() => {
    console.log(`      ${total} generated cases in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (PROFILE.size) for (const [k, [n, sec]] of [...PROFILE].sort((x, y) => y[1][1] - x[1][1])) console.log(`        ${k}: ${n} cases, ${sec.toFixed(1)} s`);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (pristine) fs.rmSync(pristine, { recursive: true, force: true });
  });

  it(`generated flags and values for every command (${RUNS.flags} cases): exit 0, or exit 2 in one line with nothing written`, async () => {
    const anyCommand = fc.constantFrom(...Object.keys(COMMANDS)).chain(commandCase);
    await fc.assert(fc.asyncProperty(anyCommand, async (c) => { total++; await check(c); }), { seed: SEED, numRuns: RUNS.flags, endOnFailure: true });
  });

  it(`generated configs — types, ranges, unknown and __proto__ keys, NaN/Infinity, huge numbers, BOM (${RUNS.configs} cases)`, async () => {
    await fc.assert(fc.asyncProperty(configCase, async (c) => {
      total++;
      fs.writeFileSync(path.join(dir, "c.json"), c.text);
      base = snapshot(dir);
      try {
        await check({ args: c.args, outputs: c.outputs });
      } finally {
        fs.rmSync(path.join(dir, "c.json"), { force: true });
        base = snapshot(dir);
      }
    }), { seed: SEED + 1, numRuns: RUNS.configs, endOnFailure: true });
  });

  it(`generated corruptions of checkpoints (both layouts), safetensors, .npy, PNG, configs and result JSON (${RUNS.corruptions} cases)`, async () => {
    const results = fs.readdirSync(path.join(dir, "res", "table3"));
    await fc.assert(fc.asyncProperty(fc.constantFrom(...FORMATS), corruption, fc.nat(results.length - 1), async (fmt, c, which) => {
      total++;
      const file = fmt.file.replace("RESULT", results[which]), from = fmt.from.replace("RESULT", results[which]);
      const original = fs.readFileSync(path.join(pristine, from));
      fs.writeFileSync(path.join(dir, file), corrupt(original, c, fmt));
      base = snapshot(dir);
      try {
        await check({ args: fmt.args, outputs: fmt.outputs });
      } finally {
        // the corrupted file goes back to what it was (or away, when it was a copy)
        if (file === from) fs.writeFileSync(path.join(dir, file), original);
        else fs.rmSync(path.join(dir, file), { force: true });
        base = snapshot(dir);
      }
    }), { seed: SEED + 2, numRuns: RUNS.corruptions, endOnFailure: true });
  });

  it("ran at least 2,000 generated cases", () => {
    assert.ok(total >= Math.min(2000, 2000 * SCALE), `only ${total}`);
  });

  it("a sample of generated cases as real processes: the same contract", async () => {
    const cases = fc.sample(fc.constantFrom(...Object.keys(COMMANDS)).chain(commandCase), { seed: SEED, numRuns: 8 });
    const failures: string[] = [];
    for (const c of cases) {
      const before = snapshot(dir);
      const r = infty(c.args, dir, 120000);
      const v = violation(c, { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr }, before, snapshot(dir));
      restore();
      if (v) failures.push(`infty ${c.args.join(" ")} → ${v}`);
    }
    assert.deepEqual(failures, []);
  });
});
