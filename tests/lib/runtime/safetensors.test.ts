/**
 * Lab checkpoints in the safetensors layout: read back by an independent parser written here (DataView, no lab code),
 * by Python's standard library (struct + json, numpy where present) when /usr/bin/python3 exists, and by the lab's
 * own loader; old "INFTYCK1" files still load; damaged files give one-line errors.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { saveCheckpoint, saveCheckpointV1, loadCheckpoint, dataPath, Checkpoint, decodeSafetensors, encodeSafetensors } from "infty-diff-lab";

/** The safetensors format from its specification, with no lab code: 8-byte LE length, JSON, LE data. */
function parseIndependently(bytes: Buffer): { header: Record<string, any>; get: (name: string) => Float32Array } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  return {
    header,
    get: (name) => {
      const { dtype, shape, data_offsets: [b, e] } = header[name];
      assert.equal(dtype, "F32");
      const count = shape.reduce((a: number, c: number) => a * c, 1);
      assert.equal(e - b, 4 * count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getFloat32(8 + n + b + 4 * i, true);
      return out;
    },
  };
}

function sample(): Checkpoint {
  const vals = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * s) * 10 ** (i % 7 - 3));
  return {
    meta: { kind: "infty-diff-model", step: 1234, config: { model: { nf: 8 } }, rng: { s: [1, 2, 3, 4] }, timings: { ms: 1.5 }, note: "ünïcode ∞" },
    groups: {
      params: { "time.1.w": { shape: [3, 5], values: vals(15, 0.3) }, "out.b": { shape: [1], values: vals(1, 1) } },
      ema: { "time.1.w": { shape: [3, 5], values: vals(15, 0.7) }, "out.b": { shape: [1], values: new Float32Array([-0]) } },
      adam: { "down0.kernel0": { shape: [7, 7, 2], values: vals(98, 0.11) } },
    },
  };
}

