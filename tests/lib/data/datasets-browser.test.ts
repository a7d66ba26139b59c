/** The browser twin of the dataset registry (data/datasets.browser.ts) names exactly the registry's datasets. */
import { strict as assert } from "assert";
import { DATASET_NAMES } from "infty-diff-lab";
import * as twin from "../../../src/lib/data/datasets.browser";

describe("dataset registry, browser twin", () => {
  it("names the same datasets in the same order", () => {
    assert.deepEqual(twin.DATASET_NAMES, DATASET_NAMES);
  });
  it("refuses to load data, in one line", () => {
    assert.throws(() => twin.dataset("fashion-mnist"), /^Error: dataset 'fashion-mnist': datasets are read from data\/ files/);
  });
});
