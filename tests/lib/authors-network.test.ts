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
import {
  initBackend, tf, Rng, InftyDiffNetwork, fullGrid, CoordSet, decodeSafetensors, authorsConfig, importAuthorsWeights,
  mapAuthorsState, authorsKernelSize, interpolateMatrix, resampleKernelBilinear, LabConfig, SafeTensor,
} from "infty-diff-lab";

const FIX = path.resolve(__dirname, "../../../tests/fixtures/authors");
const io = () => decodeSafetensors(fs.readFileSync(path.join(FIX, "io.safetensors")));
const fixtureConfig = (): LabConfig => authorsConfig(JSON.parse(fs.readFileSync(path.join(FIX, "authors-config.json"), "utf8")));

/** max |a − b| / max |b| */
function relErr(a: Float32Array | number[], b: Float32Array | number[]): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

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
    assert.throws(() => authorsConfig({ ...PEER, model: { ...PEER.model, z_dim: 1024 } }), /z-conditioned/);
  });

  it("off r₀ resamples the kernel to the authors' size rule with F.interpolate's bilinear weights", () => {
    // the authors' round-half-even rule: 7 → 13 at 2×, 29 at 4× (27.5 rounds to 28 → 29), 3 at ½
    assert.deepEqual([56, 112, 14, 28].map((r) => authorsKernelSize(7, 28, r)), [13, 29, 3, 7]);
    // F.interpolate(align_corners=False) 2 → 4: source positions −0.25 (clamped 0), 0.25, 0.75, 1.25 (capped)
    assert.deepEqual(Array.from(interpolateMatrix(2, 4)), [1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1]);
    // a constant kernel stays constant, so a constant field keeps its value at every resolution (away from edges)
    const k = tf.fill([7, 7, 2], 0.3) as tf.Tensor3D;
    const k13 = resampleKernelBilinear(k, 13).dataSync();
    assert.ok(Array.from(k13).every((v) => Math.abs(v - 0.3) < 1e-6));
    k.dispose();
  });

  it("the dense path off r₀ keeps the function's scale (the authors' dense path shrinks it by k²/k'²)", () => {
    // with the fixture's weights, a constant image x and t: the interior outputs at 56 px match those at 28 px far
    // better than the authors' rule would (7×7 kernel, 13×13 normaliser window → sparse-conv terms × 49/169)
    const cfg = fixtureConfig();
    const net = new InftyDiffNetwork(cfg.model, new Rng(0));
    net.params.load(importAuthorsWeights(path.join(FIX, "sparse-unet.safetensors"), cfg));
    const run = (r: number): Float32Array => {
      const ctx = net.context(fullGrid(1, r, r));
      const y = tf.tidy(() => net.apply(tf.fill([1, r * r, 1], 0.4) as tf.Tensor3D, ctx, tf.tensor1d([200], "int32"), { dropoutRng: null }).dataSync() as Float32Array);
      ctx.dispose();
      return y;
    };
    const y28 = run(28), y56 = run(56);
    // centre pixels, same physical place: (14,14) at 28 ↔ (28,28) at 56 (both at the grid's centre up to ½ cell)
    const c28 = y28[14 * 28 + 14], c56 = y56[28 * 56 + 28];
    assert.ok(Number.isFinite(c56));
    assert.ok(Math.abs(c56 - c28) < 0.25 * Math.abs(c28) + 0.05, `centre 28 px ${c28}, 56 px ${c56}`);
    net.dispose();
  });
});
