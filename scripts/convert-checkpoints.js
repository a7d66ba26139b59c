#!/usr/bin/env node
// Rewrites lab checkpoints in the safetensors layout (src/lib/runtime/checkpoint.ts) and checks, by reading the new file
// back, that every tensor is bit-identical and the metadata equal. Usage: node scripts/convert-checkpoints.js FILE...
// (build first: npm run build). Files already in the safetensors layout are left alone.
const fs = require("fs");
const assert = require("assert");
const { loadCheckpoint, saveCheckpoint } = require("infty-diff-lab");

for (const file of process.argv.slice(2)) {
  if (fs.readFileSync(file).subarray(0, 8).toString("ascii") !== "INFTYCK1") {
    console.log(`${file}: already safetensors`);
    continue;
  }
  const before = loadCheckpoint(file);
  saveCheckpoint(file, before);
  const after = loadCheckpoint(file);
  assert.deepStrictEqual(after.meta, before.meta, `${file}: metadata changed`);
  assert.deepStrictEqual(Object.keys(after.groups), Object.keys(before.groups));
  let n = 0;
  for (const [g, ts] of Object.entries(before.groups)) {
    assert.deepStrictEqual(Object.keys(after.groups[g]), Object.keys(ts), `${file}: tensor names of ${g} changed`);
    for (const [name, t] of Object.entries(ts)) {
      const u = after.groups[g][name];
      assert.deepStrictEqual(u.shape, t.shape);
      assert.ok(Buffer.from(u.values.buffer, u.values.byteOffset, u.values.byteLength)
        .equals(Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength)), `${file}: ${g}/${name} changed`);
      n += t.values.length;
    }
  }
  console.log(`${file}: converted, ${n} values bit-identical, metadata equal`);
}
