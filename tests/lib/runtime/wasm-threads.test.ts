/**
 * The threaded wasm build (wasm-threads.ts): its pool really has the threads asked for, and everything the lab
 * computes on it — XNNPACK conv and matMul, a tiny network's training losses and full-grid outputs — equals the
 * single-threaded build's value for value (XNNPACK splits work by output tiles, so the float order is unchanged),
 * and conv/matMul match tfjs-backend-cpu. One build per process, so each runs in a child process.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { initBackend, withBackend, tf, Rng } from "infty-diff-lab";

const PROBE = path.resolve(__dirname, "..", "..", "helpers", "wasm-threads-probe.js");

interface Probe { threads: number; conv: number[]; matMul: number[]; losses: number[]; grid12: number[]; grid24: number[] }

function probe(threads: string): Probe {
  const r = spawnSync(process.execPath, [PROBE], { encoding: "utf8", env: { ...process.env, INFTY_WASM_THREADS: threads }, timeout: 240000, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `probe with INFTY_WASM_THREADS=${threads} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() as string) as Probe;
}

describe("threaded wasm backend (XNNPACK pool in Node)", function () {
  this.timeout(600000);
  let one: Probe, two: Probe;
  before(() => {
    one = probe("1");
    two = probe("2");
  });

  it("builds a pool of the threads asked for (the single-threaded build reports 1)", () => {
    assert.equal(one.threads, 1);
    assert.equal(two.threads, 2);
  });

  for (const key of ["conv", "matMul", "losses", "grid12", "grid24"] as const) {
    it(`${key}: identical on 1 and 2 threads`, () => {
      assert.equal(two[key].length, one[key].length);
      assert.ok(one[key].every(Number.isFinite));
      let diff = 0;
      for (let i = 0; i < one[key].length; i++) diff = Math.max(diff, Math.abs(two[key][i] - one[key][i]));
      assert.equal(diff, 0, `${key}: max |2 threads − 1 thread| = ${diff}`);
    });
  }

  it("conv and matMul on 2 threads match tfjs-backend-cpu", async () => {
    await initBackend("wasm", { quiet: true });
    const rng = new Rng(5); // the probe's draws, in its order
    const [conv, matMul] = await withBackend("cpu", () => {
      const x = rng.normalTensor<tf.Rank.R4>([4, 20, 20, 16]), w = rng.normalTensor<tf.Rank.R4>([3, 3, 16, 24]);
      const a = rng.normalTensor<tf.Rank.R2>([300, 200]), b = rng.normalTensor<tf.Rank.R2>([200, 150]);
      const out = [tf.conv2d(x, w, 1, "same").dataSync(), tf.matMul(a, b).dataSync()];
      tf.dispose([x, w, a, b]);
      return out;
    });
    for (const [got, ref, what] of [[two.conv, conv, "conv"], [two.matMul, matMul, "matMul"]] as const) {
      let num = 0, den = 0;
      for (let i = 0; i < ref.length; i++) { num = Math.max(num, Math.abs(got[i] - ref[i])); den = Math.max(den, Math.abs(ref[i])); }
      assert.ok(num / den < 1e-5, `${what}: relative error ${num / den}`);
    }
  });

  it("rejects a bad INFTY_WASM_THREADS with a clear message", () => {
    const r = spawnSync(process.execPath, [PROBE], { encoding: "utf8", env: { ...process.env, INFTY_WASM_THREADS: "0" }, timeout: 60000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /INFTY_WASM_THREADS must be an integer in 1\.\.8, got '0'/);
  });

  it("defaults to the threaded build on the main thread when there are ≥ 2 cores and one is free", () => {
    const r = spawnSync(process.execPath, ["-e", "const l=require('infty-diff-lab');l.initBackend('wasm',{quiet:true}).then(()=>console.log(l.wasmThreads()))"],
      { encoding: "utf8", env: { ...process.env, INFTY_WASM_THREADS: "" }, cwd: path.resolve(__dirname, "..", "..", ".."), timeout: 60000 });
    assert.equal(r.status, 0, r.stderr);
    const n = os.cpus().length, before = os.loadavg()[0];
    const got = Number(r.stdout.trim());
    // the load average may cross the threshold while the child starts: accept either side only near it
    if (Math.abs(before - (n - 0.5)) > 0.3) assert.equal(got, n >= 2 && before <= n - 0.5 ? Math.min(8, n) : 1);
    else assert.ok(got === 1 || got === Math.min(8, n));
  });
});
