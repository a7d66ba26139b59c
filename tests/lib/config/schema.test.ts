import { strict as assert } from "assert";
import { resolveConfig, parseConfig, resolveAutoencoderConfig, validateFeatureTrainConfig, validateSpec, mergeConfig } from "infty-diff-lab";
import * as fs from "fs";
import * as path from "path";

/** The message of what `f` throws (asserting it is one line). */
function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    const m = (e as Error).message;
    assert.ok(!m.includes("\n"), `one line: ${m}`);
    return `${(e as Error).name}: ${m}`;
  }
  throw new Error("did not throw");
}

describe("config declarations (zod, schema.ts): one-line messages naming the key", () => {
  it("values out of range, wrong types and nested list entries name their path and the value", () => {
    assert.equal(message(() => resolveConfig({ model: { nf: 2000 } })), "ConfigError: config model.nf: must be ≤ 1024 (got 2000)");
    assert.equal(message(() => resolveConfig({ model: { kernelSize: 4 } })), "ConfigError: config model.kernelSize: must be odd (got 4)");
    assert.equal(message(() => resolveConfig({ train: { coordRatio: 0 } })), "ConfigError: config train.coordRatio: must be > 0 (got 0)");
    assert.equal(message(() => resolveConfig({ model: { unet: { mults: [1, 0] } } })), "ConfigError: config model.unet.mults[1]: must be ≥ 1 (got 0)");
    assert.equal(message(() => resolveConfig({ diffusion: { schedule: "sqrt" } })), 'ConfigError: config diffusion.schedule: must be one of cosine, linear (got "sqrt")');
    assert.equal(message(() => resolveConfig({ model: 5 })), "ConfigError: config model: must be an object (got 5)");
    assert.equal(message(() => resolveConfig({ train: { lr: "fast" } })), 'ConfigError: config train.lr: must be a finite number (got "fast")');
  });

  it("unknown keys, __proto__ and constructor included, are refused with the allowed keys; the prototype is untouched", () => {
    assert.match(message(() => resolveConfig({ model: { channel: 1 } })), /^ConfigError: config model: unknown key 'channel' \(allowed: arch, authorsBackend, .*channels, /);
    // parsed text is refused by the JSON reader (json-text.ts); an object that already holds the key, by the declaration
    assert.match(message(() => parseConfig('{"__proto__": {"polluted": 1}}')), /^ConfigError: config: unknown key '__proto__'/);
    assert.equal(message(() => resolveConfig(JSON.parse('{"__proto__": {"polluted": 1}}'))), "ConfigError: config: unknown key '__proto__' (allowed: model, diffusion, train)");
    assert.match(message(() => resolveConfig(JSON.parse('{"model": {"__proto__": {"nf": 3}}}'))), /^ConfigError: config model: unknown key '__proto__' \(allowed: /);
    assert.match(message(() => parseConfig('{"train": {"constructor": 1}}')), /config train: unknown key 'constructor'/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    // merging partial configs keeps a __proto__ key a key (refused later), never a prototype
    const merged = mergeConfig({ a: 1 }, JSON.parse('{"__proto__": {"b": 2}}'));
    assert.deepEqual(Object.keys(merged), ["a", "__proto__"]);
    assert.equal((merged as Record<string, unknown>).b, undefined);
  });

  it("the autoencoder, feature-net and experiment declarations use the same builders", () => {
    assert.equal(message(() => resolveAutoencoderConfig({ zDim: 0 })), "Error: autoencoder.zDim: must be ≥ 1 (got 0)");
    assert.equal(message(() => resolveAutoencoderConfig({ latentTarget: "x0" })), 'Error: autoencoder.latentTarget: must be one of eps, v (got "x0")');
    assert.equal(message(() => validateFeatureTrainConfig({ learningRate: 1 })), "Error: featureNet.learningRate: must be < 1 (got 1)");
    const raw = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "..", "..", "experiments", "table3.json"), "utf8"));
    const { note: _note, ...noNote } = raw.budgets.fast;
    assert.equal(message(() => validateSpec({ ...raw, budgets: { ...raw.budgets, fast: noNote } })), "SpecError: spec.budgets.fast: missing key 'note'");
    assert.equal(message(() => validateSpec({ ...raw, budgets: { ...raw.budgets, fast: { ...raw.budgets.fast, seeds: [0, 0] } } })), "SpecError: spec.budgets.fast.seeds: has duplicates (got [0,0])");
  });
});
