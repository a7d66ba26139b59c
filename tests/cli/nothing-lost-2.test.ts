/**
 * Issue 29, "nothing lost, II": the eleven cases a second audit found, each reproduced as a new user would (a tiny
 * config and its exported checkpoint), and the one rule that closes the worst of them — no command writes over a
 * file it reads, however the path is spelled — checked command by command.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { exportModel, loadCheckpoint, saveCheckpoint, decodeSafetensors, encodeSafetensors, readLog, initBackend, train } from "infty-diff-lab";
import { inProcess, errorLines, CliResult } from "../helpers/in-process";
import { infty } from "../helpers/cli";
import { TINY, tinyConfig, tinyData } from "../helpers/tiny";
import { encodeNpy } from "../../src/lib/runtime/npy";
import { formatBytes } from "../../src/lib/runtime/atomic-write";
import { Trainer } from "../../src/lib/pipelines/train";
import { loadConfigFile } from "../../src/cli/inputs";

const FIX = path.resolve(__dirname, "../../../tests/fixtures/authors");

/** Every file under `dir` with its size and content hash: two snapshots differ iff something was written. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      if (st.isDirectory()) {
        out.push(`${path.relative(dir, p)}/`);
        walk(p);
      } else if (st.isSymbolicLink()) out.push(`${path.relative(dir, p)} -> ${fs.readlinkSync(p)}`);
      else out.push(`${path.relative(dir, p)} ${crypto.createHash("sha1").update(fs.readFileSync(p)).digest("hex")}`);
    }
  };
  walk(dir);
  return out;
}

/** exit 2, one line matching `re`, no stack trace, and the folder exactly as before. */
async function refused(dir: string, args: string[], re: RegExp): Promise<CliResult> {
  const before = snapshot(dir);
  const r = await inProcess(args, dir);
  const lines = errorLines(r.stderr);
  assert.equal(r.code, 2, `${args.join(" ")} → exit ${r.code}: ${r.stderr}`);
  assert.equal(lines.length, 1, `${args.join(" ")}: expected one line, got:\n${r.stderr}`);
  assert.match(lines[0], re);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.deepEqual(snapshot(dir), before, `${args.join(" ")} wrote or changed files`);
  return r;
}

