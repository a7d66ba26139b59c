/**
 * The parallel pool for the lab's own wasm kernels (runtime/wasm-kernels/parallel.ts): on the threaded build the
 * separable resampled depthwise conv, GELU (forward and gradient), the modulated LayerNorm and concat give exactly the
 * one-thread bits when shared by 2 and by 3 threads (which chunk runs where varies with timing: three runs each),
 * before and after the wasm heap grows; on the single-threaded build nothing is posted to a pool. The builds are one per process, so the kernels run in a child (tests/helpers/wasm-parallel-probe.ts),
 * which also shows the pool's workers do not keep the process alive (it exits on its own).
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { splitRanges } from "infty-diff-lab";

const PROBE = path.resolve(__dirname, "..", "..", "helpers", "wasm-parallel-probe.js");

interface Row { name: string; maxAbsDiff: number; poolCalls: number; workerChunks: number; offCalls: number }
interface Probe { threads: number; ready: boolean; heapBefore: number; heapAfter: number; secondRoundHighest: number; round1: Row[]; round2: Row[]; smallCalls: number }

function probe(wasmThreads: string, poolThreads: number): Probe {
  const r = spawnSync(process.execPath, [PROBE, "--threads", String(poolThreads)],
    { encoding: "utf8", env: { ...process.env, INFTY_WASM_THREADS: wasmThreads }, timeout: 240000, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `probe (INFTY_WASM_THREADS=${wasmThreads}, ${poolThreads} threads) failed or did not exit: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() as string) as Probe;
}

describe("parallel pool for the lab's wasm kernels", function () {
  this.timeout(600000);

  it("splitRanges cuts [0, units) into n ranges at multiples of the grain, the last ending at units", () => {
    assert.deepEqual(splitRanges(100, 2, 8), [[0, 48], [48, 100]]);
    assert.deepEqual(splitRanges(10, 3, 1), [[0, 3], [3, 7], [7, 10]]);
    assert.deepEqual(splitRanges(7, 1, 4), [[0, 7]]);
  });

  for (const threads of [2, 3]) {
    describe(`threaded build (INFTY_WASM_THREADS=2), pool of ${threads} threads`, () => {
      let p: Probe;
      before(() => { p = probe("2", threads); });

      it("the pool's workers start and join", () => {
        assert.equal(p.threads, 2);
        assert.equal(p.ready, true);
      });

      it("calls below the floors (a 28²-sized GELU, a 16-row separable conv) stay on the main thread", () => {
        assert.equal(p.smallCalls, 0);
      });

      it("the second round's tensors lie beyond the heap size the workers first saw", () => {
        assert.ok(p.heapAfter > p.heapBefore + (200 << 20), `heap ${p.heapBefore} → ${p.heapAfter}`);
        assert.ok(p.secondRoundHighest > p.heapBefore, `highest input byte ${p.secondRoundHighest}, old heap ${p.heapBefore}`);
      });

      for (const round of ["round1", "round2"] as const) {
        it(`${round === "round1" ? "before" : "after"} heap growth: the one-thread bits, every call posted to the pool, workers took chunks`, () => {
          assert.equal(p[round].length, 7);
          for (const row of p[round]) {
            assert.equal(row.offCalls, 0, `${row.name}: posted with the pool off`);
            assert.ok(row.poolCalls >= 3, `${row.name}: ${row.poolCalls} calls posted`);
            assert.equal(row.maxAbsDiff, 0, `${row.name}: max |pool − one thread| = ${row.maxAbsDiff}`);
          }
          // which thread claims a chunk depends on scheduling (a busy machine may leave a call to the main thread)
          const chunks = p[round].reduce((a, r) => a + r.workerChunks, 0);
          assert.ok(chunks > 0, "the workers ran no chunk");
        });
      }
    });
  }

  it("single-threaded build (INFTY_WASM_THREADS=1): unshared heap, nothing is posted to a pool", () => {
    const p = probe("1", 2);
    assert.equal(p.threads, 1);
    assert.equal(p.ready, false);
    for (const row of [...p.round1, ...p.round2]) {
      assert.equal(row.poolCalls, 0, row.name);
      assert.equal(row.maxAbsDiff, 0, row.name);
    }
  });
});
