/**
 * The CLI on webgpu (SwiftShader in CI): `infty backend` names the adapter, a forced webgpu without an adapter is one
 * line naming the cause (exit 2), and a tiny run trains and samples with `--backend webgpu`. Kept to the smallest
 * sizes: every process compiles its shaders anew on a CPU emulating a GPU.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend, readNpy } from "infty-diff-lab";
import { webgpuOrSkip } from "../helpers/webgpu";

const CLI = path.resolve(__dirname, "..", "..", "src", "cli", "infty.js");
const run = (args: string[], cwd: string, env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", env: { ...process.env, ...env }, timeout: 600000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
/** stderr without dawn's own diagnostics (Vulkan loader warnings and their source locations, printed by C++). */
const ourLines = (stderr: string) =>
  stderr.split("\n").filter((l) => l.trim() && !/^(Warning|error):|^\s+at .*\.cpp:\d+\)$|^ - /.test(l) && !l.startsWith("[infty] backend"));

describe("CLI on webgpu (SwiftShader in CI)", function () {
  this.timeout(900000);
  let dir: string;
  before(async function () {
    await webgpuOrSkip(this); // sets VK_ICD_FILENAMES for the child processes where SwiftShader is the adapter
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "infty-cli-webgpu-"));
    fs.writeFileSync(path.join(dir, "tiny.json"), JSON.stringify({
      model: { resolution: 8, nf: 8, timeEmbDim: 16, sparseBlocks: 1, kernelSize: 3,
        unet: { res: 8, baseChannels: 8, mults: [1, 2], blocksPerLevel: 1, attnRes: [4], dropoutRes: 4, dropout: 0.1, groups: 4 } },
      train: { dataset: "procedural", batchSize: 2, coordRatio: 0.5, steps: 2, checkpointEvery: 1, warmupSteps: 0 },
    }));
  });
  after(async () => {
    await initBackend("wasm", { quiet: true });
  });

  it("infty backend --backend webgpu names the adapter and probes it", () => {
    const r = run(["backend", "--backend", "webgpu", "--seconds", "0.2", "--size", "16"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^backend: webgpu \(@tensorflow\/tfjs-backend-webgpu, (GPU|software adapter): /m);
    const adapter = JSON.parse(/^adapter: (.*)$/m.exec(r.stdout)![1]);
    for (const k of ["vendor", "architecture", "description", "software"]) assert.ok(k in adapter, `adapter has ${k}`);
    assert.match(r.stdout, /^probe: 16×16 matMul, \d+ in [\d.]+ s → [\d.]+ GFLOP\/s/m);
  });

  it("webgpu forced where no adapter exists: one line naming the cause, exit 2", () => {
    const r = run(["backend", "--backend", "webgpu", "--seconds", "0"], dir, { VK_ICD_FILENAMES: path.join(dir, "no-such-icd.json") });
    assert.equal(r.code, 2, r.stderr);
    const lines = ourLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^infty backend: backend webgpu unavailable: no WebGPU adapter/);
  });

  it("train (2 steps) and sample (2 DDIM steps) with --backend webgpu", () => {
    let r = run(["train", "--config", "tiny.json", "--run", "tiny", "--backend", "webgpu", "--quiet"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\[infty\] backend: webgpu/);
    const log = fs.readFileSync(path.join(dir, "tiny", "log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(log.map((row) => row.step), [1, 2]);
    for (const row of log) assert.ok(Number.isFinite(row.loss) && Number.isFinite(row.gradNorm));
    r = run(["sample", "--checkpoint", "tiny/checkpoint.bin", "--resolution", "8", "--n", "1", "--steps", "2", "--out", "s", "--backend", "webgpu", "--quiet"], dir);
    assert.equal(r.code, 0, r.stderr);
    const arr = readNpy(path.join(dir, "s.npy"));
    assert.deepEqual(arr.shape, [1, 8, 8, 1]);
    for (const v of arr.values) assert.ok(Number.isFinite(v));
  });
});
