/**
 * `infty eval`: FID and KID (the lab's Fashion-MNIST feature net) of samples against the test set. Samples come from
 * a .npy written by `infty sample`, or are drawn from a checkpoint at a chosen resolution; any resolution is
 * area-resized to 28×28 before feature extraction (as FID_CLIP resizes to 224).
 */
import { Command } from "../command";
import { UsageError } from "../errors";
import { flagsHelp, FlagSpecs, parseFlags } from "../args";
import { initBackend } from "../../lib/backend";
import { readNpy } from "../../lib/npy";
import { loadModel, sampleModel } from "../../lib/sample";
import { loadFashionMnist } from "../../lib/data/fashion-mnist";
import { ImageSet, gaussianBlur } from "../../lib/data/image-ops";
import { fidBetweenImages, kidBetweenImages } from "../../lib/eval/metrics";
import { parseResolution } from "./sample";
import { writeFileAtomic } from "../../lib/checkpoint";
import { DdimGrid } from "../../lib/config";

const posInt = (v: number) => (v >= 1 ? null : "must be a positive integer");
const FLAGS: FlagSpecs = {
  samples: { kind: "string", help: ".npy of samples [N,H,W,1] in [−1,1] (instead of --checkpoint)" },
  checkpoint: { kind: "string", help: "draw samples from this checkpoint" },
  resolution: { kind: "string", help: "sampling resolution with --checkpoint", default: "28" },
  n: { kind: "int", help: "samples to draw with --checkpoint; test images compared", default: 1000, check: posInt as never },
  steps: { kind: "int", help: "DDIM steps with --checkpoint", default: 100, check: posInt as never },
  "ddim-grid": {
    kind: "string", help: "DDIM step grid with --checkpoint: even (T−1 … 0) | ddim-stride (the authors' ddimN); default the checkpoint's",
    check: ((v: string) => (v === "even" || v === "ddim-stride" ? null : "must be even or ddim-stride")) as never,
  },
  batch: { kind: "int", help: "sampling batch", default: 50, check: posInt as never },
  seed: { kind: "int", help: "seed", default: 0 },
  json: { kind: "string", help: "also write the result as JSON to this file" },
  baselines: { kind: "boolean", help: "also report, with the same number of images, FID/KID of held-out train images and of the test set blurred with σ = 1 px" },
  backend: { kind: "string", help: "tensorflow | wasm | cpu" },
  workers: {
    kind: "int", default: 1, help: "worker threads splitting each sampling batch (same samples up to float order)",
    check: ((v: number) => (v >= 1 && v <= 64 ? null : "must be in 1..64")) as never,
  },
  quiet: { kind: "boolean", help: "no progress bar" },
};

export const evalCommand: Command = {
  name: "eval",
  summary: "FID/KID of samples (or of a checkpoint) against the Fashion-MNIST test set",
  usage: `usage: infty eval (--samples s.npy | --checkpoint file [--resolution r]) [options]\n\n${flagsHelp(FLAGS)}`,
  async run(argv: string[]): Promise<void> {
    const f = parseFlags(argv, FLAGS);
    if (f._.length) throw new UsageError(`unexpected argument '${f._[0]}'`);
    if (!!f.samples === !!f.checkpoint) throw new UsageError("give exactly one of --samples or --checkpoint");
    await initBackend(f.backend as string | undefined);
    let samples: ImageSet;
    let source: Record<string, unknown>;
    if (f.samples) {
      let arr;
      try {
        arr = readNpy(f.samples as string);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      if (arr.shape.length !== 4 || arr.shape[3] !== 1) throw new UsageError(`${f.samples}: expected shape [N,H,W,1], got [${arr.shape.join(",")}]`);
      samples = { images: arr.values, shape: arr.shape as [number, number, number, number] };
      source = { samples: f.samples };
    } else {
      const [H, W] = parseResolution(f.resolution as string);
      let model;
      try {
        model = loadModel(f.checkpoint as string);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      try {
        const out = await sampleModel(model.net, model.cfg, {
          resolution: [H, W], n: f.n as number, batchSize: f.batch as number, steps: f.steps as number,
          seed: f.seed as number, progress: !f.quiet, workers: f.workers as number,
          ddimGrid: f["ddim-grid"] as DdimGrid | undefined,
        });
        samples = out.x0;
        const d = model.cfg.diffusion;
        source = {
          checkpoint: f.checkpoint, step: model.step, resolution: [H, W], steps: f.steps, seed: f.seed,
          ddimGrid: (f["ddim-grid"] as string | undefined) ?? d.ddimGrid, clipTx0: d.clipTx0,
          knnWeights: model.cfg.model.knnWeights, kernelResampling: model.cfg.model.kernelResampling, sampleSeconds: out.seconds,
        };
      } finally {
        model.net.dispose();
      }
    }
    // the reference: the first min(N, 5000) test images (the rest stay disjoint for the blurred baseline)
    const test = loadFashionMnist({ split: "test", limit: Math.min(5000, samples.shape[0]) });
    const fid = await fidBetweenImages(samples, test);
    const kid = await kidBetweenImages(samples, test);
    const result: Record<string, unknown> = { ...source, n: samples.shape[0], nTest: test.shape[0], fid, kid: kid.mean, kidStd: kid.std };
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
    if (f.json) writeFileAtomic(f.json as string, JSON.stringify(result, null, 2) + "\n");
  },
};
