/**
 * `infty import` end to end: the fixture's exported weights + the authors' config values → a lab checkpoint that
 * gives the authors' outputs through `loadModel`, and that sample (at 4×), grid, eval, inpaint and superres run on.
 * Bad input gives one-line errors naming the key or file (exit 2). Where Debian's torch is installed, the Python
 * export script itself turns a training-checkpoint dict into the same weights.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { initBackend, tf, loadModel, loadCheckpoint, decodeSafetensors, encodeSafetensors, fullGrid } from "infty-diff-lab";
import { infty, expectOneLineError } from "../helpers/cli";

const FIX = path.resolve(__dirname, "../../../tests/fixtures/authors");
const SCRIPT = path.resolve(__dirname, "../../../scripts/export-authors-weights.py");

describe("infty import (the authors' weights → a lab checkpoint)", function () {
  this.timeout(600000);
  let dir: string;
  before(async () => {
    await initBackend("wasm", { quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "infty-import-"));
    fs.copyFileSync(path.join(FIX, "authors-config.json"), path.join(dir, "authors.json"));
    fs.copyFileSync(path.join(FIX, "sparse-unet.safetensors"), path.join(dir, "w.safetensors"));
    const r = infty(["import", "--weights", "w.safetensors", "--config", "authors.json", "--out", "m.ckpt", "--step", "5"], dir);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes a checkpoint whose model gives the authors' dense outputs", () => {
    const meta = loadCheckpoint(path.join(dir, "m.ckpt")).meta as { config: { model: { arch: string } }; step: number };
    assert.equal(meta.config.model.arch, "authors");
    assert.equal(meta.step, 5);
    const model = loadModel(path.join(dir, "m.ckpt"));
    const io = decodeSafetensors(fs.readFileSync(path.join(FIX, "io.safetensors"))).tensors;
    const x = io.get("dense/x")!, want = io.get("dense/out")!.values;
    const ctx = model.net.context(fullGrid(2, 28, 28));
    const got = tf.tidy(() => model.net.apply(tf.tensor3d(x.values, [2, 784, 1]), ctx, tf.tensor1d(Array.from(io.get("dense/t")!.values), "int32"), { dropoutRng: null }).dataSync());
    ctx.dispose();
    model.net.dispose();
    let d = 0, m = 0;
    want.forEach((v, i) => { d = Math.max(d, Math.abs(got[i] - v)); m = Math.max(m, Math.abs(v)); });
    assert.ok(d / m <= 1e-4, `relative error ${d / m}`);
  });

  it("sample at 4×, grid, eval, inpaint and superres run on the imported checkpoint", () => {
    const ok = (args: string[], quiet = true) => {
      const r = infty(quiet ? [...args, "--quiet"] : args, dir);
      assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
      return r;
    };
    ok(["sample", "--checkpoint", "m.ckpt", "--resolution", "112", "--n", "1", "--steps", "2", "--out", "s112"]);
    const npy = fs.readFileSync(path.join(dir, "s112.npy"));
    assert.ok(npy.length > 112 * 112 * 4);
    ok(["grid", "--checkpoint", "m.ckpt", "--resolutions", "14,28", "--n", "1", "--steps", "2", "--out", "g.png"]);
    ok(["eval", "--checkpoint", "m.ckpt", "--n", "4", "--steps", "2", "--batch", "4", "--json", "e.json"]);
    assert.ok(Number.isFinite(JSON.parse(fs.readFileSync(path.join(dir, "e.json"), "utf8")).fid));
    ok(["inpaint", "--checkpoint", "m.ckpt", "--dataset", "fashion-mnist", "--index", "1", "--mask", "centre", "--steps", "2", "--ts", "300", "--out", "ip.png"], false);
    const r = ok(["superres", "--checkpoint", "m.ckpt", "--input", "ip.png", "--steps", "2", "--out", "sr.png"], false);
    assert.match(r.stderr, /→/);
  });

  it("bad weights or config: one line naming the key or file, exit 2", () => {
    const st = decodeSafetensors(fs.readFileSync(path.join(dir, "w.safetensors")));
    const entries = [...st.tensors.entries()];
    fs.writeFileSync(path.join(dir, "extra.safetensors"), encodeSafetensors([...entries, ["up_blocks.0.block.z_mlp1.0.weight", { shape: [1], values: new Float32Array(1) }]]));
    fs.writeFileSync(path.join(dir, "missing.safetensors"), encodeSafetensors(entries.filter(([k]) => k !== "uno.mid_attn.qkv.bias")));
    fs.writeFileSync(path.join(dir, "typo.json"), JSON.stringify({ ...JSON.parse(fs.readFileSync(path.join(dir, "authors.json"), "utf8")), run: { name: "x" } }));
    const cases: Array<[string[], RegExp]> = [
      [["--weights", "extra.safetensors", "--config", "authors.json"], /unknown key 'up_blocks\.0\.block\.z_mlp1\.0\.weight'/],
      [["--weights", "missing.safetensors", "--config", "authors.json"], /missing key 'uno\.mid_attn\.qkv\.bias'/],
      [["--weights", "nope.safetensors", "--config", "authors.json"], /cannot read weights nope\.safetensors: ENOENT/],
      [["--weights", "authors.json", "--config", "authors.json"], /weights authors\.json: not a safetensors file/],
      [["--weights", "w.safetensors", "--config", "typo.json"], /unknown group 'run'/],
      [["--weights", "w.safetensors"], /--config is required/],
    ];
    for (const [args, re] of cases) expectOneLineError(infty(["import", ...args, "--out", "bad.ckpt"], dir), re);
    assert.ok(!fs.existsSync(path.join(dir, "bad.ckpt")));
  });

  it("the Python export script turns a training checkpoint into the same weights (where torch is installed)", function () {
    const py = "/usr/bin/python3";
    if (!fs.existsSync(py) || spawnSync(py, ["-c", "import torch, numpy"]).status !== 0) this.skip();
    // a training-checkpoint dict as train_inf_ae_diffusion.py saves it, built from the fixture's tensors
    const make = [
      "import json, struct, sys, numpy as np, torch",
      "b = open(sys.argv[1], 'rb').read(); n, = struct.unpack('<Q', b[:8]); h = json.loads(b[8:8+n]); h.pop('__metadata__', None)",
      "sd = {k: torch.from_numpy(np.frombuffer(b[8+n+v['data_offsets'][0]:8+n+v['data_offsets'][1]], dtype='<f4').reshape(v['shape']).copy()) for k, v in h.items()}",
      "torch.save({'model_state_dict': {k: v * 0 for k, v in sd.items()}, 'model_ema_state_dict': sd, 'optimizer_state_dict': {}}, sys.argv[2])",
    ].join("\n");
    let r = spawnSync(py, ["-c", make, path.join(dir, "w.safetensors"), path.join(dir, "train.pth")], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    r = spawnSync(py, [SCRIPT, path.join(dir, "train.pth"), path.join(dir, "py.safetensors")], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const a = decodeSafetensors(fs.readFileSync(path.join(dir, "py.safetensors"))).tensors;
    const b = decodeSafetensors(fs.readFileSync(path.join(dir, "w.safetensors"))).tensors;
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const [k, t] of b) assert.deepEqual(Array.from(a.get(k)!.values), Array.from(t.values), k);
    r = spawnSync(py, [SCRIPT, path.join(dir, "train.pth"), path.join(dir, "raw.safetensors"), "--which", "model"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Array.from(decodeSafetensors(fs.readFileSync(path.join(dir, "raw.safetensors"))).tensors.get("linear_in.weight")!.values).every((v) => v === 0));
    r = spawnSync(py, [SCRIPT, path.join(dir, "nope.pth"), path.join(dir, "x.safetensors")], { encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^error: cannot read .*nope\.pth/);
  });
});
