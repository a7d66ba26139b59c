/**
 * The authors' default backend and both off-grid behaviours against their own code: tests/fixtures/authors-backends
 * holds a SparseUNet with backend "torchsparse" (their published default: LayerNorms with biases, Linear MLPs, kernels
 * laid out (h w) i o) and one with "torch_dense", built and run by samb-t/infty-diff@abf04d8 with their torchsparse
 * fork's Python on a CPU stand-in for its compiled kernels (scripts/make-authors-backend-fixture.py). Imported as
 * `infty import` does, the lab must give their outputs to float32 rounding on the sparse path, the dense path at r₀,
 * and off r₀ with each backend's kernel rule; and pick the kNN neighbours pytorch3d's CPU kernel picks on grids full
 * of ties.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  initBackend, tf, Rng, InftyDiffNetwork, fullGrid, CoordSet, decodeSafetensors, authorsConfig, importAuthorsWeights, authorsKnnTable,
  torchLinspace01, detectAuthorsBackend, LabConfig, maxRelDiff, resolveConfig, AuthorsEncoder, importAuthorsEncoder } from "infty-diff-lab";

const FIX = path.resolve(__dirname, "../../../../tests/fixtures/authors-backends");
const io = decodeSafetensors(fs.readFileSync(path.join(FIX, "io.safetensors")));
const get = (k: string) => {
  const t = io.tensors.get(k);
  if (!t) throw new Error(`fixture has no ${k}`);
  return t;
};
const raw = () => JSON.parse(fs.readFileSync(path.join(FIX, "authors-config.json"), "utf8"));
const configFor = (backend: string, rule?: "authors" | "none", zDim: number | null = null): LabConfig => {
  const r = raw();
  const cfg = authorsConfig({ ...r, model: { ...r.model, backend, z_dim: zDim } });
  return rule ? resolveConfig({ ...cfg, model: { ...cfg.model, kernelResampling: rule } }) : cfg;
};
/** [B,C,R,R] (NCHW) → [B,R·R,C] */
function nchwToPoints(v: Float32Array, B: number, C: number, R: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let p = 0; p < R * R; p++) out[(b * R * R + p) * C + c] = v[(b * C + c) * R * R + p];
  return out;
}

function load(cfg: LabConfig, file: string): InftyDiffNetwork {
  const net = new InftyDiffNetwork(cfg.model, new Rng(0));
  net.params.load(importAuthorsWeights(path.join(FIX, file), cfg));
  return net;
}

/** z [B, zDim] of the z-conditioned decoder's cases (the forward's `cond`) */
const zOf = (net: InftyDiffNetwork) => (net.cfg.authorsZDim ? { cond: tf.tensor2d(get("z").values, get("z").shape as [number, number]) } : {});

function dense(net: InftyDiffNetwork, prefix: string, R: number): number {
  const x = get(`dense${R}/x`), want = get(`${prefix}/dense${R}/out`);
  const [B, C] = x.shape;
  const ctx = net.context(fullGrid(B, R, R));
  const got = tf.tidy(() => net.apply(tf.tensor3d(nchwToPoints(x.values, B, C, R), [B, R * R, C]), ctx, tf.tensor1d(Array.from(get(`dense${R}/t`).values), "int32"), { dropoutRng: null, ...zOf(net) }).dataSync() as Float32Array);
  ctx.dispose();
  return maxRelDiff(got, nchwToPoints(want.values, B, C, R));
}

// measured (cpu and wasm): ≤ 1.9e-6 of max|y| (README of the fixture script); float32 rounding of two codes that sum
// in different orders
const TOL = 1e-5;

