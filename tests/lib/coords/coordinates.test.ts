import { strict as assert } from "assert";
import {
  initBackend, tf, Rng, fullGrid, uniformSubset, qmcSubset, positions, starDiscrepancy, gatherPoints, scatterPoints,
  subsetCount, CoordSet,
} from "infty-diff-lab";

function rowsDistinctSorted(set: CoordSet): void {
  for (let b = 0; b < set.B; b++) {
    const row = set.cells.subarray(b * set.M, (b + 1) * set.M);
    for (let i = 1; i < row.length; i++) assert.ok(row[i] > row[i - 1], `element ${b}: cells not strictly ascending`);
    assert.ok(row[0] >= 0 && row[row.length - 1] < set.H * set.W);
  }
}

describe("coordinates (∞-Diff §3.1)", () => {
  before(async () => { await initBackend("wasm", { quiet: true }); });

  it("full grid lists every cell; counts round ratios", () => {
    const g = fullGrid(2, 3, 5);
    assert.equal(g.M, 15);
    assert.deepEqual(Array.from(g.cells.subarray(15)), Array.from({ length: 15 }, (_, i) => i));
    assert.equal(subsetCount(28, 28, { ratio: 0.25 }), 196);
    assert.equal(subsetCount(28, 28, { count: 7 }), 7);
    assert.throws(() => subsetCount(4, 4, { ratio: 1.5 }), /ratio/);
  });

  it("uniform subsets: distinct sorted cells, independent per element, seeded", () => {
    const a = uniformSubset(new Rng(3), 4, 28, 28, { ratio: 0.25 });
    const b = uniformSubset(new Rng(3), 4, 28, 28, { ratio: 0.25 });
    assert.equal(a.M, 196);
    rowsDistinctSorted(a);
    assert.deepEqual(Array.from(a.cells), Array.from(b.cells));
    assert.notDeepEqual(Array.from(a.cells.subarray(0, 196)), Array.from(a.cells.subarray(196, 392)));
    // uniform marginal: each cell is chosen with probability M/G (over many draws)
    const hits = new Float64Array(64);
    const rng = new Rng(9);
    for (let i = 0; i < 400; i++) for (const c of uniformSubset(rng, 1, 8, 8, { count: 16 }).cells) hits[c]++;
    for (const h of hits) assert.ok(Math.abs(h / 400 - 0.25) < 0.1, `cell frequency ${h / 400} far from 0.25`);
  });

  it("QMC subsets: no duplicate cells and lower measured discrepancy than uniform", () => {
    const B = 16;
    for (const ratio of [0.1, 0.25, 0.9]) {
      const q = qmcSubset(new Rng(1), B, 32, 32, { ratio });
      rowsDistinctSorted(q);
      if (ratio > 0.5) continue;
      const u = uniformSubset(new Rng(1), B, 32, 32, { ratio });
      const mean = (d: Float64Array) => d.reduce((s, v) => s + v, 0) / d.length;
      const dq = mean(starDiscrepancy(q)), du = mean(starDiscrepancy(u));
      console.log(`      ratio ${ratio}: star discrepancy QMC ${dq.toFixed(4)} vs uniform ${du.toFixed(4)}`);
      assert.ok(dq < 0.6 * du, `QMC discrepancy ${dq} not well below uniform ${du}`);
    }
    assert.equal(starDiscrepancy(fullGrid(1, 8, 8))[0], 0);
  });

  it("positions are (y, x) cell centres", () => {
    const set: CoordSet = { B: 1, H: 4, W: 8, M: 2, cells: Int32Array.from([0, 2 * 8 + 5]) };
    assert.deepEqual(Array.from(positions(set)), [0.125, 0.0625, 0.625, 0.6875]);
  });

  it("gather/scatter round-trip, fill, and the gather gradient is the scatter (on wasm)", () => {
    const rng = new Rng(5);
    const set = uniformSubset(rng, 2, 6, 7, { count: 10 });
    const img = rng.normalTensor<tf.Rank.R4>([2, 6, 7, 3]);
    const pts = gatherPoints(img, set);
    const iv = img.arraySync(), pv = pts.arraySync();
    for (let b = 0; b < 2; b++) for (let i = 0; i < 10; i++) {
      const cell = set.cells[b * 10 + i];
      assert.deepEqual(pv[b][i], iv[b][Math.floor(cell / 7)][cell % 7]);
    }
    const back = scatterPoints(pts, set, -1).arraySync();
    let nFill = 0;
    for (let b = 0; b < 2; b++) for (let r = 0; r < 6; r++) for (let c = 0; c < 7; c++) {
      const i = Array.from(set.cells.subarray(b * 10, b * 10 + 10)).indexOf(r * 7 + c);
      if (i >= 0) assert.deepEqual(back[b][r][c], pv[b][i]);
      else { nFill++; assert.deepEqual(back[b][r][c], [-1, -1, -1]); }
    }
    assert.equal(nFill, 2 * (42 - 10));
    const R = rng.normalTensor<tf.Rank.R3>([2, 10, 3]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(gatherPoints(x as tf.Tensor4D, set), R)))(img);
    assert.deepEqual(g.arraySync(), scatterPoints(R, set).arraySync());
    const g2 = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(scatterPoints(x as tf.Tensor3D, set, 2), img)))(pts);
    assert.deepEqual(g2.arraySync(), gatherPoints(img, set).arraySync());
    tf.dispose([img, pts, R, g, g2]);
  });

  it("does not leak tensors", () => {
    const rng = new Rng(2);
    const set = uniformSubset(rng, 2, 8, 8, { ratio: 0.5 });
    const img = rng.normalTensor<tf.Rank.R4>([2, 8, 8, 4]);
    const step = () => tf.dispose(tf.grad((x: tf.Tensor) => tf.sum(scatterPoints(gatherPoints(x as tf.Tensor4D, set), set, 1)))(img));
    step();
    const n = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    assert.equal(tf.memory().numTensors, n);
    img.dispose();
  });
});
