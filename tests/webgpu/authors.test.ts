/**
 * The `authors` architecture on webgpu: the fixture made by the authors' own code (tests/fixtures/authors, see
 * tests/lib/nn/authors-network.test.ts for wasm and cpu) reproduced on webgpu to 1e-4 relative, sparse and dense path.
 * Values are read with `await data()` (webgpu in Node has no synchronous read).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { tf, Rng, InftyDiffNetwork, fullGrid, CoordSet, decodeSafetensors, authorsConfig, importAuthorsWeights, initBackend } from "infty-diff-lab";
import { relErr, webgpuOrSkip } from "../helpers/webgpu";

const FIX = path.resolve(__dirname, "../../../tests/fixtures/authors");

describe("authors' SparseUNet, exact on webgpu (SwiftShader in CI)", function () {
  this.timeout(300000);
  let net: InftyDiffNetwork;
  const f = decodeSafetensors(fs.readFileSync(path.join(FIX, "io.safetensors"))).tensors;
  before(async function () {
    await webgpuOrSkip(this);
    const cfg = authorsConfig(JSON.parse(fs.readFileSync(path.join(FIX, "authors-config.json"), "utf8")));
    net = new InftyDiffNetwork(cfg.model, new Rng(0));
    net.params.load(importAuthorsWeights(path.join(FIX, "sparse-unet.safetensors"), cfg));
  });
  after(async () => {
    net?.dispose();
    await initBackend("wasm", { quiet: true });
  });

  /** the network's output on `set` for inputs x [B, M] at timesteps t, read asynchronously */
  async function run(set: CoordSet, x: Float32Array, t: Float32Array): Promise<Float32Array> {
    const ctx = net.context(set);
    const before = tf.memory().numTensors;
    const out = tf.tidy(() => net.apply(tf.tensor3d(x, [set.B, set.M, 1]), ctx, tf.tensor1d(Array.from(t), "int32"), { dropoutRng: null }));
    const got = Float32Array.from(await out.data() as Float32Array);
    out.dispose();
    ctx.dispose();
    assert.equal(tf.memory().numTensors, before, "no leaked tensors");
    return got;
  }

  it("sparse path (a ratio-¼ subset of 28×28) gives the authors' outputs to 1e-4", async () => {
    const lst = f.get("sparse/sample_lst")!;
    const [B, M] = lst.shape;
    const set: CoordSet = Object.freeze({ B, H: 28, W: 28, M, cells: Int32Array.from(lst.values) });
    const e = relErr(await run(set, f.get("sparse/x")!.values, f.get("sparse/t")!.values), f.get("sparse/out")!.values);
    assert.ok(e <= 1e-4, `relative error ${e}`);
  });

  it("dense path (the full 28×28 grid) gives the authors' outputs to 1e-4", async () => {
    const x = f.get("dense/x")!;
    const e = relErr(await run(fullGrid(x.shape[0], 28, 28), x.values, f.get("dense/t")!.values), f.get("dense/out")!.values);
    assert.ok(e <= 1e-4, `relative error ${e}`);
  });

  it("their torchsparse layout (tests/fixtures/authors-backends): sparse path and 2× dense path (kernel resampled) to 1e-4", async () => {
    const dir = path.resolve(__dirname, "../../../tests/fixtures/authors-backends");
    const g = decodeSafetensors(fs.readFileSync(path.join(dir, "io.safetensors"))).tensors;
    const cfg = authorsConfig(JSON.parse(fs.readFileSync(path.join(dir, "authors-config.json"), "utf8")));
    const ts = new InftyDiffNetwork(cfg.model, new Rng(0));
    try {
      ts.params.load(importAuthorsWeights(path.join(dir, "ts.safetensors"), cfg));
      const read = async (set: CoordSet, x: Float32Array, t: Float32Array) => {
        const ctx = ts.context(set);
        const out = tf.tidy(() => ts.apply(tf.tensor3d(x, [set.B, set.M, 3]), ctx, tf.tensor1d(Array.from(t), "int32"), { dropoutRng: null }));
        const v = Float32Array.from(await out.data() as Float32Array);
        out.dispose();
        ctx.dispose();
        return v;
      };
      const lst = g.get("sparse/sample_lst")!;
      const [B, M] = lst.shape;
      const e1 = relErr(await read(Object.freeze({ B, H: 16, W: 16, M, cells: Int32Array.from(lst.values) }), g.get("sparse/x")!.values, g.get("sparse/t")!.values), g.get("ts/sparse/out")!.values);
      // dense inputs and outputs are NCHW: as points [B, 32·32, 3]
      const nchw = (v: Float32Array, R: number) => {
        const o = new Float32Array(v.length);
        for (let b = 0; b < 2; b++) for (let c = 0; c < 3; c++) for (let p = 0; p < R * R; p++) o[(b * R * R + p) * 3 + c] = v[(b * 3 + c) * R * R + p];
        return o;
      };
      const e2 = relErr(await read(fullGrid(2, 32, 32), nchw(g.get("dense32/x")!.values, 32), g.get("dense32/t")!.values), nchw(g.get("ts/dense32/out")!.values, 32));
      assert.ok(e1 <= 1e-4 && e2 <= 1e-4, `relative errors ${e1}, ${e2}`);
    } finally {
      ts.dispose();
    }
  });
});
