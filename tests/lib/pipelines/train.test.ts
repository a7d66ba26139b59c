import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend, tf, Trainer, train, readLog, loadCheckpoint, NonFiniteLossError, CHECKPOINT_FILE, learningRate, snapshotFile } from "infty-diff-lab";
import { tinyConfig, tinyData } from "../../helpers/tiny";

const tmpDir = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `infty-${tag}-`));

describe("training on coordinate subsets", function () {
  this.timeout(300000);
  before(async () => {
    await initBackend("wasm", { quiet: true });
  });

  it("a few dozen steps lower the loss on a tiny set (same evaluation batches before and after)", () => {
    const cfg = tinyConfig({ steps: 40, lr: 3e-3 });
    const trainer = new Trainer(cfg, tinyData(8));
    try {
      const before = trainer.evalLoss(99, 6);
      for (let i = 0; i < 40; i++) trainer.trainStep();
      const after = trainer.evalLoss(99, 6);
      assert.ok(after < 0.8 * before, `loss ${before} → ${after}`);
    } finally {
      trainer.dispose();
    }
  });

  it("a training step leaks no tensors", () => {
    const trainer = new Trainer(tinyConfig(), tinyData(8));
    try {
      trainer.trainStep();
      const n = tf.memory().numTensors;
      trainer.trainStep();
      trainer.trainStep();
      assert.equal(tf.memory().numTensors, n);
    } finally {
      trainer.dispose();
    }
  });

  it("warms the learning rate up linearly, then holds it", () => {
    const cfg = tinyConfig({ warmupSteps: 10, lr: 1e-3 });
    assert.equal(learningRate(cfg, 0), 1e-4);
    assert.ok(Math.abs(learningRate(cfg, 4) - 5e-4) < 1e-12);
    assert.equal(learningRate(cfg, 10), 1e-3);
    assert.equal(learningRate(cfg, 1000), 1e-3);
  });

  it("resumes after a kill with exactly the losses of an uninterrupted run", async () => {
    const cfg = tinyConfig({ steps: 6, checkpointEvery: 2 });
    const data = tinyData(16);
    const straight = await train({ runDir: tmpDir("straight"), config: cfg, data, progress: false });
    const dir = tmpDir("killed");
    // "killed" after step 5: the last checkpoint is at step 4, step 5 is in the log only
    const first = await train({ runDir: dir, config: cfg, data, progress: false, killAfter: 5 });
    assert.equal(first.step, 5);
    assert.equal(loadCheckpoint(path.join(dir, CHECKPOINT_FILE)).meta.step, 4);
    const resumed = await train({ runDir: dir, config: cfg, data, progress: false });
    assert.equal(resumed.resumedFrom, 4);
    assert.deepEqual(resumed.rows.map((r) => r.loss), straight.rows.slice(4).map((r) => r.loss));
    // the log holds each step once, identical to the straight run's
    assert.deepEqual(readLog(dir).map((r) => [r.step, r.loss]), straight.rows.map((r) => [r.step, r.loss]));
  });

  it("keeps a snapshot every keepEvery steps, equal to the checkpoint a run stopped at that step writes", async () => {
    const cfg = tinyConfig({ steps: 6, checkpointEvery: 4 });
    const data = tinyData(8);
    const dir = tmpDir("keep");
    await train({ runDir: dir, config: cfg, data, progress: false, keepEvery: 3 });
    assert.ok(fs.existsSync(snapshotFile(dir, 3)) && fs.existsSync(snapshotFile(dir, 6)));
    assert.deepEqual(fs.readdirSync(path.dirname(snapshotFile(dir, 3))).sort(), ["step-3.bin", "step-6.bin"]);
    const short = tmpDir("keep-short");
    await train({ runDir: short, config: cfg, data, progress: false, steps: 3 });
    const a = loadCheckpoint(snapshotFile(dir, 3)), b = loadCheckpoint(path.join(short, CHECKPOINT_FILE));
    assert.equal(a.meta.step, 3);
    for (const group of ["params", "ema"]) {
      for (const [name, t] of Object.entries(b.groups[group])) assert.deepEqual(a.groups[group][name].values, t.values, `${group}.${name}`);
    }
  });

  it("a resume at a kept step whose snapshot is missing (run folder moved without snapshots) writes it back", async () => {
    const cfg = tinyConfig({ steps: 6, checkpointEvery: 3 });
    const data = tinyData(8);
    const dir = tmpDir("keep-restore");
    await train({ runDir: dir, config: cfg, data, progress: false, steps: 3, keepEvery: 3 });
    const kept = fs.readFileSync(snapshotFile(dir, 3));
    fs.rmSync(path.dirname(snapshotFile(dir, 3)), { recursive: true });
    await train({ runDir: dir, config: cfg, data, progress: false, keepEvery: 3 });
    assert.ok(fs.readFileSync(snapshotFile(dir, 3)).equals(kept), "step-3 snapshot restored byte for byte");
    assert.ok(fs.existsSync(snapshotFile(dir, 6)));
    // not at a kept step: nothing is invented
    const odd = tmpDir("keep-odd");
    await train({ runDir: odd, config: cfg, data, progress: false, steps: 2, keepEvery: 3 });
    await train({ runDir: odd, config: cfg, data, progress: false, steps: 2, keepEvery: 3 });
    assert.ok(!fs.existsSync(path.dirname(snapshotFile(odd, 3))));
  });

  it("refuses to resume a run directory with a different config", async () => {
    const dir = tmpDir("cfg");
    const data = tinyData(8);
    await train({ runDir: dir, config: tinyConfig({ steps: 2 }), data, progress: false });
    await assert.rejects(() => train({ runDir: dir, config: tinyConfig({ steps: 2, lr: 1e-2 }), data, progress: false }), /different config/);
  });

  it("stops on a NaN loss with a clear message and leaves the last checkpoint intact", async () => {
    const dir = tmpDir("nan");
    const cfg = tinyConfig({ steps: 2, checkpointEvery: 2 });
    const good = tinyData(8);
    await train({ runDir: dir, config: cfg, data: good, progress: false });
    const file = path.join(dir, CHECKPOINT_FILE);
    const bytes = fs.readFileSync(file);
    const bad = { ...good, images: good.images.map(() => NaN) };
    await assert.rejects(
      () => train({ runDir: dir, config: cfg, data: bad, steps: 4, progress: false }),
      (e: Error) => e instanceof NonFiniteLossError && /loss is NaN at step 3/.test(e.message),
    );
    assert.ok(fs.readFileSync(file).equals(bytes), "checkpoint changed");
  });
});

describe("EMA warm-up", () => {
  it("forgets the initial weights quickly, then holds the configured decay", () => {
    const { emaDecayAt } = require("infty-diff-lab");
    const cfg = tinyConfig({ emaDecay: 0.999 });
    assert.equal(emaDecayAt(cfg, 0), 0.1);
    assert.ok(Math.abs(emaDecayAt(cfg, 90) - 0.91) < 1e-12);
    assert.equal(emaDecayAt(cfg, 100000), 0.999);
    // share of the initial weights left after 900 steps: negligible with the warm-up, 41 % without
    let left = 1;
    for (let s = 0; s < 900; s++) left *= emaDecayAt(cfg, s);
    assert.ok(left < 0.02, `initial share ${left}`);
  });
});
