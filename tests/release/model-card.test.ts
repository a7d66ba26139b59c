import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { projectRoot, loadCheckpoint } from "infty-diff-lab";
import { modelCardMarkdown } from "infty-diff-lab/release";

describe("model card", () => {
  const root = projectRoot();
  const checkpoint = "data/checkpoints/fashion-mnist.ckpt";

  it("describes the shipped file from its own record: checksum, parameters, steps, config, commands", () => {
    const md = modelCardMarkdown({ root, checkpoint, evalDir: "data/checkpoints/fashion-mnist.eval" });
    const bytes = fs.readFileSync(path.join(root, checkpoint));
    assert.ok(md.includes(crypto.createHash("sha256").update(bytes).digest("hex")), "sha256 of the file");
    const ck = loadCheckpoint(path.join(root, checkpoint));
    const params = Object.values(ck.groups.ema).reduce((s, t) => s + t.values.length, 0);
    assert.ok(md.includes(`${params.toLocaleString("en-US")} parameters`), "parameter count of the EMA weights");
    const meta = ck.meta as { step: number; trainedCommands: { command: string }[] };
    assert.ok(md.includes(`| training | ${meta.step.toLocaleString("en-US")} steps, batch 32`), "steps and batch");
    for (const c of meta.trainedCommands) assert.ok(md.includes(c.command), c.command);
    assert.match(md, /## Evaluation/);
    assert.match(md, /\| ∞-Diff samples, DDIM 100 steps \(step [\d,]+\) \| [\d.]+/, "quality bar from the eval folder");
    assert.match(md, /\| 112×112 \| /, "resolution rows from the eval folder");
    assert.match(md, /\| samples \(step [\d,]+, DDIM \d+\) \| 1,000 \| [\d.]+ \|/, "memorisation check from the eval folder");
  });

  it("leaves out what has no result files, and refuses a file that is not an exported model", () => {
    const md = modelCardMarkdown({ root, checkpoint, evalDir: "nowhere", curveDir: "nowhere" });
    assert.doesNotMatch(md, /## Evaluation/);
    assert.match(md, /## Limits/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "infty-card-"));
    fs.copyFileSync(path.join(root, "data/checkpoints/ae-procedural-16.ckpt"), path.join(dir, "ae.ckpt"));
    assert.throws(() => modelCardMarkdown({ root: dir, checkpoint: "ae.ckpt" }), /ae\.ckpt: not an exported ∞-Diff model \(kind 'infty-diff-autoencoder'\)/);
  });
});
