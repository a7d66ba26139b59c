import { strict as assert } from "assert";
import { Rng } from "infty-diff-lab";

describe("Rng", () => {
  it("is reproducible from a seed and resumable from its state", () => {
    const a = new Rng(42), b = new Rng(42);
    for (let i = 0; i < 10; i++) assert.equal(a.next(), b.next());
    const s = a.state();
    const x = [a.next(), a.normal(), a.int(10)];
    const c = new Rng(s);
    assert.deepEqual([c.next(), c.normal(), c.int(10)], x);
  });

  it("normals have mean 0 and variance 1 within Monte-Carlo tolerance", () => {
    const z = new Rng(7).normals(200000);
    let m = 0, v = 0;
    for (const x of z) m += x;
    m /= z.length;
    for (const x of z) v += (x - m) ** 2;
    v /= z.length;
    assert.ok(Math.abs(m) < 0.01, `mean ${m}`);
    assert.ok(Math.abs(v - 1) < 0.015, `var ${v}`);
  });

  it("permutation is a permutation", () => {
    const p = new Rng(3).permutation(1000);
    assert.deepEqual(Array.from(p).sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  });
});
