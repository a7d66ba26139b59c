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
});