for (const backend of ["cpu", "wasm"] as const) {
  describe(`authors' torchsparse and torch_dense state_dicts, exact on ${backend}`, function () {
    this.timeout(120000);
    before(async () => initBackend(backend, { quiet: true }));

    const sparse = (net: InftyDiffNetwork, prefix: string): number => {
      const lst = get("sparse/sample_lst"), x = get("sparse/x");
      const [B, M] = lst.shape, C = x.shape[2];
      const set: CoordSet = Object.freeze({ B, H: 16, W: 16, M, cells: Int32Array.from(lst.values) });
      const ctx = net.context(set);
      const before = tf.memory().numTensors;
      const got = tf.tidy(() => net.apply(tf.tensor3d(x.values, [B, M, C]), ctx, tf.tensor1d(Array.from(get("sparse/t").values), "int32"), { dropoutRng: null, ...zOf(net) }).dataSync() as Float32Array);
      assert.equal(tf.memory().numTensors, before, "no leaked tensors");
      ctx.dispose();
      return maxRelDiff(got, get(`${prefix}/sparse/out`).values);
    };

    it("torchsparse: the sparse path (ratio-¼ subsets, kNN ties left in) gives their outputs", () => {
      assert.ok(JSON.parse(io.metadata.knn_ties).sparse.boundary_ties > 0, "the subsets must hold kNN ties");
      const net = load(configFor("torchsparse"), "ts.safetensors");
      const e = sparse(net, "ts");
      net.dispose();
      assert.ok(e <= TOL, `relative error ${e}`);
    });

    it("their published configurations' z-conditioned decoder (z_dim 6, torchsparse): sparse path, 16 and 32 px", () => {
      const net = load(configFor("torchsparse", undefined, 6), "tsz.safetensors");
      const errs = [sparse(net, "tsz"), dense(net, "tsz", 16), dense(net, "tsz", 32)];
      const ctx = net.context(fullGrid(1, 16, 16));
      assert.throws(() => net.apply(tf.zeros([1, 256, 3]) as tf.Tensor3D, ctx, tf.tensor1d([5], "int32"), { dropoutRng: null }), /z-conditioned: it needs z \[B, 6\]/);
      ctx.dispose();
      net.dispose();
      assert.ok(errs.every((e) => e <= TOL), `relative errors ${errs}`);
    });

    it("torchsparse: the dense path at r₀ and off r₀ (kernel resampled, 5 → 9 at 32 px, 5 → 3 at 8 px) gives their outputs", () => {
      const net = load(configFor("torchsparse"), "ts.safetensors");
      assert.equal(net.cfg.kernelResampling, "authors");
      for (const R of [16, 32, 8]) {
        const e = dense(net, "ts", R);
        assert.ok(e <= TOL, `${R} px: relative error ${e}`);
      }
      net.dispose();
    });

    it("their SparseEncoder (both backends, which differ without t): z from full images and from ratio-¼ subsets", () => {
      const errs: string[] = [];
      for (const [backend, file, prefix] of [["torchsparse", "enc_ts.safetensors", "enc_ts"], ["torch_dense", "enc_td.safetensors", "enc_td"]]) {
        const cfg = configFor(backend, undefined, 6);
        const enc = new AuthorsEncoder(cfg.model, new Rng(0));
        enc.params.load(importAuthorsEncoder(path.join(FIX, file), cfg));
        const x = get("dense16/x"), lst = get("sparse/sample_lst");
        const [B, M] = lst.shape;
        const full = fullGrid(B, 16, 16), sub: CoordSet = Object.freeze({ B, H: 16, W: 16, M, cells: Int32Array.from(lst.values) });
        for (const [set, xs, key] of [[full, nchwToPoints(x.values, B, 3, 16), "full"], [sub, get("sparse/x").values, "sparse"]] as const) {
          const ctx = enc.context(set);
          const before = tf.memory().numTensors;
          const z = tf.tidy(() => enc.apply(tf.tensor3d(xs, [B, set.M, 3]), ctx).dataSync() as Float32Array);
          assert.equal(tf.memory().numTensors, before, "no leaked tensors");
          ctx.dispose();
          const e = maxRelDiff(z, get(`${prefix}/${key}/z`).values);
          if (!(e <= TOL)) errs.push(`${backend} ${key}: ${e}`);
        }
        enc.dispose();
      }
      assert.deepEqual(errs, []);
    });

    it("torch_dense: off r₀ the kernel is kept (rule \"none\", their default for this backend), at 16, 32 and 8 px", () => {
      const net = load(configFor("torch_dense"), "td.safetensors");
      assert.equal(net.cfg.kernelResampling, "none");
      for (const R of [16, 32, 8]) {
        const e = dense(net, "td", R);
        assert.ok(e <= TOL, `${R} px: relative error ${e}`);
      }
      net.dispose();
    });
  });
}

describe("authors' backends: the off-grid rule, kNN ties, positions, layouts", function () {
  this.timeout(60000);
  before(async () => initBackend("cpu", { quiet: true }));

  it("the off-grid rule is the config's: the other rule misses their output off r₀ and agrees at r₀", () => {
    const ts = load(configFor("torchsparse", "none"), "ts.safetensors");
    assert.ok(dense(ts, "ts", 16) <= TOL);
    assert.ok(dense(ts, "ts", 32) > 100 * TOL, "keeping the kernel must not reproduce torchsparse's resampled output at 32 px");
    ts.dispose();
    const td = load(configFor("torch_dense", "authors"), "td.safetensors");
    assert.ok(dense(td, "td", 32) > 100 * TOL && dense(td, "td", 8) > 100 * TOL);
    td.dispose();
  });

  it("kNN on full grids with ties picks pytorch3d's CPU neighbours, in its order (28 → 16, K 3; 16 → 8, K 4)", () => {
    const ties = JSON.parse(io.metadata.knn_ties);
    for (const [n, u, k] of [[28, 16, 3], [16, 8, 4]]) {
      assert.ok(ties[`n${n}u${u}k${k}`].boundary_ties > 0, "the fixture grid must have ties at the K-th place");
      const table = authorsKnnTable(fullGrid(1, n, n), u, k);
      assert.deepEqual(Array.from(table.idx), Array.from(get(`knn/n${n}u${u}k${k}`).values), `${n} → ${u}`);
    }
  });

  it("positions are torch.linspace's float32 values, bit for bit (n = 2…120)", () => {
    const want = get("linspace/2-120").values;
    let o = 0;
    for (let n = 2; n <= 120; n++) {
      const got = torchLinspace01(n);
      for (let i = 0; i < n; i++, o++) assert.equal(got[i], want[o], `n ${n}, i ${i}`);
    }
  });

  it("tells the backends apart by their keys; a mismatch with the config is a one-line error", () => {
    const keys = JSON.parse(fs.readFileSync(path.join(FIX, "keys.json"), "utf8")) as Record<string, [string, number[]][]>;
    assert.equal(detectAuthorsBackend(keys.torchsparse.map(([k]) => k)), "torchsparse");
    assert.equal(detectAuthorsBackend(keys.torch_dense.map(([k]) => k)), "torch_dense");
    assert.throws(() => importAuthorsWeights(path.join(FIX, "ts.safetensors"), configFor("torch_dense")), /the weights are the torchsparse backend's layout, the config says model\.backend "torch_dense"/);
    assert.throws(() => configFor("spconv"), /asserts depthwise=False/);
    assert.throws(() => configFor("minkowski"), /NotImplementedError/);
  });
});
