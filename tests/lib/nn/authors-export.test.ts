/**
 * The way back to PyTorch: `authorsStateDict` writes what their SparseUNet's load_state_dict(strict=True) accepts —
 * the key list and shapes of their class for each backend, in their order (tests/fixtures/authors-backends/keys.json,
 * generated from their class by scripts/make-authors-backend-fixture.py) — and the round trips are bit-exact:
 * their state_dict → lab → their state_dict reproduces every tensor of the file (fixed entries included), and
 * lab → authors → lab every parameter. Across backends the function is kept (torch_dense → torchsparse) or the
 * export refuses (a non-zero LayerNorm bias has no torch_dense home).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  initBackend, tf, Rng, InftyDiffNetwork, fullGrid, decodeSafetensors, authorsConfig, importAuthorsWeights, authorsStateDict, authorsConfigValues,
  mapAuthorsState, LabConfig, maxRelDiff, ParamTensors, SafeTensor, importAuthorsEncoder, AuthorsEncoder, sampleModel, authorsKeyList } from "infty-diff-lab";
import { tinyConfig } from "../../helpers/tiny";

const FIX = path.resolve(__dirname, "../../../../tests/fixtures/authors-backends");
const keys = JSON.parse(fs.readFileSync(path.join(FIX, "keys.json"), "utf8")) as Record<string, [string, number[]][]>;
const raw = JSON.parse(fs.readFileSync(path.join(FIX, "authors-config.json"), "utf8"));
const cfgFor = (backend: string): LabConfig => authorsConfig({ ...raw, model: { ...raw.model, backend } });
const FILES = { torchsparse: "ts.safetensors", torch_dense: "td.safetensors" } as const;
const stateOf = (file: string) => decodeSafetensors(fs.readFileSync(path.join(FIX, file))).tensors;
const listOf = (sd: Array<[string, SafeTensor]>) => sd.map(([k, t]) => [k, t.shape]);
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe("export to the authors' SparseUNet (infty export --format authors)", function () {
  this.timeout(60000);
  before(async () => initBackend("cpu", { quiet: true }));

  for (const backend of ["torchsparse", "torch_dense"] as const) {
    it(`${backend}: their state_dict → lab → their state_dict is the same file, every key, shape and bit, in their order`, () => {
      const cfg = cfgFor(backend);
      const params = importAuthorsWeights(path.join(FIX, FILES[backend]), cfg);
      const sd = authorsStateDict(cfg, params, backend);
      assert.deepEqual(listOf(sd), keys[backend], "their class's key list (keys.json)");
      const orig = stateOf(FILES[backend]);
      for (const [k, t] of sd) assert.deepEqual(bits(t.values), bits(orig.get(k)!.values), k);
    });

    it(`${backend}: lab → authors → lab gives every parameter back bit for bit`, () => {
      const cfg = cfgFor(backend);
      const net = new InftyDiffNetwork(cfg.model, new Rng(7)); // lab-initialised: no PyTorch file involved
      const params: ParamTensors = net.params.snapshot();
      const kinds = net.authors!.kinds;
      net.dispose();
      const back = mapAuthorsState(new Map(authorsStateDict(cfg, params, backend)), kinds);
      assert.deepEqual(Object.keys(back).sort(), Object.keys(params).sort());
      for (const [k, t] of Object.entries(params)) {
        assert.deepEqual(back[k].shape, t.shape, k);
        assert.deepEqual(bits(back[k].values), bits(t.values), k);
      }
    });
  }

  it("their published configurations (ffhq_128; ffhq_256 = celeba_256 = churches_256): every key and shape of decoder and encoder", () => {
    const pub = JSON.parse(fs.readFileSync(path.join(FIX, "published.json"), "utf8"));
    const before = tf.memory().numTensors;
    for (const [name, c] of Object.entries(pub.configs) as Array<[string, { model: { backend: "torchsparse" } }]>) {
      const cfg = authorsConfig(c);
      for (const which of ["decoder", "encoder"] as const) {
        const list = authorsKeyList(cfg, c.model.backend, which);
        assert.deepEqual(list, keys[`published ${name} ${which}`], `${name} ${which}`);
        // their parameters(): every entry but the uno_coords buffer (the normalising conv is a frozen Parameter)
        const count = list.filter(([k]) => k !== "uno_coords").reduce((a, [, sh]) => a + sh.reduce((x, y) => x * y, 1), 0);
        assert.equal(count, pub.parameters[`${name} ${which}`], `${name} ${which} parameters`);
      }
    }
    assert.equal(tf.memory().numTensors, before, "the key list builds no weights");
  });

  it("their z-conditioned decoder (z_dim 6): the same file back, their key list, z_dim in the config values", () => {
    const cfg = authorsConfig({ ...raw, model: { ...raw.model, z_dim: 6 } });
    const sd = authorsStateDict(cfg, importAuthorsWeights(path.join(FIX, "tsz.safetensors"), cfg), "torchsparse");
    assert.deepEqual(listOf(sd), keys["torchsparse z_dim 6"]);
    const orig = stateOf("tsz.safetensors");
    for (const [k, t] of sd) assert.deepEqual(bits(t.values), bits(orig.get(k)!.values), k);
    assert.equal(authorsConfigValues(cfg, "torchsparse").model.z_dim, 6);
  });

  it("their SparseEncoder, both backends: the same file back (key list, order, bits)", () => {
    for (const [backend, file] of [["torchsparse", "enc_ts.safetensors"], ["torch_dense", "enc_td.safetensors"]] as const) {
      const cfg = authorsConfig({ ...raw, model: { ...raw.model, backend, z_dim: 6 } });
      const sd = authorsStateDict(cfg, importAuthorsEncoder(path.join(FIX, file), cfg), backend, "encoder");
      assert.deepEqual(listOf(sd), keys[`encoder ${backend} z_dim 6`]);
      const orig = stateOf(file);
      for (const [k, t] of sd) assert.deepEqual(bits(t.values), bits(orig.get(k)!.values), `${backend} ${k}`);
    }
  });

  it("reconstruction, as their generate_recons.py: encoder z of images → sampleModel with cond; another z, another sample", async () => {
    const cfg = authorsConfig({ ...raw, model: { ...raw.model, z_dim: 6 } });
    const dec = new InftyDiffNetwork(cfg.model, new Rng(0)), enc = new AuthorsEncoder(cfg.model, new Rng(0));
    dec.params.load(importAuthorsWeights(path.join(FIX, "tsz.safetensors"), cfg));
    enc.params.load(importAuthorsEncoder(path.join(FIX, "enc_ts.safetensors"), cfg));
    const x = decodeSafetensors(fs.readFileSync(path.join(FIX, "io.safetensors"))).tensors.get("dense16/x")!; // [2,3,16,16]
    const nhwc = new Float32Array(x.values.length);
    for (let b = 0; b < 2; b++) for (let c = 0; c < 3; c++) for (let p = 0; p < 256; p++) nhwc[(b * 256 + p) * 3 + c] = x.values[(b * 3 + c) * 256 + p];
    const z = enc.encodeImages(nhwc, 2, 16, 16);
    const before = tf.memory().numTensors;
    const opts = { resolution: 16, n: 2, steps: 3, seed: 4, progress: false };
    const a = await sampleModel(dec, cfg, { ...opts, cond: { values: z, dim: 6 } });
    const same = await sampleModel(dec, cfg, { ...opts, cond: { values: z, dim: 6 } });
    const other = await sampleModel(dec, cfg, { ...opts, cond: { values: z.map((v) => -v), dim: 6 } });
    assert.equal(tf.memory().numTensors, before, "no leaked tensors");
    assert.ok(a.x0.images.every(Number.isFinite));
    assert.deepEqual(Array.from(a.x0.images), Array.from(same.x0.images));
    assert.ok(maxRelDiff(other.x0.images, a.x0.images) > 1e-3, "z must reach the samples");
    await assert.rejects(sampleModel(dec, cfg, opts), /z-conditioned: it needs z \[B, 6\]/);
    dec.dispose();
    enc.dispose();
  });

  it("torch_dense → torchsparse keeps the function (zero LayerNorm biases); torchsparse → torch_dense refuses non-zero biases", () => {
    const td = cfgFor("torch_dense"), ts = cfgFor("torchsparse");
    const params = importAuthorsWeights(path.join(FIX, "td.safetensors"), td);
    const sd = authorsStateDict(td, params, "torchsparse");
    assert.deepEqual(listOf(sd), keys.torchsparse);
    assert.ok(sd.filter(([k]) => /norm[12]\.bias$/.test(k)).every(([, t]) => t.values.every((v) => v === 0)));
    const a = new InftyDiffNetwork(td.model, new Rng(0)), b = new InftyDiffNetwork(ts.model, new Rng(0));
    a.params.load(params);
    b.params.load(mapAuthorsState(new Map(sd), b.authors!.kinds));
    const set = fullGrid(2, 16, 16), x = tf.randomNormal([2, 256, 3], 0, 1, "float32", 5) as tf.Tensor3D, t = tf.tensor1d([30, 700], "int32");
    const ca = a.context(set), cb = b.context(set);
    const ya = a.apply(x, ca, t, { dropoutRng: null }).dataSync() as Float32Array, yb = b.apply(x, cb, t, { dropoutRng: null }).dataSync() as Float32Array;
    assert.ok(maxRelDiff(yb, ya) < 1e-6, `${maxRelDiff(yb, ya)}`);
    tf.dispose([x, t]);
    ca.dispose(); cb.dispose(); a.dispose(); b.dispose();
    const tsParams = importAuthorsWeights(path.join(FIX, "ts.safetensors"), ts);
    assert.throws(() => authorsStateDict(ts, tsParams, "torch_dense"), /^AuthorsImportError: 'down_blocks\.0\.block\.norm1\.bias' is not zero .* torch_dense's ImageLayerNorm has no bias: export with --backend torchsparse$/);
  });

  it("writes their config values, which infty import reads back to the same lab config; the lab's own network is refused", () => {
    for (const backend of ["torchsparse", "torch_dense"] as const) {
      const cfg = cfgFor(backend);
      const values = authorsConfigValues(cfg, backend);
      assert.deepEqual(values, { ...raw, model: { ...raw.model, backend } });
      assert.deepEqual(authorsConfig(values), cfg);
    }
    const lab = tinyConfig();
    assert.throws(() => authorsConfigValues(lab, "torchsparse"), /only models of the authors' architecture/);
  });
});
