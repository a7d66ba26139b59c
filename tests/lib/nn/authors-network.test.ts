/**
 * The `authors` architecture against the authors' own code: tests/fixtures/authors holds a SparseUNet built and run by
 * samb-t/infty-diff@abf04d8 (scripts/make-authors-fixture.py), its weights as exported by
 * scripts/export-authors-weights.py, and its outputs on a ratio-¼ coordinate subset (sparse path) and on the full
 * 28×28 grid (dense path). Loaded through the same import as `infty import`, the lab must reproduce both to 1e-4
 * relative on wasm and cpu. Plus: the peer-bench size has the authors' parameter count; import errors name the key;
 * off r₀ the lab resamples the kernel (docs/divergences.md).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { tinyConfig, tinyData } from "../../helpers/tiny";
import {
  Trainer, uniformSubset, initBackend, DiffusionAutoencoder, resolveAutoencoderConfig, tf, Rng, InftyDiffNetwork, fullGrid, CoordSet, decodeSafetensors, authorsConfig, importAuthorsWeights,
  mapAuthorsState, resampledKernelSize, authorsDepthwise, authorsKnnTable, authorsGridSampleTable, KernelMap, interpolateMatrix, resampleKernelBilinear, LabConfig, SafeTensor, maxRelDiff } from "infty-diff-lab";

const FIX = path.resolve(__dirname, "../../../../tests/fixtures/authors");
const io = () => decodeSafetensors(fs.readFileSync(path.join(FIX, "io.safetensors")));
const fixtureConfig = (): LabConfig => authorsConfig(JSON.parse(fs.readFileSync(path.join(FIX, "authors-config.json"), "utf8")));

const relErr = maxRelDiff;

/** The peer bench's configuration (../shared/peer-bench/README.md) in the authors' names. */
const PEER = {
  data: { img_size: 28, channels: 1 },
  model: {
    nf: 32, time_emb_dim: 128, num_conv_blocks: 3, knn_neighbours: 3, kernel_size: 7, uno_res: 16, uno_base_channels: 32,
    uno_mults: [1, 2, 2], uno_blocks_per_level: [2, 2, 2], uno_attn_resolutions: [4], uno_dropout_from_resolution: 16, uno_dropout: 0.1,
  },
};

for (const backend of ["wasm", "cpu"] as const) {
  describe(`authors' SparseUNet, exact on ${backend}`, function () {
    this.timeout(120000);
    let net: InftyDiffNetwork;
    before(async () => {
      await initBackend(backend, { quiet: true });
      const cfg = fixtureConfig();
      net = new InftyDiffNetwork(cfg.model, new Rng(0));
      net.params.load(importAuthorsWeights(path.join(FIX, "sparse-unet.safetensors"), cfg));
    });
    after(() => net.dispose());

    it("sparse path (a ratio-¼ subset of 28×28, as in training) gives the authors' outputs to 1e-4", () => {
      const f = io().tensors;
      const lst = f.get("sparse/sample_lst")!, x = f.get("sparse/x")!, want = f.get("sparse/out")!;
      const [B, M] = lst.shape;
      const set: CoordSet = Object.freeze({ B, H: 28, W: 28, M, cells: Int32Array.from(lst.values) });
      const ctx = net.context(set);
      const before = tf.memory().numTensors;
      const got = tf.tidy(() => net.apply(tf.tensor3d(x.values, [B, M, 1]), ctx, tf.tensor1d(Array.from(f.get("sparse/t")!.values), "int32"), { dropoutRng: null }).dataSync() as Float32Array);
      assert.equal(tf.memory().numTensors, before, "no leaked tensors");
      ctx.dispose();
      const e = relErr(got, want.values);
      assert.ok(e <= 1e-4, `relative error ${e}`);
    });

    it("dense path (the full 28×28 grid, as in sampling) gives the authors' outputs to 1e-4", () => {
      const f = io().tensors;
      const x = f.get("dense/x")!, want = f.get("dense/out")!; // NCHW with C = 1: the same order as NHWC
      const B = x.shape[0];
      const ctx = net.context(fullGrid(B, 28, 28));
      const got = tf.tidy(() => net.apply(tf.tensor3d(x.values, [B, 784, 1]), ctx, tf.tensor1d(Array.from(f.get("dense/t")!.values), "int32"), { dropoutRng: null }).dataSync() as Float32Array);
      ctx.dispose();
      const e = relErr(got, want.values);
      assert.ok(e <= 1e-4, `relative error ${e}`);
    });
  });
}

