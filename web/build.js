#!/usr/bin/env node
/**
 * Builds the browser lab into one static folder (default web/dist/) that works from any static host and offline:
 *   index.html, style.css, app.js (web/src/main.ts bundled by esbuild from the library's browser entry point),
 *   tfjs-backend-wasm's .wasm binaries, model/fashion-mnist.ckpt (the shipped checkpoint, as is) and
 *   assets/test-images.bin (the first 24 Fashion-MNIST test images, uint8 28×28 each), build-info.json.
 * Browser twins: a library module X.ts with a sibling X.browser.ts is bundled as the twin (src/lib/browser.ts).
 * The build fails when a Node module (fs, path, worker_threads, …) would enter the bundle.
 * Usage: node web/build.js [--out DIR] [--no-minify] [--quiet]. Plain JS: runs without a tsc build.
 */
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");
const crypto = require("crypto");
const { builtinModules } = require("module");

const ROOT = path.resolve(__dirname, "..");
const LIB = path.join(ROOT, "src", "lib") + path.sep;
const CHECKPOINT = path.join(ROOT, "data", "checkpoints", "fashion-mnist.ckpt");
const TEST_IMAGES = path.join(ROOT, "data", "fashion-mnist", "t10k-images-idx3-ubyte.gz");
const N_TEST_IMAGES = 24;
const WASM_DIR = path.join(ROOT, "node_modules", "@tensorflow", "tfjs-backend-wasm", "dist");
const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

function parseArgs(argv) {
  const opts = { out: path.join(ROOT, "web", "dist"), minify: true, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--out" && argv[i + 1]) opts.out = path.resolve(argv[++i]);
    else if (a === "--no-minify") opts.minify = false;
    else if (a === "--quiet") opts.quiet = true;
    else throw new Error(`web/build.js: unknown argument '${a}' (expected --out DIR, --no-minify, --quiet)`);
  }
  return opts;
}

/** esbuild plugin: library modules with a `.browser.ts` twin resolve to the twin. */
const browserTwins = {
  name: "browser-twins",
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (!args.importer.startsWith(LIB) || args.importer.endsWith(".browser.ts")) return undefined;
      const twin = path.resolve(path.dirname(args.importer), args.path) + ".browser.ts";
      return fs.existsSync(twin) ? { path: twin } : undefined;
    });
  },
};

/**
 * esbuild plugin: a Node built-in imported by the lab's or the page's own code fails the build, naming the importer.
 * (Inside packages esbuild applies their "browser" field, which maps the ones they mention to nothing — tfjs,
 * seedrandom — and fails on any other: platform "browser" resolves no built-in.)
 */
const noNodeModules = {
  name: "no-node-modules",
  setup(build) {
    build.onResolve({ filter: /^[a-z_:]+$/ }, (args) => {
      if (!NODE_BUILTINS.has(args.path) || args.importer.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      return { errors: [{ text: `Node module '${args.path}' imported by ${path.relative(ROOT, args.importer)} would enter the browser bundle` }] };
    });
  },
};

/** The first n images of an IDX3 file (gzip), uint8 [n·28·28]. */
function testImages(file, n) {
  const buf = zlib.gunzipSync(fs.readFileSync(file));
  if (buf.readUInt32BE(0) !== 0x803) throw new Error(`${file}: not an IDX3 image file`);
  const [count, H, W] = [buf.readUInt32BE(4), buf.readUInt32BE(8), buf.readUInt32BE(12)];
  if (H !== 28 || W !== 28 || count < n) throw new Error(`${file}: expected ≥ ${n} images of 28×28`);
  return buf.subarray(16, 16 + n * H * W);
}

async function build(opts) {
  const esbuild = require("esbuild");
  const t0 = Date.now();
  fs.rmSync(opts.out, { recursive: true, force: true });
  fs.mkdirSync(path.join(opts.out, "model"), { recursive: true });
  fs.mkdirSync(path.join(opts.out, "assets"), { recursive: true });
  const result = await esbuild.build({
    entryPoints: [path.join(ROOT, "web", "src", "main.ts")],
    outfile: path.join(opts.out, "app.js"),
    bundle: true, platform: "browser", format: "iife", target: ["chrome113", "firefox115", "safari16"],
    minify: opts.minify, sourcemap: false, metafile: true, logLevel: "silent", legalComments: "none",
    plugins: [browserTwins, noNodeModules],
  });
  // Packages that mention Node modules map them to nothing in their "browser" field (tfjs, seedrandom): those
  // appear as "(disabled)" inputs; none may come from the lab's own sources.
  const inputs = Object.keys(result.metafile.inputs);
  const fromLab = inputs.filter((f) => f.startsWith("src/lib/"));
  const twins = fromLab.filter((f) => f.endsWith(".browser.ts"));
  for (const f of fs.readdirSync(WASM_DIR).filter((f) => f.endsWith(".wasm"))) fs.copyFileSync(path.join(WASM_DIR, f), path.join(opts.out, f));
  for (const f of ["index.html", "style.css"]) fs.copyFileSync(path.join(ROOT, "web", f), path.join(opts.out, f));
  fs.copyFileSync(CHECKPOINT, path.join(opts.out, "model", "fashion-mnist.ckpt"));
  fs.writeFileSync(path.join(opts.out, "assets", "test-images.bin"), testImages(TEST_IMAGES, N_TEST_IMAGES));
  const ck = fs.readFileSync(CHECKPOINT);
  const files = {};
  for (const f of walk(opts.out)) files[path.relative(opts.out, f)] = fs.statSync(f).size;
  const info = {
    checkpoint: { file: path.relative(ROOT, CHECKPOINT), bytes: ck.length, sha256: crypto.createHash("sha256").update(ck).digest("hex") },
    bundle: { bytes: fs.statSync(path.join(opts.out, "app.js")).size, inputs: inputs.length, labModules: fromLab.length, browserTwins: twins },
    files,
    seconds: (Date.now() - t0) / 1000,
  };
  fs.writeFileSync(path.join(opts.out, "build-info.json"), JSON.stringify(info, null, 2) + "\n");
  if (!opts.quiet) {
    const mib = (b) => (b / 2 ** 20).toFixed(1) + " MiB";
    const total = Object.values(files).reduce((a, b) => a + b, 0);
    console.log(`[web] ${path.relative(process.cwd(), opts.out) || "."}: app.js ${mib(info.bundle.bytes)} (${fromLab.length} lab modules, twins: ${twins.map((t) => path.basename(t)).join(", ")}), ` +
      `checkpoint ${mib(ck.length)}, ${Object.keys(files).length} files, ${mib(total)} in all, ${info.seconds.toFixed(1)} s`);
  }
  return info;
}

function* walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else yield p;
  }
}

module.exports = { build, browserTwins, noNodeModules };

if (require.main === module) {
  build(parseArgs(process.argv.slice(2))).catch((e) => {
    console.error(`[web] build failed: ${e.errors ? e.errors.map((x) => x.text).join("; ") : e.message}`);
    process.exit(1);
  });
}