describe("checkpoints in the safetensors layout", () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "infty-st-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("are safetensors that an independent parser reads: every tensor, shape and metadata value", () => {
    const ck = sample();
    const file = path.join(dir, "a.ckpt");
    saveCheckpoint(file, ck);
    const bytes = fs.readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0, "data aligned to 8 bytes");
    const { header, get } = parseIndependently(bytes);
    assert.equal(header.__metadata__["infty-diff-lab"], "2");
    for (const [k, v] of Object.entries(ck.meta)) assert.deepEqual(JSON.parse(header.__metadata__[k]), v, k);
    let names = 0;
    for (const [g, ts] of Object.entries(ck.groups)) {
      for (const [name, t] of Object.entries(ts)) {
        assert.deepEqual(header[`${g}/${name}`].shape, t.shape);
        assert.deepEqual(Array.from(get(`${g}/${name}`)), Array.from(t.values), `${g}/${name}`);
        names++;
      }
    }
    assert.equal(Object.keys(header).length, names + 1);
  });

  it("round-trip through the lab's loader bit for bit", () => {
    const ck = sample();
    const file = path.join(dir, "b.ckpt");
    saveCheckpoint(file, ck);
    const back = loadCheckpoint(file);
    assert.deepEqual(back.meta, ck.meta);
    for (const [g, ts] of Object.entries(ck.groups)) {
      for (const [name, t] of Object.entries(ts)) {
        assert.deepEqual(back.groups[g][name].shape, t.shape);
        assert.ok(Object.is(back.groups[g][name].values[0], t.values[0]));
        assert.deepEqual(Array.from(back.groups[g][name].values), Array.from(t.values));
      }
    }
  });

  it("old INFTYCK1 files still load, with the same content", () => {
    const ck = sample();
    const file = path.join(dir, "old.ckpt");
    saveCheckpointV1(file, ck);
    assert.equal(fs.readFileSync(file).subarray(0, 8).toString("ascii"), "INFTYCK1");
    const back = loadCheckpoint(file);
    assert.deepEqual(back.meta, ck.meta);
    assert.deepEqual(Array.from(back.groups.adam["down0.kernel0"].values), Array.from(ck.groups.adam["down0.kernel0"].values));
  });

  it("the shipped checkpoints are safetensors", () => {
    for (const f of ["fashion-mnist.ckpt", "fashion-mnist-2500.ckpt", "ae-fashion-mnist.ckpt", "ae-procedural-16.ckpt", "ae-textures-16.ckpt"]) {
      const bytes = fs.readFileSync(dataPath("checkpoints", f));
      const { header } = parseIndependently(bytes);
      assert.equal(header.__metadata__["infty-diff-lab"], "2", f);
      assert.ok(JSON.parse(header.__metadata__.config).model, f);
    }
  });

  it("reads F16, BF16 and F64 tensors from other writers as float32", () => {
    // hand-encoded: F16 1.5 = 0x3e00, −2 = 0xc000; BF16 3.0 = 0x4040; F64 0.1
    const header = JSON.stringify({
      a: { dtype: "F16", shape: [2], data_offsets: [0, 4] },
      b: { dtype: "BF16", shape: [1], data_offsets: [4, 6] },
      c: { dtype: "F64", shape: [1], data_offsets: [6, 14] },
    });
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const data = Buffer.alloc(14);
    data.writeUInt16LE(0x3e00, 0); data.writeUInt16LE(0xc000, 2); data.writeUInt16LE(0x4040, 4); data.writeDoubleLE(0.1, 6);
    const st = decodeSafetensors(Buffer.concat([len, Buffer.from(header), data]));
    assert.deepEqual(Array.from(st.tensors.get("a")!.values), [1.5, -2]);
    assert.deepEqual(Array.from(st.tensors.get("b")!.values), [3]);
    assert.equal(st.tensors.get("c")!.values[0], Math.fround(0.1));
  });

  it("damaged files give one-line errors naming the file", () => {
    const good = encodeSafetensors([["params/x", { shape: [4], values: new Float32Array(4) }]], { "infty-diff-lab": "2" });
    const cases: Array<[string, Buffer, RegExp]> = [
      ["truncated.ckpt", good.subarray(0, good.length - 3), /corrupt checkpoint .*truncated\.ckpt: .*data_offsets/],
      ["foreign.ckpt", encodeSafetensors([["x", { shape: [1], values: new Float32Array(1) }]]), /without the lab's metadata/],
      ["nogroup.ckpt", encodeSafetensors([["x", { shape: [1], values: new Float32Array(1) }]], { "infty-diff-lab": "2" }), /no group prefix/],
      ["long.ckpt", Buffer.concat([good, Buffer.alloc(4)]), /data section has 20 bytes, tensors cover 16/],
    ];
    for (const [name, bytes, re] of cases) {
      const f = path.join(dir, name);
      fs.writeFileSync(f, bytes);
      assert.throws(() => loadCheckpoint(f), (e: Error) => re.test(e.message) && !e.message.includes("\n"), name);
    }
  });

  const python = "/usr/bin/python3";
  it("Python's standard library reads a lab checkpoint (struct + json; numpy when installed)", function () {
    if (!fs.existsSync(python)) this.skip();
    const ck = sample();
    const file = path.join(dir, "py.ckpt");
    saveCheckpoint(file, ck);
    const script = [
      "import json, struct, sys",
      "b = open(sys.argv[1], 'rb').read()",
      "n, = struct.unpack('<Q', b[:8]); h = json.loads(b[8:8+n]); base = 8 + n",
      "out = {'meta': {k: json.loads(v) for k, v in h.pop('__metadata__').items() if k != 'infty-diff-lab'}, 't': {}}",
      "for k, v in h.items():",
      "    s, e = v['data_offsets']; vals = list(struct.unpack('<%df' % ((e - s) // 4), b[base+s:base+e]))",
      "    out['t'][k] = {'shape': v['shape'], 'sum': sum(vals), 'first': vals[0]}",
      "try:",
      "    import numpy as np",
      "    for k, v in h.items():",
      "        s, e = v['data_offsets']; a = np.frombuffer(b[base+s:base+e], dtype='<f4').reshape(v['shape'])",
      "        out['t'][k]['np_sum'] = float(a.astype(np.float64).sum())",
      "except ImportError:",
      "    pass",
      "print(json.dumps(out))",
    ].join("\n");
    const r = spawnSync(python, ["-c", script, file], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.meta, ck.meta);
    for (const [g, ts] of Object.entries(ck.groups)) {
      for (const [name, t] of Object.entries(ts)) {
        const got = out.t[`${g}/${name}`];
        const sum = Array.from(t.values).reduce((a, b) => a + b, 0);
        assert.deepEqual(got.shape, t.shape);
        assert.equal(got.first, t.values[0]);
        assert.ok(Math.abs(got.sum - sum) <= 1e-9 * (1 + Math.abs(sum)), `${g}/${name}: ${got.sum} vs ${sum}`);
        if (got.np_sum !== undefined) assert.ok(Math.abs(got.np_sum - sum) <= 1e-9 * (1 + Math.abs(sum)));
      }
    }
  });
});