describe("nothing lost, II (issue 29)", function () {
  this.timeout(300000);
  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "infty-29-"));
    fs.writeFileSync(path.join(dir, "tiny.json"), JSON.stringify(TINY));
    const r = await inProcess(["train", "--config", "tiny.json", "--run", "run", "--quiet", "--backend", "wasm"], dir);
    assert.equal(r.code, 0, r.stderr);
    exportModel(path.join(dir, "run"), path.join(dir, "tiny.ckpt"));
    fs.copyFileSync(path.join(FIX, "authors-config.json"), path.join(dir, "authors.json"));
    fs.copyFileSync(path.join(FIX, "sparse-unet.safetensors"), path.join(dir, "w.safetensors"));
    const png = await inProcess(["grid", "--checkpoint", "tiny.ckpt", "--resolutions", "12", "--n", "1", "--steps", "2", "--out", "in.png", "--quiet"], dir);
    assert.equal(png.code, 0, png.stderr);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe("the rule: no command writes over a file it reads, with or without --force, however spelled", () => {
    const spellings = (file: string, d: () => string): Array<[string, () => string]> => [
      ["the same spelling", () => file],
      ["./", () => `./${file}`],
      ["an absolute path", () => path.join(d(), file)],
      ["a symlink", () => { const l = `link-${file}`; if (!fs.existsSync(path.join(d(), l))) fs.symlinkSync(file, path.join(d(), l)); return l; }],
      ["a hard link", () => { const l = `hard-${file}`; if (!fs.existsSync(path.join(d(), l))) fs.linkSync(path.join(d(), file), path.join(d(), l)); return l; }],
      ["a detour through a folder", () => `run/../${file}`],
    ];
    // case 1: eval --json over its checkpoint (was: exit 0, the model replaced by 586 bytes of JSON)
    for (const [how, spell] of spellings("tiny.ckpt", () => dir)) {
      it(`case 1: eval --json onto its --checkpoint, by ${how}, --force: refused, the model intact`, async () => {
        const out = spell();
        await refused(dir, ["eval", "--checkpoint", "tiny.ckpt", "--n", "4", "--steps", "2", "--resolution", "8", "--json", out, "--force", "--quiet"],
          /--json .* is --checkpoint tiny\.ckpt.*which this command reads; it is never written over, even with --force/);
      });
    }
    // case 2: import over its weights (was: exit 0, the weights overwritten)
    for (const [how, spell] of spellings("w.safetensors", () => dir)) {
      it(`case 2: import --out onto its --weights, by ${how}, --force: refused, the weights intact`, async () => {
        await refused(dir, ["import", "--weights", "w.safetensors", "--config", "authors.json", "--out", spell(), "--force"],
          /--out .* is --weights w\.safetensors.*never written over/);
      });
    }
    it("import --out onto its --config: refused", async () => {
      await refused(dir, ["import", "--weights", "w.safetensors", "--config", "authors.json", "--out", "./authors.json", "--force"], /is --config authors\.json/);
    });
    it("sample whose <out>.npy or <out>.png is the checkpoint: refused", async () => {
      fs.copyFileSync(path.join(dir, "tiny.ckpt"), path.join(dir, "m.npy"));
      fs.copyFileSync(path.join(dir, "tiny.ckpt"), path.join(dir, "p.png"));
      await refused(dir, ["sample", "--checkpoint", "m.npy", "--n", "1", "--steps", "2", "--out", "m", "--force", "--quiet"], /--out .*m\.npy is --checkpoint m\.npy/);
      await refused(dir, ["sample", "--checkpoint", "./p.png", "--n", "1", "--steps", "2", "--out", "p", "--force", "--quiet"], /--out .*p\.png is --checkpoint \.\/p\.png/);
    });
    it("grid, inpaint and superres onto their checkpoint or input image: refused", async () => {
      await refused(dir, ["grid", "--checkpoint", "tiny.ckpt", "--resolutions", "6,12", "--n", "1", "--steps", "2", "--out", "link-tiny.ckpt", "--force"], /is --checkpoint tiny\.ckpt \(the same file\)/);
      for (const cmd of ["inpaint", "superres"]) {
        await refused(dir, [cmd, "--checkpoint", "tiny.ckpt", "--input", "in.png", "--steps", "2", "--out", path.join(dir, "in.png"), "--force"], /--out .*in\.png is --input in\.png, which this command reads/);
      }
    });
    it("train on a fresh run whose --config is the run's own config.json: refused", async () => {
      fs.mkdirSync(path.join(dir, "fresh"));
      fs.copyFileSync(path.join(dir, "tiny.json"), path.join(dir, "fresh", "config.json"));
      await refused(dir, ["train", "--config", "fresh/config.json", "--run", "fresh", "--quiet"], /config\.json is --config fresh\/config\.json/);
      fs.rmSync(path.join(dir, "fresh"), { recursive: true });
    });
    it("train-ae into an ∞-Diff run folder (it would replace its log and config): refused", async () => {
      await refused(dir, ["train-ae", "--config", "tiny.json", "--run", "run", "--quiet"], /holds an ∞-Diff training run/);
    });
  });

  it("case 3: eval --samples of no samples ([2,0,0,1], [0,…], [1,…]) is refused, not scored", async () => {
    for (const shape of [[2, 0, 0, 1], [0, 12, 12, 1], [1, 12, 12, 1]]) {
      fs.writeFileSync(path.join(dir, "empty.npy"), encodeNpy(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape));
      await refused(dir, ["eval", "--samples", "empty.npy", "--json", "e.json"], /FID needs N ≥ 2 samples of H, W ≥ 1/);
    }
    fs.unlinkSync(path.join(dir, "empty.npy"));
  });

  it("case 4: import of weights holding NaN, ±∞ or an F64 beyond float32 is refused, nothing written", async () => {
    const st = decodeSafetensors(fs.readFileSync(path.join(dir, "w.safetensors")));
    const entries = [...st.tensors.entries()].map(([k, t]) => [k, { shape: t.shape, values: t.values.slice() }] as [string, { shape: number[]; values: Float32Array }]);
    for (const v of [NaN, Infinity, -Infinity]) {
      const e = entries.map(([k, t], i) => [k, i === 3 ? { shape: t.shape, values: t.values.map((x, j) => (j === 0 ? v : x)) } : t] as [string, typeof t]);
      fs.writeFileSync(path.join(dir, "bad.safetensors"), encodeSafetensors(e));
      await refused(dir, ["import", "--weights", "bad.safetensors", "--config", "authors.json", "--out", "bad.ckpt"], /weights bad\.safetensors holds 1 non-finite weights/);
    }
    // an F64 tensor whose value overflows float32: hand-built, the lab writes F32 only
    const [name0, t0] = entries[0];
    const f64 = Buffer.alloc(8 * t0.values.length);
    t0.values.forEach((x, i) => f64.writeDoubleLE(i === 0 ? 1e300 : x, 8 * i));
    const rest = encodeSafetensors(entries.slice(1));
    const hdr = JSON.parse(rest.subarray(8, 8 + Number(rest.readBigUInt64LE(0))).toString());
    const shift = f64.length;
    for (const k of Object.keys(hdr)) hdr[k].data_offsets = hdr[k].data_offsets.map((o: number) => o + shift);
    hdr[name0] = { dtype: "F64", shape: t0.shape, data_offsets: [0, shift] };
    const json = Buffer.from(JSON.stringify(hdr));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    fs.writeFileSync(path.join(dir, "bad.safetensors"), Buffer.concat([len, json, f64, rest.subarray(8 + Number(rest.readBigUInt64LE(0)))]));
    await refused(dir, ["import", "--weights", "bad.safetensors", "--config", "authors.json", "--out", "bad.ckpt"], /holds 1 non-finite weights/);
    fs.unlinkSync(path.join(dir, "bad.safetensors"));
  });

  it("case 4': the Python exporter refuses non-finite weights and its own input as output (where torch is installed)", function () {
    const py = "/usr/bin/python3";
    if (!fs.existsSync(py) || spawnSync(py, ["-c", "import torch, numpy"]).status !== 0) this.skip();
    const script = path.resolve(__dirname, "../../../scripts/export-authors-weights.py");
    const make = "import sys, torch\ntorch.save({'model_ema_state_dict': {'a': torch.tensor([1.0, float('nan')])}}, sys.argv[1])";
    assert.equal(spawnSync(py, ["-c", make, path.join(dir, "nan.pth")]).status, 0);
    let r = spawnSync(py, [script, path.join(dir, "nan.pth"), path.join(dir, "nan.safetensors")], { encoding: "utf8" });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /non-finite/);
    assert.ok(!fs.existsSync(path.join(dir, "nan.safetensors")));
    r = spawnSync(py, [script, path.join(dir, "nan.pth"), path.join(dir, "./nan.pth")], { encoding: "utf8" });
    assert.equal(r.status, 2, r.stderr);
    fs.unlinkSync(path.join(dir, "nan.pth"));
  });

  it("case 5: sample --out newdir/x makes the folder (as grid does) and writes there", async () => {
    const r = await inProcess(["sample", "--checkpoint", "tiny.ckpt", "--resolution", "6", "--n", "1", "--steps", "2", "--out", "newdir/deeper/x", "--quiet"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.existsSync(path.join(dir, "newdir/deeper/x.npy")) && fs.existsSync(path.join(dir, "newdir/deeper/x.png")));
    fs.rmSync(path.join(dir, "newdir"), { recursive: true });
  });

  describe("case 6: train --steps below the run's step", () => {
    for (const quiet of [[], ["--quiet"]]) {
      it(`train --run R --steps 1 on a run at step 2 ${quiet.join(" ")}: one line, exit 2, the run untouched`, async () => {
        await refused(dir, ["train", "--run", "run", "--steps", "1", ...quiet], /run run is already at step 2, past --steps 1/);
      });
    }
    it("train --run R --steps N at step N: exit 0, says so, writes nothing", async () => {
      const before = snapshot(dir);
      const r = await inProcess(["train", "--run", "run", "--steps", "2"], dir);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /already at step 2; nothing to do/);
      assert.deepEqual(snapshot(dir), before);
    });
  });

  it("case 7: an old-layout checkpoint whose header is {\"version\":1}, null or a bad table: one line, exit 2", async () => {
    for (const header of ['{"version":1}', "null", '{"version":1,"meta":{},"tensors":[{"group":"ema","name":"w","shape":[2],"offset":5,"length":2}]}', '{"tensors":7}', "[]"]) {
      const h = Buffer.from(header);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(h.length);
      fs.writeFileSync(path.join(dir, "old.ckpt"), Buffer.concat([Buffer.from("INFTYCK1"), len, h, Buffer.alloc((4 - ((12 + h.length) % 4)) % 4), Buffer.alloc(8)]));
      for (const cmd of [["sample", "--n", "1", "--steps", "2", "--out", "o"], ["grid", "--n", "1", "--steps", "2", "--out", "o.png"], ["eval", "--n", "2", "--steps", "2"]]) {
        await refused(dir, [...cmd, "--checkpoint", "old.ckpt"], /corrupt checkpoint old\.ckpt: /);
      }
    }
    fs.unlinkSync(path.join(dir, "old.ckpt"));
  });

  it("case 8: a config with a __proto__ (or constructor) key is refused as unknown, not ignored", async () => {
    for (const key of ["__proto__", "constructor", "toString"]) {
      for (const where of ["top", "model"]) {
        const text = where === "top" ? JSON.stringify(TINY).replace(/^\{/, `{"${key}": {"x": 1},`)
          : JSON.stringify(TINY).replace('"model":{', `"model":{"${key}": 1,`);
        fs.writeFileSync(path.join(dir, "proto.json"), text);
        await refused(dir, ["train", "--config", "proto.json", "--run", "proto-run"], new RegExp(`unknown key '${key}'`));
      }
    }
    fs.unlinkSync(path.join(dir, "proto.json"));
  });

  describe("case 9: NaN weights are refused before anything is written", () => {
    it("resuming a run whose checkpoint holds NaN: exit 2, commands.jsonl, log.jsonl and config.json untouched", async () => {
      fs.cpSync(path.join(dir, "run"), path.join(dir, "nanrun"), { recursive: true });
      const ck = loadCheckpoint(path.join(dir, "nanrun", "checkpoint.bin"));
      Object.values(ck.groups.params)[0].values[0] = NaN;
      saveCheckpoint(path.join(dir, "nanrun", "checkpoint.bin"), ck);
      await refused(dir, ["train", "--run", "nanrun", "--steps", "4", "--quiet"], /nanrun\/checkpoint\.bin holds 1 non-finite weights/);
      fs.rmSync(path.join(dir, "nanrun"), { recursive: true });
    });
    it("train-ae --init-from a NaN checkpoint: exit 2, no run folder made", async () => {
      const ck = loadCheckpoint(path.join(dir, "tiny.ckpt"));
      Object.values(ck.groups.ema)[2].values.fill(NaN);
      saveCheckpoint(path.join(dir, "nan.ckpt"), ck);
      await refused(dir, ["train-ae", "--config", "tiny.json", "--run", "ae-nan", "--init-from", "nan.ckpt", "--quiet"], /--init-from nan\.ckpt holds \d+ non-finite weights/);
      fs.unlinkSync(path.join(dir, "nan.ckpt"));
    });
  });

  describe("case 10: space asked for up front, logs end at the checkpoint, BOM, honest byte counts", () => {
    it("train refuses a run its checkpoints cannot fit before any step (real tmpfs, where mount is allowed)", async function () {
      const small = path.join(dir, "small");
      fs.mkdirSync(small);
      if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", small]).status !== 0) this.skip();
      try {
        const before = snapshot(dir);
        const r = infty(["train", "--config", "../tiny.json", "--run", "r", "--steps", "3"], small, 60000);
        assert.equal(r.code, 2, r.stderr);
        assert.match(errorLines(r.stderr)[0], /--run r needs about [\d.]+ (MiB|bytes) \(a [\d.]+ (MiB|bytes) checkpoint written beside the last one\) but the file system has \d+ bytes free/);
        assert.equal(errorLines(r.stderr).length, 1);
        assert.deepEqual(snapshot(dir), before);
      } finally {
        spawnSync("umount", [small]);
      }
    });
    it("a checkpoint write that fails cuts the log back to the last kept checkpoint", async () => {
      await initBackend("wasm", { quiet: true });
      const runDir = path.join(dir, "cut");
      const orig = Trainer.prototype.saveAsync;
      let calls = 0;
      Trainer.prototype.saveAsync = async function (this: Trainer, file: string) {
        if (++calls === 2) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
        return orig.call(this, file);
      };
      try {
        await assert.rejects(train({ runDir, config: tinyConfig({ steps: 6, checkpointEvery: 2, logEvery: 1 }), data: tinyData(8), progress: false }), /ENOSPC/);
      } finally {
        Trainer.prototype.saveAsync = orig;
      }
      assert.equal(loadCheckpoint(path.join(runDir, "checkpoint.bin")).meta.step, 2);
      assert.deepEqual(readLog(runDir).map((r) => r.step), [1, 2]);
      fs.rmSync(runDir, { recursive: true });
    });
    it("a config starting with a byte-order mark loads as the same config; a bad one is one line", () => {
      const bom = path.join(dir, "bom.json");
      fs.writeFileSync(bom, "\ufeff" + JSON.stringify(TINY, null, 2));
      assert.deepEqual(loadConfigFile(bom), loadConfigFile(path.join(dir, "tiny.json")));
      fs.writeFileSync(bom, "\ufeff{\n  \"model\": {\n  oops\n}");
      assert.throws(() => loadConfigFile(bom), (e: Error) => e.name === "UsageError" && !e.message.includes("\n"));
      fs.unlinkSync(bom);
    });
    it("free space under 1 MiB is shown in bytes, not as 0.0 MiB", () => {
      assert.equal(formatBytes(40000), "40000 bytes");
      assert.equal(formatBytes(3 * 2 ** 20), "3.0 MiB");
      assert.equal(formatBytes(5 * 2 ** 30), "5.0 GiB");
    });
  });
});
