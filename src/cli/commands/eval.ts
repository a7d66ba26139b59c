/**
 * `infty eval`: FID and KID (the lab's Fashion-MNIST feature net) of samples against the test set. Samples come from
 * a .npy written by `infty sample`, or are drawn from a checkpoint at a chosen resolution; any resolution is
 * area-resized to 28×28 before feature extraction (as FID_CLIP resizes to 224).
 */
import { Command } from "../command";
import { UsageError } from "../errors";
import { bool, choice, flagsHelp, int, parseFlags, str } from "../args";
import { backendFlag, checkHeldSamples, checkpointConfig, checkSteps, chooseBatch, LIMITS, loadModelChecked, parseResolution, seedFlag, startBackend } from "../inputs";
import { guardFiles } from "../guard";
import { dataPath } from "../../lib/data/paths";
import { readNpy } from "../../lib/runtime/npy";
import { sampleModel } from "../../lib/pipelines/sample";
import { loadFashionMnist } from "../../lib/data/fashion-mnist";
import { ImageSet, gaussianBlur } from "../../lib/data/image-ops";
import { fidBetweenImages, fidBootstrap, kid as kidOf } from "../../lib/eval/metrics";
import { sharedFeatureNet } from "../../lib/eval/feature-net";
import { writeFileAtomic } from "../../lib/runtime/checkpoint";
import { DdimGrid } from "../../lib/config/config";
import { currentBackend, tf } from "../../lib/runtime/backend";

const FLAGS = {
  samples: str(".npy of samples [N,H,W,1] in [−1,1] (instead of --checkpoint)"),
  checkpoint: str("draw samples from this checkpoint"),
  resolution: str("sampling resolution with --checkpoint", { default: "28" }),
  n: int("samples to draw with --checkpoint; test images compared", { min: 1, max: LIMITS.evalSamples, default: 1000, why: "FID holds every sample in memory" }),
  steps: int("DDIM steps with --checkpoint (≤ the model's T)", { min: 1, max: LIMITS.steps, default: 100 }),
  "ddim-grid": choice("DDIM step grid with --checkpoint: even (T−1 … 0) | ddim-stride (the authors' ddimN); default the checkpoint's", ["even", "ddim-stride"] as const),
  "clip-tx0": choice("clip Tx̂₀ to [−1, 1] at each DDIM step with --checkpoint: on | off; default the checkpoint's", ["on", "off"] as const),
  batch: int("sampling batch (default: the largest up to 50 that fits in memory)", { min: 1, max: LIMITS.batch }),
  seed: seedFlag(),
  json: str("also write the result as JSON to this file"),
  force: bool("replace an existing --json file"),
  baselines: bool("also report, with the same number of images, FID/KID of held-out train images and of the test set blurred with σ = 1 px"),
  backend: backendFlag(),
  workers: int("worker threads splitting each sampling batch (same samples up to float order)", { min: 1, max: 64, default: 1 }),
  quiet: bool("no progress bar"),
};