describe("authors' architecture: size, import errors, resolution changes", function () {
  this.timeout(60000);
  before(async () => initBackend("cpu", { quiet: true }));

  it("has the authors' parameter count: 1,572,882 for the peer-bench config (49 of them their fixed normalising conv)", () => {
    const net = new InftyDiffNetwork(authorsConfig(PEER).model, new Rng(0));
    assert.equal(net.params.count() + 49, 1572882);
    net.dispose();
    const fixNet = new InftyDiffNetwork(fixtureConfig().model, new Rng(0));
    const meta = io().metadata;
    assert.equal(fixNet.params.count() + 49, Number(meta.parameters));
    fixNet.dispose();
  });

  it("names the key on unknown, missing and mis-shaped weights", () => {
    const cfg = fixtureConfig();
    const net = new InftyDiffNetwork(cfg.model, new Rng(0));
    const kinds = net.authors!.kinds;
    net.dispose();
    const state: Map<string, SafeTensor> = decodeSafetensors(fs.readFileSync(path.join(FIX, "sparse-unet.safetensors"))).tensors;
    const withExtra = new Map(state).set("down_blocks.0.block.z_mlp1.0.weight", { shape: [8, 4], values: new Float32Array(32) });
    assert.throws(() => mapAuthorsState(withExtra, kinds), /^AuthorsImportError: unknown key 'down_blocks\.0\.block\.z_mlp1\.0\.weight' \(a z-conditioned decoder/);
    const missing = new Map(state);
    missing.delete("uno.fc2.bias");
    assert.throws(() => mapAuthorsState(missing, kinds), /missing key 'uno\.fc2\.bias'/);
    const bad = new Map(state).set("linear_in.weight", { shape: [8, 2], values: new Float32Array(16) });
    assert.throws(() => mapAuthorsState(bad, kinds), /key 'linear_in\.weight' has shape \[8,2\], the config expects \[8,1\]/);
    assert.throws(() => authorsConfig({ ...PEER, model: { ...PEER.model, nff: 3 } }), /unknown key 'model\.nff'/);
    assert.throws(() => authorsConfig({ ...PEER, model: { ...PEER.model, z_dim: 2.5 } }), /model\.z_dim must be a positive integer or null/);
    assert.throws(() => new DiffusionAutoencoder(cfg, resolveAutoencoderConfig({}), new Rng(0)), /^ConfigError: config model\.arch: the diffusion autoencoder needs the lab's network/);
  });

  it("kNN to the grid: inverse squared distance by default (a parameter), ties to the lower index; grid_sample reads", () => {
    // 5×5 grid, points at cells (0,0), (0,4), (4,0), (2,2): authors' positions (r/4, c/4); a 2×2 UNO grid at (0|1, 0|1)
    const set: CoordSet = Object.freeze({ B: 1, H: 5, W: 5, M: 4, cells: Int32Array.from([0, 4, 12, 20]) });
    const t2 = authorsKnnTable(set, 2, 3);
    // points: 0 at (0,0), 1 at (0,1), 2 at (½,½), 3 at (1,0). Node (0,0): d² 0, ½, then 1 and 1 (points 1, 3): a tie
    assert.deepEqual(Array.from(t2.idx.subarray(0, 3)), [0, 2, 1]);
    const n3 = 3 * 3; // node (1,1) is grid node 3
    const w11 = Array.from(t2.w.subarray(n3, n3 + 3)), i11 = Array.from(t2.idx.subarray(n3, n3 + 3));
    // node (1,1): point 2 at d² ½ (weight 2), points 1 and 3 at d² 1 (weight 1 each)
    assert.deepEqual(i11, [2, 1, 3]);
    const want2 = [2, 1, 1].map((v) => v / 4), want1 = [Math.SQRT2, 1, 1].map((v) => v / (2 + Math.SQRT2));
    w11.forEach((v, i) => assert.ok(Math.abs(v - want2[i]) < 1e-7, `power 2: ${w11}`));
    const t1 = authorsKnnTable(set, 2, 3, 1);
    Array.from(t1.w.subarray(n3, n3 + 3)).forEach((v, i) => assert.ok(Math.abs(v - want1[i]) < 1e-7));
    // grid_sample at point (r, c) reads UNO cell (y from c, x from r): point (0,4) → x = ((0+1)·2−1)/2 = ½, y = 1.5
    const gs = authorsGridSampleTable(set, 2);
    // taps (y0,x0)=(1,0) w ½·½, (1,1) ½·½, (2,·) outside → absent
    assert.deepEqual(Array.from(gs.idx.subarray(4, 8)), [2, 3, -1, -1]);
    assert.deepEqual(Array.from(gs.w.subarray(4, 6)), [0.25, 0.25]);
  });

  it("off r₀ resamples the kernel to the authors' size rule with F.interpolate's bilinear weights", () => {
    // the authors' round-half-even rule: 7 → 13 at 2×, 29 at 4× (27.5 rounds to 28 → 29), 3 at ½
    assert.deepEqual([56, 112, 14, 28].map((r) => resampledKernelSize(7, 28, r, "authors")), [13, 29, 3, 7]);
    // F.interpolate(align_corners=False) 2 → 4: source positions −0.25 (clamped 0), 0.25, 0.75, 1.25 (capped)
    assert.deepEqual(Array.from(interpolateMatrix(2, 4)), [1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1]);
    // against PyTorch's own F.interpolate (recorded in the fixture): kernels [C,1,7,7] → [C,1,m,m]
    const f = io().tensors;
    const toLab = (t: { shape: number[]; values: Float32Array }) => {
      const [C, , m] = t.shape, out = new Float32Array(t.values.length);
      for (let c = 0; c < C; c++) for (let i = 0; i < m * m; i++) out[i * C + c] = t.values[c * m * m + i];
      return out;
    };
    const k7 = tf.tensor3d(toLab(f.get("resample/k7")!), [7, 7, 2]);
    for (const m of [3, 13, 29]) {
      const got = tf.tidy(() => resampleKernelBilinear(k7, m).dataSync() as Float32Array);
      const e = relErr(got, toLab(f.get(`resample/k${m}`)!));
      assert.ok(e < 1e-6, `7 → ${m}: relative error ${e}`);
    }
    k7.dispose();
    // a constant kernel stays constant, so a constant field keeps its value at every resolution (away from edges)
    const k = tf.fill([7, 7, 2], 0.3) as tf.Tensor3D;
    const k13 = resampleKernelBilinear(k, 13).dataSync();
    assert.ok(Array.from(k13).every((v) => Math.abs(v - 0.3) < 1e-6));
    k.dispose();
  });

  it("off r₀ the normalised conv keeps a field's scale; the authors' dense rule would shrink it to 49/169", () => {
    // a smooth 7×7 kernel (a ramp plus a bump) on a constant field: interior output c·Σκ at 28 px; at 56 px the lab
    // resamples to 13×13 and divides by count/49 → ≈ c·Σκ again. The authors' dense path keeps the 7×7 kernel while
    // its normaliser counts 13×13 = 169 cells: c·Σκ·49/169.
    const C = 2, k0 = 7;
    const kv = new Float32Array(k0 * k0 * C);
    for (let a = 0; a < k0; a++) for (let b = 0; b < k0; b++) for (let c = 0; c < C; c++) {
      kv[(a * k0 + b) * C + c] = 0.02 * (a - 3) + 0.01 * (c + 1) * (b - 3) + 0.05 * Math.exp(-((a - 3) ** 2 + (b - 3) ** 2) / 8) + 0.03;
    }
    const kernel = tf.tensor3d(kv, [k0, k0, C]);
    const centre = (r: number): number[] => {
      const set = fullGrid(1, r, r);
      const kmap = KernelMap.build(set, resampledKernelSize(k0, 28, r, "authors"));
      const y = tf.tidy(() => authorsDepthwise(tf.fill([1, r * r, C], 0.4) as tf.Tensor3D, kmap, kernel).dataSync());
      kmap.dispose();
      const p = (r / 2) * r + r / 2;
      return [y[p * C], y[p * C + 1]];
    };
    const sums = [0, 1].map((c) => 0.4 * Array.from(kv).filter((_, i) => i % C === c).reduce((a, b) => a + b, 0));
    const y28 = centre(28), y56 = centre(56);
    for (let c = 0; c < C; c++) {
      assert.ok(Math.abs(y28[c] - sums[c]) < 1e-5 * Math.abs(sums[c]), `28 px: ${y28[c]} vs c·Σκ ${sums[c]}`);
      assert.ok(Math.abs(y56[c] - sums[c]) < 0.03 * Math.abs(sums[c]), `56 px: ${y56[c]} vs ${sums[c]}`);
      assert.ok(Math.abs(y56[c] - (sums[c] * 49) / 169) > 0.5 * Math.abs(sums[c]), "the authors' dense rule would give 49/169");
    }
    kernel.dispose();
  });

  it("trains on coordinate subsets on wasm: every parameter gets a gradient, the loss falls, nothing leaks", async () => {
    await initBackend("wasm", { quiet: true });
    const cfg = tinyConfig({ steps: 30, lr: 3e-3 }, { arch: "authors" });
    const net = new InftyDiffNetwork(cfg.model, new Rng(1));
    const set = uniformSubset(new Rng(2), 2, 12, 12, { ratio: 0.25 });
    const ctx = net.context(set);
    const x = tf.randomNormal([2, set.M, 1], 0, 1, "float32", 3) as tf.Tensor3D, t = tf.tensor1d([10, 700], "int32");
    const { grads, value } = tf.variableGrads(() => tf.mean(tf.square(net.apply(x, ctx, t, { dropoutRng: new Rng(4) }))) as tf.Scalar);
    for (const name of net.params.names()) {
      const g = grads[net.params.get(name).name];
      assert.ok(g, `no gradient for ${name}`);
      assert.ok(tf.any(tf.notEqual(g, 0)).dataSync()[0], `zero gradient for ${name}`);
    }
    tf.dispose([x, t, value, ...Object.values(grads)]);
    ctx.dispose();
    net.dispose();
    const trainer = new Trainer(cfg, tinyData(8));
    try {
      const before = trainer.evalLoss(99, 6);
      trainer.trainStep();
      const n = tf.memory().numTensors;
      for (let i = 0; i < 29; i++) trainer.trainStep();
      assert.equal(tf.memory().numTensors, n, "leak");
      const after = trainer.evalLoss(99, 6);
      assert.ok(after < 0.8 * before, `loss ${before} → ${after}`);
    } finally {
      trainer.dispose();
    }
  });
});
