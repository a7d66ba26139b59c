/** `infty train-ae`: bad input → one line, exit 2, no run written; a tiny run trains, resumes, warm-starts. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend, tf, Trainer, AutoencoderTrainer, resolveAutoencoderConfig, loadModel, fullGrid, readNpy, loadCheckpoint, loadAutoencoder, sampleAutoencoder } from "infty-diff-lab";
import { tinyConfig, tinyData } from "../helpers/tiny";
import { infty, expectOneLineError } from "../helpers/cli";

describe("CLI train-ae and the warm start", function () {
  this.timeout(120000);
  let dir: string;
  before(async () => {
    await initBackend("wasm", { quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "infty-trainae-"));
    const cfg = tinyConfig({ steps: 2, checkpointEvery: 1 });
    fs.writeFileSync(path.join(dir, "tiny.json"), JSON.stringify(cfg));
    fs.writeFileSync(path.join(dir, "other.json"), JSON.stringify(tinyConfig({}, { nf: 4 })));
    fs.writeFileSync(path.join(dir, "ae.json"), JSON.stringify({ zDim: 4, latentWidth: 8, latentDepth: 1 }));
    fs.writeFileSync(path.join(dir, "ae-bad.json"), JSON.stringify({ zdim: 4 }));
    fs.writeFileSync(path.join(dir, "broken.json"), "{ not json");
    const trainer = new Trainer(cfg, tinyData(8));
    trainer.trainStep();
    trainer.save(path.join(dir, "tiny.ckpt"));
    trainer.dispose();
  });

  const cases: Array<[string, string[], RegExp]> = [
    ["unknown autoencoder key", ["--config", "tiny.json", "--autoencoder", "ae-bad.json"], /autoencoder: unknown key .zdim./],
    ["unreadable autoencoder config", ["--config", "tiny.json", "--autoencoder", "none.json"], /cannot read autoencoder config none.json/],
    ["broken JSON", ["--config", "tiny.json", "--autoencoder", "broken.json"], /broken.json is not valid JSON/],
    ["missing --init-from", ["--config", "tiny.json", "--init-from", "nope.ckpt"], /--init-from nope.ckpt does not exist/],
    ["--init-from with another model", ["--config", "other.json", "--init-from", "tiny.ckpt"], /another model config/],
    ["steps < 1", ["--config", "tiny.json", "--steps", "0"], /--steps.*must be ≥ 1/],
  ];
  for (const [name, args, pattern] of cases) {
    it(`${name}: one line, exit 2, no run written`, () => {
      const r = infty(["train-ae", ...args, "--run", "err-run", "--quiet"], dir);
      expectOneLineError(r, pattern);
      assert.ok(!fs.existsSync(path.join(dir, "err-run")));
    });
  }

  it("trains a warm-started run, refuses new configs on resume, resumes to more steps", () => {
    let r = infty(["train-ae", "--config", "tiny.json", "--autoencoder", "ae.json", "--init-from", "tiny.ckpt", "--run", "ae", "--quiet"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /to step 2/);
    r = infty(["train-ae", "--run", "ae", "--config", "tiny.json", "--quiet"], dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /already holds a run/);
    r = infty(["train-ae", "--run", "ae", "--steps", "3", "--quiet"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /from step 2 to step 3/);
    const log = fs.readFileSync(path.join(dir, "ae", "log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l).step);
    assert.deepEqual(log, [1, 2, 3]);
    assert.equal(fs.readFileSync(path.join(dir, "ae", "commands.jsonl"), "utf8").trim().split("\n").length, 2, "the refused command is not recorded");
  });

  it("infty sample draws from an autoencoder checkpoint (latent model → decoder) at any H×W, in batches", () => {
    let r = infty(["sample", "--checkpoint", "ae/autoencoder.ckpt", "--resolution", "20x24", "--n", "3", "--batch", "2", "--steps", "2", "--out", "aes", "--quiet"], dir);
    assert.equal(r.code, 0, r.stderr);
    const npy = readNpy(path.join(dir, "aes.npy"));
    assert.deepEqual(npy.shape, [3, 20, 24, 1]);
    assert.ok(npy.values.every((v: number) => Number.isFinite(v) && v >= -1 && v <= 1));
    r = infty(["sample", "--checkpoint", "ae/autoencoder.ckpt", "--sampler", "ddpm", "--out", "bad", "--quiet"], dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /DDIM η = 0 only/);
    assert.ok(!fs.existsSync(path.join(dir, "bad.png")));
  });

  it("infty export writes an autoencoder run's weights without optimizer state; the file samples like the run", async () => {
    const r = infty(["export", "--run", "ae", "--out", "ae-model.ckpt"], dir);
    assert.equal(r.code, 0, r.stderr);
    const meta = loadCheckpoint(path.join(dir, "ae-model.ckpt")).meta;
    assert.equal(meta.kind, "infty-diff-autoencoder");
    assert.equal(meta.step, 3);
    assert.ok(Number(meta.wallSeconds) > 0 && String(meta.initFrom).endsWith("tiny.ckpt"));
    assert.deepEqual(Object.keys(loadCheckpoint(path.join(dir, "ae-model.ckpt")).groups).sort(), ["encoder", "latent", "params"]);
    assert.ok(fs.statSync(path.join(dir, "ae-model.ckpt")).size < fs.statSync(path.join(dir, "ae", "autoencoder.ckpt")).size / 2);
    const a = loadAutoencoder(path.join(dir, "ae-model.ckpt")), b = loadAutoencoder(path.join(dir, "ae", "autoencoder.ckpt"));
    const xa = await sampleAutoencoder(a.model, { n: 2, resolution: 12, steps: 2, seed: 3 });
    const xb = await sampleAutoencoder(b.model, { n: 2, resolution: 12, steps: 2, seed: 3 });
    assert.deepEqual(Array.from(xa.dataSync()), Array.from(xb.dataSync()));
    tf.dispose([xa, xb]);
    a.model.dispose(); b.model.dispose();
  });

  it("a warm start predicts exactly what the unconditional model does, for any z", () => {
    const cfg = tinyConfig({ steps: 2, checkpointEvery: 1 });
    const ae = new AutoencoderTrainer(cfg, resolveAutoencoderConfig({ zDim: 4, latentWidth: 8, latentDepth: 1 }), tinyData(8));
    const plain = loadModel(path.join(dir, "tiny.ckpt"));
    try {
      ae.warmStart(path.join(dir, "tiny.ckpt"));
      const set = fullGrid(2, 12, 12);
      const c1 = ae.model.net.context(set), c2 = plain.net.context(set);
      const x = tf.randomNormal([2, 144, 1], 0, 1, "float32", 3) as tf.Tensor3D;
      const t = tf.tensor1d([5, 700], "int32");
      const z = tf.randomNormal([2, 4], 0, 3, "float32", 4) as tf.Tensor2D;
      const cond = ae.model.condition(z);
      const a = ae.model.net.apply(x, c1, t, { dropoutRng: null, cond });
      const b = plain.net.apply(x, c2, t, { dropoutRng: null });
      const err = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
      assert.ok(err < 1e-6, `warm-started decoder differs from the unconditional model by ${err}`);
      assert.ok(tf.max(tf.abs(b)).dataSync()[0] > 1e-3, "the comparison is not trivial");
      tf.dispose([x, t, z, cond, a, b]);
      c1.dispose(); c2.dispose();
    } finally {
      ae.dispose();
      plain.net.dispose();
    }
  });
});
