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
import { ImageSet } from "../../lib/data/image-ops";
import { fidBetweenImages, kidBetweenImages } from "../../lib/eval/metrics";
import { parseResolution } from "./sample";
import { writeFileAtomic } from "../../lib/checkpoint";

const posInt = (v: number) => (v >= 1 ? null : "must be a positive integer");
const FLAGS: FlagSpecs = {
  samples: { kind: "string", help: ".npy of samples [N,H,W,1] in [−1,1] (instead of --checkpoint)" },
  checkpoint: { kind: "string", help: "draw samples from this checkpoint" },
  resolution: { kind: "string", help: "sampling resolution with --checkpoint", default: "28" },
  n: { kind: "int", help: "samples to draw with --checkpoint; test images compared", default: 1000, check: posInt as never },
  steps: { kind: "int", help: "DDIM steps with --checkpoint", default: 100, check: posInt as never },
  batch: { kind: "int", help: "sampling batch", default: 50, check: posInt as never },
  seed: { kind: "int", help: "seed", default: 0 },
  json: { kind: "string", help: "also write the result as JSON to this file" },
  backend: { kind: "string", help: "tensorflow | wasm | cpu" },
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
          seed: f.seed as number, progress: !f.quiet,
        });
        samples = out.x0;
        source = { checkpoint: f.checkpoint, step: model.step, resolution: [H, W], steps: f.steps, sampleSeconds: out.seconds };
      } finally {
        model.net.dispose();
      }
    }
    const test = loadFashionMnist({ split: "test", limit: Math.max(samples.shape[0], Math.min(10000, f.n as number)) });
    const fid = await fidBetweenImages(samples, test);
    const kid = await kidBetweenImages(samples, test);
    const result = { ...source, n: samples.shape[0], nTest: test.shape[0], fid, kid: kid.mean, kidStd: kid.std };
    console.log(JSON.stringify(result));
    if (f.json) writeFileAtomic(f.json as string, JSON.stringify(result, null, 2) + "\n");
  },
};
