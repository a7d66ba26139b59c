/**
 * The CLI's contract: bad input → one clear line on stderr, exit 2, no stack trace, no file written;
 * the happy path trains, resumes and samples at several resolutions.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readNpy } from "infty-diff-lab";
import { infty, expectOneLineError } from "../helpers/cli";

const TINY = {
  model: { resolution: 12, nf: 8, timeEmbDim: 16, sparseBlocks: 1, kernelSize: 3,
    unet: { res: 8, baseChannels: 8, mults: [1, 2], blocksPerLevel: 1, attnRes: [4], dropoutRes: 4, dropout: 0.1, groups: 4 } },
  train: { dataset: "procedural", batchSize: 4, coordRatio: 0.5, steps: 2, checkpointEvery: 1, warmupSteps: 0 },
};

describe("CLI", function () {
  this.timeout(300000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "infty-cli-"));
    fs.writeFileSync(path.join(dir, "tiny.json"), JSON.stringify(TINY));
    fs.writeFileSync(path.join(dir, "unknown-key.json"), JSON.stringify({ model: { channel: 1 } }));
    fs.writeFileSync(path.join(dir, "bad-range.json"), JSON.stringify({ train: { coordRatio: 1.5 } }));
    fs.writeFileSync(path.join(dir, "not-json.json"), "{ model: ");
    fs.writeFileSync(path.join(dir, "corrupt.ckpt"), Buffer.from("INFTYCK1 this is not a checkpoint"));
    fs.writeFileSync(path.join(dir, "text.npy"), "hello");
  });

  it("lists commands and prints each command's help", () => {
    const r = infty(["--help"], dir);
    assert.equal(r.code, 0);
    for (const c of ["train", "sample", "eval"]) {
      assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
      const h = infty([c, "--help"], dir);
      assert.equal(h.code, 0);
      assert.match(h.stdout, new RegExp(`usage: infty ${c}`));
    }
  });

  const cases: Array<[string, string[], RegExp]> = [
    ["unknown command", ["trian"], /unknown command 'trian'/],
    ["unknown option", ["sample", "--resoluton", "28"], /unknown option --resoluton/],
    ["unknown config key", ["train", "--config", "unknown-key.json", "--run", "r1"], /unknown key 'channel'/],
    ["config value out of range", ["train", "--config", "bad-range.json", "--run", "r2"], /train\.coordRatio: must be ≤ 1/],
    ["config that is not JSON", ["train", "--config", "not-json.json", "--run", "r3"], /not valid JSON/],
    ["missing config file", ["train", "--config", "nope.json", "--run", "r4"], /cannot read config nope\.json: ENOENT/],
    ["ratio 0", ["train", "--ratio", "0", "--run", "r5"], /--ratio must be in \(0, 1\]/],
    ["ratio above 1", ["train", "--ratio", "1.5", "--run", "r6"], /--ratio must be in \(0, 1\]/],
    ["missing checkpoint", ["sample", "--checkpoint", "missing.ckpt"], /cannot read checkpoint missing\.ckpt: ENOENT/],
    ["corrupt checkpoint", ["sample", "--checkpoint", "corrupt.ckpt"], /corrupt checkpoint corrupt\.ckpt/],
    ["resolution 0", ["sample", "--resolution", "0"], /--resolution must be ≥ 1/],
    ["non-integer resolution", ["sample", "--resolution", "1.5"], /--resolution must be a positive integer/],
    ["negative resolution", ["sample", "--resolution", "-28"], /--resolution must be a positive integer/],
    ["non-integer sample count", ["sample", "--n", "2.5"], /--n must be an integer/],
    ["unreadable samples file", ["eval", "--samples", "missing.npy"], /cannot read missing\.npy: ENOENT/],
    ["samples file that is not .npy", ["eval", "--samples", "text.npy"], /text\.npy is not a \.npy file/],
    ["eval without a source", ["eval"], /exactly one of --samples or --checkpoint/],
  ];
  for (const [what, args, pattern] of cases) {
    it(`rejects ${what} with one line and exit 2, writing nothing`, () => {
      const before = new Set(fs.readdirSync(dir));
      expectOneLineError(infty(args, dir), pattern);
      const added = fs.readdirSync(dir).filter((f) => !before.has(f));
      assert.deepEqual(added, [], `files written: ${added.join(", ")}`);
    });
  }

  it("trains a tiny model, resumes it, and samples it at 12×12, 24×24 and 12×20", () => {
    let r = infty(["train", "--config", "tiny.json", "--run", "tiny", "--quiet"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /to step 2/);
    r = infty(["train", "--run", "tiny", "--steps", "3", "--quiet"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /from step 2 to step 3/);
    for (const [res, shape] of [["12", [2, 12, 12, 1]], ["24", [2, 24, 24, 1]], ["12x20", [2, 12, 20, 1]]] as const) {
      const out = path.join(dir, `s${res}`);
      r = infty(["sample", "--checkpoint", "tiny/checkpoint.bin", "--resolution", res, "--n", "2", "--steps", "3", "--out", out, "--quiet"], dir);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(readNpy(`${out}.npy`).shape, shape);
      assert.ok(fs.statSync(`${out}.png`).size > 0);
    }
    const corruptRun = path.join(dir, "tiny2");
    fs.mkdirSync(corruptRun);
    fs.writeFileSync(path.join(corruptRun, "checkpoint.bin"), "garbage");
    expectOneLineError(infty(["train", "--run", "tiny2"], dir), /corrupt checkpoint/);
  });

  it("eval --json records FID with its bootstrap spread over the samples", () => {
    const r = infty(["eval", "--checkpoint", "tiny/checkpoint.bin", "--resolution", "12", "--n", "6", "--steps", "2", "--json", "e.json", "--quiet"], dir);
    assert.equal(r.code, 0, r.stderr);
    const e = JSON.parse(fs.readFileSync(path.join(dir, "e.json"), "utf8"));
    assert.equal(e.n, 6);
    assert.ok(e.fidStd > 0 && e.fidBootstrapResamples === 100, JSON.stringify(e));
    assert.ok(Math.abs((e.fidInterval95[0] + e.fidInterval95[1]) / 2 - e.fid) < 1e-9 * e.fid, "interval centred on FID");
    assert.ok(Math.abs(e.fidInterval95[1] - e.fid - 1.959963984540054 * e.fidStd) < 1e-9 * e.fid);
  });

  it("eval --clip-tx0 and --ddim-grid switch the sampler for one run and are recorded (Fig. 7's variants)", () => {
    const r = infty(["eval", "--checkpoint", "tiny/checkpoint.bin", "--resolution", "12", "--n", "4", "--steps", "2", "--clip-tx0", "off",
      "--ddim-grid", "even", "--json", "e2.json", "--quiet"], dir);
    assert.equal(r.code, 0, r.stderr);
    const e = JSON.parse(fs.readFileSync(path.join(dir, "e2.json"), "utf8"));
    assert.deepEqual([e.clipTx0, e.ddimGrid], [false, "even"]);
    expectOneLineError(infty(["eval", "--checkpoint", "tiny/checkpoint.bin", "--clip-tx0", "maybe"], dir), /clip-tx0/);
  });
});
