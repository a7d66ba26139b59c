/**
 * The parallel pool for the lab's own wasm kernels (runtime/wasm-kernels/parallel.ts): on the threaded build the
 * separable resampled depthwise conv, GELU (forward and gradient) and the modulated LayerNorm give exactly the
 * one-thread bits when split across 2 and 3 threads, before and after the wasm heap grows; on the single-threaded
 * build nothing is split. The builds are one per process, so the kernels run in a child (tests/helpers/wasm-parallel-probe.ts),
 * which also shows the pool's workers do not keep the process alive (it exits on its own).
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { splitRanges } from "infty-diff-lab";

const PROBE = path.resolve(__dirname, "..", "..", "helpers", "wasm-parallel-probe.js");

interface Row { name: string; maxAbsDiff: Record<string, number>; splitCalls: Record<string, number> }
interface Probe { threads: number; ready: boolean; heapBefore: number; heapAfter: number; secondRoundHighest: number; round1: Row[]; round2: Row[] }

function probe(threads: string): Probe {
  const r = spawnSync(process.execPath, [PROBE], { encoding: "utf8", env: { ...process.env, INFTY_WASM_THREADS: threads }, timeout: 240000, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `probe with INFTY_WASM_THREADS=${threads} failed (or did not exit): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() as string) as Probe;
}

describe("parallel pool for the lab's wasm kernels", function () {
  this.timeout(600000);

  it("splitRanges cuts [0, units) into n ranges at multiples of the grain, the last ending at units", () => {
    assert.deepEqual(splitRanges(100, 2, 8), [[0, 48], [48, 100]]);
    assert.deepEqual(splitRanges(10, 3, 1), [[0, 3], [3, 7], [7, 10]]);
    assert.deepEqual(splitRanges(7, 1, 4), [[0, 7]]);
  });

  describe("threaded build (INFTY_WASM_THREADS=2)", () => {
    let p: Probe;
    before(() => { p = probe("2"); });

    it("the pool's workers start and join", () => {
      assert.equal(p.threads, 2);
      assert.equal(p.ready, true);
    });

    it("the second round's tensors lie beyond the heap size the workers first saw", () => {
      assert.ok(p.heapAfter > p.heapBefore + (200 << 20), `heap ${p.heapBefore} → ${p.heapAfter}`);
      assert.ok(p.secondRoundHighest > p.heapBefore, `highest input byte ${p.secondRoundHighest}, old heap ${p.heapBefore}`);
    });

    for (const round of ["round1", "round2"] as const) {
      it(`${round === "round1" ? "before" : "after"} heap growth: 2 and 3 threads give the one-thread bits, and the calls were split`, () => {
        assert.equal(p[round].length, 6);
        for (const row of p[round]) {
          assert.equal(row.splitCalls["1"], 0, `${row.name}: split with the pool off`);
          for (const t of ["2", "3"]) {
            assert.ok(row.splitCalls[t] >= 1, `${row.name}: not split on ${t} threads`);
            assert.equal(row.maxAbsDiff[t], 0, `${row.name}: max |${t} threads − 1 thread| = ${row.maxAbsDiff[t]}`);
          }
        }
      });
    }
  });

  it("single-threaded build (INFTY_WASM_THREADS=1): unshared heap, nothing is split", () => {
    const p = probe("1");
    assert.equal(p.threads, 1);
    assert.equal(p.ready, false);
    for (const row of [...p.round1, ...p.round2]) {
      for (const t of ["1", "2", "3"]) assert.equal(row.splitCalls[t], 0, `${row.name} on ${t}`);
      for (const t of ["2", "3"]) assert.equal(row.maxAbsDiff[t], 0);
    }
  });
});