export const evalCommand: Command = {
  name: "eval",
  summary: "FID/KID of samples (or of a checkpoint) against the Fashion-MNIST test set",
  usage: `usage: infty eval (--samples s.npy | --checkpoint file [--resolution r]) [options]\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    if (f._.length) throw new UsageError(`unexpected argument '${f._[0]}'`);
    if (!!f.samples === !!f.checkpoint) throw new UsageError("give exactly one of --samples or --checkpoint");
    guardFiles({
      reads: [{ flag: "--samples", file: f.samples }, { flag: "--checkpoint", file: f.checkpoint },
        ...["model.json", "weights.bin"].map((n) => ({ flag: "the feature net", file: dataPath("feature-net", n) }))],
      writes: f.json !== undefined ? [{ flag: "--json", file: f.json, force: f.force }] : [],
    });
    let samples: ImageSet;
    let source: Record<string, unknown>;
    if (f.samples !== undefined) {
      let arr;
      try {
        arr = readNpy(f.samples);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      if (arr.shape.length !== 4 || arr.shape[3] !== 1) throw new UsageError(`${f.samples}: expected shape [N,H,W,1], got [${arr.shape.join(",")}]`);
      // FID needs two samples or more (a covariance), each at least one pixel; an empty array has no score
      if (arr.shape[0] < 2 || arr.shape[1] < 1 || arr.shape[2] < 1) {
        throw new UsageError(`${f.samples}: FID needs N ≥ 2 samples of H, W ≥ 1, got shape [${arr.shape.join(",")}]`);
      }
      if (arr.shape[0] > LIMITS.evalSamples) throw new UsageError(`${f.samples}: at most ${LIMITS.evalSamples} samples, got ${arr.shape[0]}`);
      if (arr.values.some((v) => !Number.isFinite(v))) throw new UsageError(`${f.samples} holds non-finite values (NaN/∞)`);
      await startBackend(f.backend);
      samples = { images: arr.values, shape: arr.shape as [number, number, number, number] };
      source = { samples: f.samples };
    } else {
      const [H, W] = parseResolution(f.resolution);
      const checkpoint = f.checkpoint ?? "";
      const { cfg } = checkpointConfig(checkpoint);
      checkSteps(f.steps, cfg, "--steps", f["ddim-grid"] ?? cfg.diffusion.ddimGrid);
      checkHeldSamples(f.n, H, W, cfg.model.channels);
      await startBackend(f.backend);
      const batch = chooseBatch(cfg, f.batch === undefined ? undefined : Math.min(f.batch, f.n), Math.min(50, f.n), H, W, "eval");
      const model = loadModelChecked(checkpoint);
      // a sampling choice, not a property of the weights: override the checkpoint's config for this run only
      const clip = f["clip-tx0"];
      const sampleCfg = clip === undefined ? model.cfg : { ...model.cfg, diffusion: { ...model.cfg.diffusion, clipTx0: clip === "on" } };
      try {
        const out = await sampleModel(model.net, sampleCfg, {
          resolution: [H, W], n: f.n, batchSize: batch, steps: f.steps, seed: f.seed, progress: !f.quiet, workers: f.workers,
          ddimGrid: f["ddim-grid"],
        });
        samples = out.x0;
        const d = sampleCfg.diffusion;
        source = {
          checkpoint, step: model.step, resolution: [H, W], steps: f.steps, seed: f.seed,
          ddimGrid: f["ddim-grid"] ?? d.ddimGrid, clipTx0: d.clipTx0,
          knnWeights: model.cfg.model.knnWeights, kernelResampling: model.cfg.model.kernelResampling, sampleSeconds: out.seconds, backend: currentBackend()?.name ?? tf.getBackend(),
        };
      } finally {
        model.net.dispose();
      }
      if (samples.images.some((v) => !Number.isFinite(v))) throw new Error("the samples are not finite (NaN/∞); no result written");
    }
    // the reference: the first min(N, 5000) test images (the rest stay disjoint for the blurred baseline)
    const test = loadFashionMnist({ split: "test", limit: Math.min(5000, samples.shape[0]) });
    const net = sharedFeatureNet();
    const [sampleFeatures, testFeatures] = [await net.features(samples), await net.features(test)];
    const kid = kidOf(sampleFeatures, testFeatures);
    // the spread of FID over the samples (the reference fixed): a difference inside it is not a finding
    const boot = fidBootstrap(sampleFeatures, testFeatures, { seed: f.seed });
    const fid = boot.fid;
    const result: Record<string, unknown> = {
      ...source, n: samples.shape[0], nTest: test.shape[0], fid, kid: kid.mean, kidStd: kid.std,
      fidStd: boot.std, fidInterval95: boot.interval95, fidBootstrapBias: boot.bias, fidBootstrapResamples: boot.resamples,
    };
    if (f.baselines) {
      // the quality bar's references, at the same sample count (FID is biased upwards at small n)
      const n = samples.shape[0];
      const holdout = loadFashionMnist({ split: "holdout", limit: n });
      // blurred test images disjoint from the reference slice, like samples are
      const blurred = gaussianBlur(loadFashionMnist({ split: "test", offset: test.shape[0], limit: n }), 1);
      result.baselines = {
        holdoutFid: await fidBetweenImages(holdout, test),
        blurredTestFid: await fidBetweenImages(blurred, test),
      };
    }
    console.log(JSON.stringify(result));
    if (f.json !== undefined) writeFileAtomic(f.json, JSON.stringify(result, null, 2) + "\n");
  },
};
