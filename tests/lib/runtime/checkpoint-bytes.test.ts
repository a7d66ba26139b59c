/**
 * Checkpoints from bytes (runtime/checkpoint-bytes.ts), the path a browser page takes after fetch(): a plain
 * Uint8Array — not a Node Buffer, at an odd offset of a larger ArrayBuffer — decodes to the same checkpoint as
 * loadCheckpoint(file), for both layouts; corrupt bytes give the one-line error naming the source.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseCheckpoint, loadCheckpoint, saveCheckpoint, saveCheckpointV1, CheckpointError, Checkpoint } from "infty-diff-lab";

/** `buf` copied into a fresh ArrayBuffer at byte offset 3 (unaligned for float32), as a plain Uint8Array. */
function plainUnaligned(buf: Buffer): Uint8Array {
  const ab = new ArrayBuffer(buf.length + 3);
  const out = new Uint8Array(ab, 3, buf.length);
  out.set(buf);
  return out;
}

describe("checkpoint from bytes (browser path)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "infty-ckbytes-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ck: Checkpoint = {
    meta: { step: 12, config: { a: [1, 2] }, note: "ü" },
    groups: {
      ema: { "w.0": { shape: [2, 3], values: Float32Array.from([1, -2, 3.5, 1e-8, -0, 7]) }, b: { shape: [1], values: Float32Array.from([0.25]) } },
      params: { "w.0": { shape: [2, 3], values: Float32Array.from([6, 5, 4, 3, 2, 1]) } },
    },
  };

  for (const [layout, save] of [["safetensors", saveCheckpoint], ["INFTYCK1", saveCheckpointV1]] as const) {
    it(`decodes a ${layout} file's bytes as loadCheckpoint does`, () => {
      const file = path.join(dir, `${layout}.ckpt`);
      save(file, ck);
      const fromFile = loadCheckpoint(file);
      const fromBytes = parseCheckpoint(plainUnaligned(fs.readFileSync(file)), "http://127.0.0.1/model.ckpt");
      assert.deepEqual(fromBytes.meta, fromFile.meta);
      assert.deepEqual(Object.keys(fromBytes.groups), ["ema", "params"]);
      for (const g of Object.keys(ck.groups)) {
        for (const [name, t] of Object.entries(ck.groups[g])) {
          assert.deepEqual(fromBytes.groups[g][name].shape, t.shape);
          assert.deepEqual(Array.from(fromBytes.groups[g][name].values), Array.from(t.values));
        }
      }
    });
  }

  it("reads the shipped checkpoint from bytes", () => {
    const file = path.join(__dirname, "..", "..", "..", "..", "data", "checkpoints", "fashion-mnist.ckpt");
    const a = loadCheckpoint(file), b = parseCheckpoint(plainUnaligned(fs.readFileSync(file)), "model.ckpt");
    assert.equal(b.meta.step, a.meta.step);
    const names = Object.keys(a.groups.ema);
    assert.deepEqual(Object.keys(b.groups.ema), names);
    for (const n of names) assert.deepEqual(b.groups.ema[n].values, a.groups.ema[n].values);
  });

  it("refuses truncated or foreign bytes in one line naming the source", () => {
    const file = path.join(dir, "t.ckpt");
    saveCheckpoint(file, ck);
    const bytes = plainUnaligned(fs.readFileSync(file));
    assert.throws(() => parseCheckpoint(bytes.subarray(0, bytes.length - 4), "u.ckpt"), (e: Error) => e instanceof CheckpointError && /^corrupt checkpoint u\.ckpt: /.test(e.message) && !e.message.includes("\n"));
    assert.throws(() => parseCheckpoint(new TextEncoder().encode("<!doctype html><p>404</p>"), "u.ckpt"), /corrupt checkpoint u\.ckpt: not an ∞-Diff lab checkpoint/);
  });
});
