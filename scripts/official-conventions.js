// Prints the lab's values for scripts/check-official-conventions.py: the "ddim-stride" DDIM grids and a 7×7 kernel
// resampled by the authors' rule ("authors" mode) at several resolution pairs, and kNN interpolation with the default
// weights (JSON on stdout).
const L = require("infty-diff-lab");
(async () => {
  await L.initBackend("cpu", { quiet: true });
  const out = { grids: {}, kernels: {} };
  for (const n of [10, 20, 25, 50, 100, 250]) out.grids[n] = L.strideTimesteps(1000, n);
  const rng = new L.Rng(3), k = 7, C = 2;
  const kv = Array.from({ length: k * k * C }, () => rng.normal());
  out.kernel = kv;
  for (const [r0, r] of [[28, 56], [28, 112], [28, 14], [16, 40]]) {
    const t = L.resampleKernel(L.tf.tensor3d(kv, [k, k, C]), r0, r, "authors");
    out.kernels[`${r0}-${r}`] = { shape: t.shape, v: Array.from(t.dataSync()) };
  }
  // kNN points → targets with the default (inverse squared distance) weights: random targets (no distance ties)
  const set = L.uniformSubset(new L.Rng(5), 2, 12, 12, { ratio: 0.3 }), N = 40, Ck = 3;
  const targets = Float32Array.from({ length: 2 * N * 2 }, () => rng.next());
  const feats = Array.from({ length: set.B * set.M * Ck }, () => rng.normal());
  const t = L.knnTable(set, targets, N, 3);
  const knnOut = [];
  for (let b = 0; b < set.B; b++) for (let n = 0; n < N; n++) for (let c = 0; c < Ck; c++) {
    let v = 0;
    for (let q = 0; q < t.T; q++) v += t.w[(b * N + n) * t.T + q] * feats[(b * set.M + t.idx[(b * N + n) * t.T + q]) * Ck + c];
    knnOut.push(v);
  }
  out.knn = { B: set.B, M: set.M, N, C: Ck, points: Array.from(L.positions(set)), targets: Array.from(targets), feats, out: knnOut };
  console.log(JSON.stringify(out));
})();
