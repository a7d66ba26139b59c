import { strict as assert } from "assert";
import { Rng, uniformSubset, fullGrid, KernelMap } from "infty-diff-lab";

describe("kernel maps (§4.2)", () => {
  it("neighbour table and counts match a brute-force search; reverse neighbour of δ is −δ", () => {
    const set = uniformSubset(new Rng(4), 3, 9, 11, { ratio: 0.4 });
    for (const k of [1, 3, 5]) {
      const km = KernelMap.build(set, k);
      const K = k * k, h = (k - 1) / 2, { B, M, W, cells } = set;
      for (let b = 0; b < B; b++) for (let i = 0; i < M; i++) {
        const p = b * M + i, r = Math.floor(cells[p] / W), c = cells[p] % W;
        let n = 0;
        for (let t = 0; t < K; t++) {
          const dy = Math.floor(t / k) - h, dx = (t % k) - h;
          let want = -1;
          for (let j = 0; j < M; j++) {
            const q = cells[b * M + j];
            if (c + dx >= 0 && c + dx < W && q === (r + dy) * W + c + dx) want = b * M + j;
          }
          assert.equal(km.neighbours[p * K + t], want);
          if (want >= 0) { n++; assert.equal(km.neighbours[want * K + K - 1 - t], p); }
        }
        assert.equal(km.counts[p], n);
        assert.equal(km.neighbours[p * K + (K - 1) / 2], p); // the centre tap is the point itself
      }
    }
  });

  it("interior full-grid points have k² neighbours; cached per (set, k); dispose evicts", () => {
    const set = fullGrid(1, 10, 10);
    const km = KernelMap.build(set, 7);
    assert.equal(km.counts[5 * 10 + 5], 49);
    assert.equal(km.counts[0], 16);
    assert.equal(KernelMap.build(set, 7), km);
    assert.notEqual(KernelMap.build(set, 3), km);
    km.dispose();
    assert.ok(km.isDisposed);
    assert.throws(() => km.check(), /dispose/);
    assert.notEqual(KernelMap.build(set, 7), km);
    assert.throws(() => KernelMap.build(set, 4), /odd/);
  });
});
