/**
 * The dataset registry: its keys are the `DatasetName` union (config train.dataset, the CLI's --dataset, experiment
 * specs). An entry says how to draw training images at a resolution, how to read one held-out image by index (the
 * CLI's --index, where the dataset has an order), and its FID reference: held-out images and the feature network
 * (a folder under data/) that embeds them — null where the lab has no feature net for the dataset, so FID is refused
 * instead of computed against another dataset's images.
 *
 * Adding a dataset: its loader in its own file in data/, and one entry here.
 */
import { Rng } from "../runtime/rng";
import { ImageSet, areaResize } from "./image-ops";
import { loadFashionMnist } from "./fashion-mnist";
import { proceduralImages, proceduralSpecs, renderProcedural } from "./procedural";
import { renderTextureCrops, sampleTextureCrops } from "./textures";

/** What a dataset is asked for: image size, channels, seed and how many images. */
export interface DatasetDraw {
  /** side of the square images */
  resolution: number;
  channels: number;
  /** seeds generated datasets (the config's train.seed + 1) */
  seed: number;
  /** at most this many images (generated datasets: exactly this many; default 20,000) */
  limit?: number;
}

/** A dataset in the registry: what it is, its channel counts, how to draw training and held-out images, its FID reference. */
export interface DatasetEntry {
  /** One line describing the dataset. */
  readonly about: string;
  /** channel counts the dataset provides */
  readonly channels: readonly number[];
  /** training images [n, r, r, C] in [−1, 1] */
  train(o: DatasetDraw): ImageSet;
  /** held-out image #index [1, r, r, C], where the dataset has an order */
  image?(index: number, o: { resolution: number; channels: number }): ImageSet;
  /**
   * Exact ground truth above r (super-resolution scoring): `n` images at r and each at s·r for every scale s, all
   * area-consistent (areaResize(high(s), r) = low); seeded. Only datasets that are functions, not pixels, have it.
   */
  groundTruth?(n: number, resolution: number, scales: readonly number[], seed: number): { low: ImageSet; high: Map<number, ImageSet> };
  /** FID/KID: held-out reference images at r, and the feature net's folder under data/; null = no FID */
  readonly fid: {
    featureNet: string;
    /** held-out reference images at the requested size */
    reference(o: { resolution: number; limit: number }): ImageSet;
  } | null;
}

const fashionAt = (set: ImageSet, r: number): ImageSet => (r === 28 ? set : areaResize(set, r, r));

/** The dataset registry: its keys are the values `train.dataset` accepts. */
export const DATASETS = {
  "fashion-mnist": {
    about: "Fashion-MNIST (28×28 gray; other sizes by area resizing)",
    channels: [1],
    /** the training images */
    train: ({ resolution: r, limit }) => loadFashionMnist({ split: "train-fit", size: r === 28 ? undefined : r, limit }),
    /** test image #index */
    image: (index, { resolution }) => fashionAt(loadFashionMnist({ split: "test", offset: index, limit: 1 }), resolution),
    fid: {
      featureNet: "feature-net",
      /** the first test images, at the requested size */
      reference: ({ resolution: r, limit }) => loadFashionMnist({ split: "test", limit, size: r === 28 ? undefined : r }),
    },
  },
  procedural: {
    about: "procedural analytic images (Gaussian bumps; exact at every resolution)",
    channels: [1, 2, 3, 4],
    /** freshly drawn images from the seed */
    train: ({ resolution, channels, seed, limit }) => proceduralImages({ n: limit ?? 20000, height: resolution, rng: new Rng(seed), channels }),
    // the same image as proceduralImages({ n: index + 1, rng: new Rng(1234) })[index]: draw specs one by one, render one
    /** held-out image #index (its own fixed seed) */
    image: (index, { resolution, channels }) => {
      const rng = new Rng(1234);
      let spec = proceduralSpecs(1, rng, { channels });
      for (let k = 0; k < index; k++) spec = proceduralSpecs(1, rng, { channels });
      return renderProcedural(spec, resolution);
    },
    // procedural functions rendered by exact area averaging at each resolution
    /** held-out images at r and their exact versions at each scale */
    groundTruth: (n, r, scales, seed) => {
      const specs = proceduralSpecs(n, new Rng(seed));
      return { low: renderProcedural(specs, r), high: new Map(scales.map((s) => [s, renderProcedural(specs, s * r)])) };
    },
    fid: null,
  },
  textures: {
    about: "crops of three texture photographs (side 4r, rendered at r)",
    channels: [1, 3],
    /** random crops of the photographs from the seed */
    train: ({ resolution: r, channels, seed, limit }) =>
      renderTextureCrops(sampleTextureCrops({ n: limit ?? 20000, rng: new Rng(seed), cropSize: Math.min(512, 4 * r) }), r, channels as 1 | 3),
    // crops of side 4r (as the lab trains on them) rendered at r and at s·r: at s = 4 the photograph's own pixels
    /** held-out crops at r and the photograph's own pixels at each scale */
    groundTruth: (n, r, scales, seed) => {
      const crops = sampleTextureCrops({ n, rng: new Rng(seed), cropSize: Math.min(512, 4 * r) });
      return { low: renderTextureCrops(crops, r), high: new Map(scales.map((s) => [s, renderTextureCrops(crops, s * r)])) };
    },
    fid: null,
  },
} satisfies Record<string, DatasetEntry>;

/** A dataset's registry key. */
export type DatasetName = keyof typeof DATASETS;
/** The datasets with exact ground truth above their resolution (an entry with `groundTruth`). */
export type GroundTruthSource = { [K in DatasetName]: (typeof DATASETS)[K] extends { groundTruth: unknown } ? K : never }[DatasetName];
/** Every registered dataset name. */
export const DATASET_NAMES = Object.keys(DATASETS) as DatasetName[];

/** The registered dataset `name`, checked against the channel count; one-line errors otherwise. */
export function dataset(name: string, channels?: number): DatasetEntry {
  if (!Object.prototype.hasOwnProperty.call(DATASETS, name)) throw new Error(`unknown dataset '${name}': expected ${DATASET_NAMES.join(", ")}`);
  const d: DatasetEntry = DATASETS[name as DatasetName];
  if (channels !== undefined && !d.channels.includes(channels)) {
    throw new Error(`${name} has ${d.channels.join(" or ")} channel${d.channels.length > 1 || d.channels[0] > 1 ? "s" : ""}; set model.channels to ${d.channels[0]}`);
  }
  return d;
}
