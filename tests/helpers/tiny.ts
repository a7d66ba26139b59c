/** A tiny ∞-Diff config and dataset for fast tests (seconds on the cpu/wasm backends). */
import { resolveConfig, LabConfig, proceduralImages, Rng, ImageSet } from "infty-diff-lab";

/** The tiny config as a JSON file a CLI test writes (2 steps, a checkpoint every step). */
export const TINY = {
  model: { resolution: 12, nf: 8, timeEmbDim: 16, sparseBlocks: 1, kernelSize: 3,
    unet: { res: 8, baseChannels: 8, mults: [1, 2], blocksPerLevel: 1, attnRes: [4], dropoutRes: 4, dropout: 0.1, groups: 4 } },
  train: { dataset: "procedural", batchSize: 4, coordRatio: 0.5, steps: 2, checkpointEvery: 1, logEvery: 1, warmupSteps: 0 },
};

export function tinyConfig(train: Record<string, unknown> = {}, model: Record<string, unknown> = {}): LabConfig {
  return resolveConfig({
    model: {
      resolution: 12, nf: 8, timeEmbDim: 16, sparseBlocks: 1, kernelSize: 3, mlpMult: 2,
      unet: { res: 8, baseChannels: 8, mults: [1, 2], blocksPerLevel: 1, attnRes: [4], dropoutRes: 4, dropout: 0.1, groups: 4 },
      ...model,
    },
    train: { dataset: "procedural", batchSize: 4, coordRatio: 0.5, lr: 2e-3, warmupSteps: 0, steps: 6, checkpointEvery: 2, emaDecay: 0.9, logEvery: 1, ...train },
  });
}

export function tinyData(n = 16, res = 12): ImageSet {
  return proceduralImages({ n, height: res, rng: new Rng(123) });
}
