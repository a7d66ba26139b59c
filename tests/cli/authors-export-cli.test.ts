/**
 * `infty import` of the authors' default (torchsparse) weights and `infty export --format authors` back: the config
 * may omit `backend` (the weights' keys say it), the export's tensors are the original file's bit for bit with the
 * config their class needs, and bad requests are one-line refusals that write nothing. Where Debian's torch and
 * checkouts of their code are at hand (INFTY_DIFF_DIR, TORCHSPARSE_DIR, INFTY_SHIMS: see
 * scripts/load-authors-export.py), their SparseUNet loads the export with strict=True and gives the lab's outputs.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { decodeSafetensors, encodeSafetensors, maxRelDiff } from "infty-diff-lab";
import { infty, expectOneLineError } from "../helpers/cli";

const FIX = path.resolve(__dirname, "../../../tests/fixtures/authors-backends");
const LOADER = path.resolve(__dirname, "../../../scripts/load-authors-export.py");
const tensors = (f: string) => decodeSafetensors(fs.readFileSync(f)).tensors;
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe("infty import / export --format authors (their torchsparse default and back)", function () {
  this.timeout(300000);
  let dir: string;
  const raw = JSON.parse(fs.readFileSync(path.join(FIX, "authors-config.json"), "utf8"));
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "infty-authors-export-"));
    const { backend, ...model } = raw.model;
    assert.equal(backend, "torchsparse");
    fs.writeFileSync(path.join(dir, "no-backend.json"), JSON.stringify({ ...raw, model }));
    fs.writeFileSync(path.join(dir, "td.json"), JSON.stringify({ ...raw, model: { ...model, backend: "torch_dense" } }));
    fs.copyFileSync(path.join(FIX, "ts.safetensors"), path.join(dir, "ts.safetensors"));
    fs.copyFileSync(path.join(FIX, "td.safetensors"), path.join(dir, "td.safetensors"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("imports torchsparse weights with a config that omits the backend, and exports them back bit for bit", () => {
    let r = infty(["import", "--weights", "ts.safetensors", "--config", "no-backend.json", "--out", "ts.ckpt"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /torchsparse layout/);
    r = infty(["export", "--format", "authors", "--checkpoint", "ts.ckpt", "--backend", "torchsparse", "--out", "back.safetensors"], dir);
    assert.equal(r.code, 0, r.stderr);
    const a = tensors(path.join(dir, "back.safetensors")), b = tensors(path.join(FIX, "ts.safetensors"));
    assert.deepEqual([...a.keys()], [...b.keys()]);
    for (const [k, t] of b) assert.deepEqual(bits(a.get(k)!.values), bits(t.values), k);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "back.config.json"), "utf8")), raw);
  });

  it("torch_dense weights export to either backend; the torchsparse export says their off-grid rule differs", () => {
    let r = infty(["import", "--weights", "td.safetensors", "--config", "td.json", "--out", "td.ckpt"], dir);
    assert.equal(r.code, 0, r.stderr);
    r = infty(["export", "--format", "authors", "--checkpoint", "td.ckpt", "--backend", "torch_dense", "--out", "td-back.safetensors"], dir);
    assert.equal(r.code, 0, r.stderr);
    const a = tensors(path.join(dir, "td-back.safetensors")), b = tensors(path.join(FIX, "td.safetensors"));
    for (const [k, t] of b) assert.deepEqual(bits(a.get(k)!.values), bits(t.values), k);
    r = infty(["export", "--format", "authors", "--checkpoint", "td.ckpt", "--out", "td-as-ts.safetensors"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /backend torchsparse.*note: off the training resolution their torchsparse resample/);
  });

  it("their autoencoder: decoder (z_dim) + --encoder-weights import into one checkpoint, export back to both files bit for bit; sample refuses", () => {
    fs.writeFileSync(path.join(dir, "z.json"), JSON.stringify({ ...raw, model: { ...raw.model, z_dim: 6 } }));
    for (const f of ["tsz.safetensors", "enc_ts.safetensors"]) fs.copyFileSync(path.join(FIX, f), path.join(dir, f));
    let r = infty(["import", "--weights", "tsz.safetensors", "--encoder-weights", "enc_ts.safetensors", "--config", "z.json", "--out", "ae.ckpt"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /and their encoder \(z_dim 6\)/);
    r = infty(["export", "--format", "authors", "--checkpoint", "ae.ckpt", "--out", "ae.safetensors"], dir);
    assert.equal(r.code, 0, r.stderr);
    for (const [mine, theirs] of [["ae.safetensors", "tsz.safetensors"], ["ae.encoder.safetensors", "enc_ts.safetensors"]]) {
      const a = tensors(path.join(dir, mine)), b = tensors(path.join(FIX, theirs));
      assert.deepEqual([...a.keys()], [...b.keys()], mine);
      for (const [k, t] of b) assert.deepEqual(bits(a.get(k)!.values), bits(t.values), `${mine} ${k}`);
    }
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "ae.config.json"), "utf8")).model.z_dim, 6);
    expectOneLineError(infty(["sample", "--checkpoint", "ae.ckpt", "--n", "1", "--steps", "2", "--out", "s"], dir), /z-conditioned decoder \(z_dim 6\): it samples given z/);
    expectOneLineError(infty(["import", "--weights", "ts.safetensors", "--encoder-weights", "enc_ts.safetensors", "--config", "no-backend.json", "--out", "x.ckpt"], dir), /--encoder-weights goes with a z-conditioned decoder/);
    expectOneLineError(infty(["import", "--weights", "tsz.safetensors", "--config", "z.json", "--out", "z.json"], dir), /--out z\.json is --config z\.json, which this command reads/);
  });

  it("refuses in one line and writes nothing: its own input, an existing file, a bias torch_dense cannot hold, no --checkpoint", () => {
    fs.writeFileSync(path.join(dir, "exists.safetensors"), "keep");
    const cases: Array<[string[], RegExp]> = [
      [["--checkpoint", "ts.ckpt", "--out", "ts.ckpt"], /--out ts\.ckpt is --checkpoint ts\.ckpt, which this command reads/],
      [["--checkpoint", "ts.ckpt", "--out", "exists.safetensors"], /--out exists\.safetensors exists; pass --force/],
      [["--checkpoint", "ts.ckpt", "--backend", "torch_dense", "--out", "x.safetensors"], /'down_blocks\.0\.block\.norm1\.bias' is not zero .* export with --backend torchsparse/],
      [["--out", "x.safetensors"], /--format authors needs --checkpoint/],
      [["--checkpoint", "ts.ckpt", "--backend", "spconv", "--out", "x.safetensors"], /--backend/],
    ];
    for (const [args, re] of cases) expectOneLineError(infty(["export", "--format", "authors", ...args], dir), re);
    expectOneLineError(infty(["export", "--checkpoint", "ts.ckpt", "--out", "x.ckpt"], dir), /--checkpoint goes with --format authors/);
    expectOneLineError(infty(["export", "--format", "authors", "--run", "r", "--checkpoint", "ts.ckpt", "--out", "x.safetensors"], dir), /exports a model file \(--checkpoint\), not a run/);
    assert.equal(fs.readFileSync(path.join(dir, "exists.safetensors"), "utf8"), "keep");
    assert.ok(!fs.existsSync(path.join(dir, "x.safetensors")) && !fs.existsSync(path.join(dir, "x.config.json")));
  });

  it("their SparseUNet loads the export strictly and computes the lab's function (needs torch and their code)", function () {
    const py = "/usr/bin/python3", env = process.env;
    const dirs = [env.INFTY_DIFF_DIR, env.TORCHSPARSE_DIR, env.INFTY_SHIMS];
    if (!fs.existsSync(py) || spawnSync(py, ["-c", "import torch, numpy"]).status !== 0) {
      console.log("      (skipped: Debian's python3-torch is not installed)");
      this.skip();
    }
    if (dirs.some((d) => !d || !fs.existsSync(d))) {
      console.log("      (skipped: set INFTY_DIFF_DIR, TORCHSPARSE_DIR and INFTY_SHIMS to checkouts of samb-t/infty-diff, samb-t/torchsparse and einops/flash_attn stand-ins)");
      this.skip();
    }
    const io = tensors(path.join(FIX, "io.safetensors"));
    fs.writeFileSync(path.join(dir, "in.safetensors"), encodeSafetensors([["x", io.get("dense16/x")!], ["t", io.get("dense16/t")!]]));
    for (const [file, want] of [["back.safetensors", "ts/dense16/out"], ["td-as-ts.safetensors", "td/dense16/out"]]) {
      const r = spawnSync(py, [LOADER, file, "--official", dirs[0]!, "--torchsparse", dirs[1]!, "--shims", dirs[2]!, "--forward", "in.safetensors", "--forward-out", "y.safetensors"], { cwd: dir, encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /strict load ok: 166 tensors into SparseUNet\(backend='torchsparse'\)/);
      const e = maxRelDiff(tensors(path.join(dir, "y.safetensors")).get("y")!.values, io.get(want)!.values);
      assert.ok(e < 1e-5, `${file}: ${e}`);
    }
    // their autoencoder exported by the lab: both halves load strictly; z from their encoder is the lab encoder's z
    const r = spawnSync(py, [LOADER, "ae.safetensors", "--official", dirs[0]!, "--torchsparse", dirs[1]!, "--shims", dirs[2]!, "--forward", "in.safetensors", "--forward-out", "y.safetensors"], { cwd: dir, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /strict load ok: \d+ tensors into SparseEncoder/);
    const z = tensors(path.join(dir, "y.safetensors")).get("z")!.values;
    assert.ok(maxRelDiff(z, io.get("enc_ts/full/z")!.values) < 1e-5);
  });
});
