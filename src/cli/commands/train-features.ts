/**
 * `infty train-features`: trains the lab's feature network (FID/KID features) on Fashion-MNIST and writes
 * data/feature-net/{weights.bin, model.json} atomically, with the training record (command, epochs, test accuracy,
 * wall time, backend).
 */
import * as path from "path";
import { Command } from "../command";
import { UsageError } from "../errors";
import { flagsHelp, int, num, parseFlags, SEED_MAX, str } from "../args";
import { backendFlag, LIMITS, startBackend } from "../inputs";
import { guardFiles } from "../guard";
import { dataPath } from "../../lib/data/paths";
import { DEFAULT_FEATURE_TRAIN, FeatureTrainConfig, trainFeatureNet, validateFeatureTrainConfig } from "../../lib/eval/train-feature-net";
import "../../lib/index"; // registers the lab's wasm gradient kernels with the backend

const FLAGS = {
  epochs: int("passes over train-fit (55,000 images)", { min: 1, max: 1000, default: DEFAULT_FEATURE_TRAIN.epochs }),
  batch: int("batch size", { min: 1, max: LIMITS.batch, default: DEFAULT_FEATURE_TRAIN.batchSize }),
  lr: num("Adam learning rate", { min: 0, minOpen: true, max: 0.999999, default: DEFAULT_FEATURE_TRAIN.learningRate }),
  seed: int("random seed", { min: 0, max: SEED_MAX, default: DEFAULT_FEATURE_TRAIN.seed }),
  limit: int("train on the first N images only (0 = all)", { min: 0, max: 55_000, default: 0, why: "train-fit has 55,000 images" }),
  out: str("output directory", { default: "data/feature-net" }),
  backend: backendFlag("tensorflow | webgpu | wasm | cpu (default: fastest available)"),
  "min-accuracy": num("fail (and write nothing) below this test accuracy", { min: 0, max: 1, default: 0 }),
};

export const trainFeatures: Command = {
  name: "train-features",
  summary: "train the FID/KID feature network on Fashion-MNIST",
  usage: `usage: infty train-features [options]\n\nTrains the 128-d feature CNN and writes <out>/weights.bin and <out>/model.json.\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    if (f._.length) throw new UsageError(`unexpected argument '${f._[0]}'`);
    let cfg: Readonly<FeatureTrainConfig>;
    try {
      cfg = validateFeatureTrainConfig({
        epochs: f.epochs, batchSize: f.batch, learningRate: f.lr, seed: f.seed, limit: f.limit,
      });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const out = f.out === "data/feature-net" ? dataPath("feature-net") : path.resolve(f.out);
    // retraining replaces the network (by design, no --force); it reads only the dataset
    guardFiles({
      reads: [],
      writes: ["weights.bin", "model.json"].map((n) => ({ flag: "--out", file: path.join(out, n), state: true })),
      dirs: [{ flag: "--out", dir: out }],
    });
    const info = await startBackend(f.backend);
    const command = `infty train-features ${argv.join(" ")}`.trim();
    const { net, record } = await trainFeatureNet(cfg, {
      command,
      logEvery: 50,
      onProgress: (p) => {
        const done = p.epoch * p.stepsPerEpoch + p.step, total = cfg.epochs * p.stepsPerEpoch;
        const eta = (p.elapsed / done) * (total - done);
        console.error(`epoch ${p.epoch + 1}/${cfg.epochs} step ${p.step}/${p.stepsPerEpoch} loss ${p.loss.toFixed(4)} ` +
          `${(done / p.elapsed).toFixed(1)} it/s ETA ${eta.toFixed(0)}s`);
      },
    });
    try {
      console.error(`test accuracy ${(100 * record.testAccuracy).toFixed(2)}% (${record.wallSeconds.toFixed(0)} s on ${info.name})`);
      if (record.testAccuracy < f["min-accuracy"]) {
        throw new Error(`test accuracy ${record.testAccuracy} below --min-accuracy ${f["min-accuracy"]}; nothing written`);
      }
      net.save(out, record);
      console.log(path.join(out, "model.json"));
    } finally {
      net.dispose();
    }
  },
};
