/**
 * The browser twin of datasets.ts: a page validates configs (their train.dataset) but reads no training data, which
 * lives in files under data/. The names are the registry's (tests/lib/data/datasets-browser.test.ts holds them equal).
 */
import type { DatasetEntry, DatasetName } from "./datasets";

export type { DatasetDraw, DatasetEntry, DatasetName } from "./datasets";

export const DATASET_NAMES: DatasetName[] = ["fashion-mnist", "procedural", "textures"];

/** Datasets are files under data/: a page cannot load one. */
export function dataset(name: string): DatasetEntry {
  throw new Error(`dataset '${name}': datasets are read from data/ files, which a browser page does not have`);
}
