// Prints the lab's values for scripts/check-official-conventions.py: the "ddim-stride" DDIM grids and a 7×7 kernel
// resampled by the authors' rule ("authors" mode) at several resolution pairs (JSON on stdout).
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
  console.log(JSON.stringify(out));
})();
