/**
 * Training the feature network on Fashion-MNIST `train-fit` (the 5,000-image `holdout` slice stays unseen, so FID
 * sanity checks can use it as "real data the net never fitted"). Adam, softmax cross-entropy, seeded shuffles.
 */
import { currentBackend, tf } from "../runtime/backend";
import { Rng } from "../runtime/rng";
import { imageBatch, ImageSet } from "../data/image-ops";
import { loadFashionMnist } from "../data/fashion-mnist";
import { FEATURE_CLASSES, FeatureNet, FeatureNetRecord } from "./feature-net";
import { deepFreeze, int, num, obj, parseWith, z } from "../config/schema";

const FEATURE_TRAIN_SCHEMA = obj({
  epochs: int(1),
  batchSize: int(1),
  learningRate: num(0, 1, { minExclusive: true, maxExclusive: true }),
  seed: int(0),
  /** use only the first `limit` training images (tests); 0 = all of train-fit */
  limit: int(0),
});

/** The feature network's training settings (declared once, FEATURE_TRAIN_SCHEMA). */
export type FeatureTrainConfig = z.infer<typeof FEATURE_TRAIN_SCHEMA>;

/** The settings the shipped feature net was trained with. */
export const DEFAULT_FEATURE_TRAIN: Readonly<FeatureTrainConfig> = Object.freeze({
  epochs: 4, batchSize: 64, learningRate: 1e-3, seed: 0, limit: 0,
});


/** Validates a (partial) config: unknown keys and out-of-range values are errors (schema.ts). Returns a frozen full config. */
export function validateFeatureTrainConfig(raw: Record<string, unknown>): Readonly<FeatureTrainConfig> {
  return deepFreeze(parseWith(FEATURE_TRAIN_SCHEMA, raw, "featureNet", { defaults: DEFAULT_FEATURE_TRAIN }));
}

/** Progress of feature-net training, for a progress callback. */
export interface FeatureTrainProgress { epoch: number; step: number; stepsPerEpoch: number; loss: number; elapsed: number }

/** Mean softmax cross-entropy. logits [B, 10], labels [B] int32 → scalar. */
function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, FEATURE_CLASSES), logits) as tf.Scalar);
}

/**
 * Trains a fresh network; reports progress every `logEvery` steps (one read per report). Returns the net and the
 * record (test accuracy on the full 10,000-image test set).
 */
export async function trainFeatureNet(
  cfgIn: Partial<FeatureTrainConfig>,
  opts: { command?: string; logEvery?: number; onProgress?: (p: FeatureTrainProgress) => void; train?: ImageSet; test?: ImageSet } = {},
): Promise<{ net: FeatureNet; record: FeatureNetRecord }> {
  const cfg = validateFeatureTrainConfig(cfgIn as Record<string, unknown>);
  const rng = new Rng(cfg.seed);
  const train = opts.train ?? loadFashionMnist({ split: "train-fit", limit: cfg.limit || undefined });
  const test = opts.test ?? loadFashionMnist({ split: "test" });
  const net = new FeatureNet(rng.fork());
  const opt = tf.train.adam(cfg.learningRate);
  const n = train.shape[0];
  const steps = Math.ceil(n / cfg.batchSize);
  const logEvery = opts.logEvery ?? 100;
  const t0 = Date.now();
  const lossByEpoch: number[] = [];
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    const perm = rng.permutation(n);
    let epochSum = tf.scalar(0);
    let windowSum = tf.scalar(0), windowN = 0;
    for (let s = 0; s < steps; s++) {
      const idx = perm.subarray(s * cfg.batchSize, Math.min(n, (s + 1) * cfg.batchSize));
      const x = imageBatch(train, idx); // [B, 28, 28, 1]
      const y = tf.tensor1d(Array.from(idx, (i) => train.labels![i]), "int32"); // [B]
      const loss = opt.minimize(() => crossEntropy(net.logits(x), y), true, net.params.variables()) as tf.Scalar;
      const [e2, w2] = tf.tidy(() => [epochSum.add(loss.mul(idx.length)), windowSum.add(loss)]);
      tf.dispose([x, y, loss, epochSum, windowSum]);
      epochSum = e2 as tf.Scalar; windowSum = w2 as tf.Scalar; windowN++;
      if (opts.onProgress && (windowN === logEvery || s === steps - 1)) {
        const l = (await windowSum.data())[0] / windowN;
        opts.onProgress({ epoch, step: s + 1, stepsPerEpoch: steps, loss: l, elapsed: (Date.now() - t0) / 1000 });
        windowSum.dispose(); windowSum = tf.scalar(0); windowN = 0;
      }
    }
    lossByEpoch.push((await epochSum.data())[0] / n);
    tf.dispose([epochSum, windowSum]);
  }
  opt.dispose();
  const testAccuracy = await net.accuracy(test);
  const record: FeatureNetRecord = {
    command: opts.command ?? "trainFeatureNet",
    epochs: cfg.epochs, batchSize: cfg.batchSize, learningRate: cfg.learningRate, seed: cfg.seed,
    trainImages: n, testAccuracy, wallSeconds: (Date.now() - t0) / 1000,
    backend: currentBackend()?.name ?? tf.getBackend(), date: new Date().toISOString(), lossByEpoch,
  };
  net.record = record;
  return { net, record };
}
