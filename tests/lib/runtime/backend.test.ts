import { strict as assert } from "assert";
import { initBackend, tf, BACKEND_NAMES, currentBackend, runTypedKernel, loadNative } from "infty-diff-lab";

describe("backend selection", () => {
  it("rejects an unknown backend name with a clear message", async () => {
    await assert.rejects(() => initBackend("tpu"), /unknown backend 'tpu'.*tensorflow, webgpu, native, wasm, cpu/);
  });

  for (const name of ["cpu", "wasm"] as const) {
    it(`forces ${name} and computes on it`, async () => {
      const info = await initBackend(name, { quiet: true });
      assert.equal(info.name, name);
      assert.equal(tf.getBackend(), name);
      assert.equal(info.gpu, false);
      const y = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]])));
      assert.deepEqual(Array.from(y.dataSync()), [17, 39]);
      y.dispose();
    });
  }

  it("the default picks the fastest backend that loads here (tensorflow is not installable, so native where its addon is built, else wasm)", async () => {
    const saved = process.env.INFTY_BACKEND;
    delete process.env.INFTY_BACKEND;
    try {
      // Re-select from scratch by asking for each in order, as initBackend() does without a request.
      let picked: string | null = null;
      // webgpu is picked automatically only on a hardware GPU adapter, which this machine kind lacks (its software
      // adapter, SwiftShader, is tested in tests/webgpu/ where it is asked for by name)
      for (const name of BACKEND_NAMES.filter((n) => n !== "webgpu")) {
        try { picked = (await initBackend(name, { quiet: true })).name; break; } catch { /* next */ }
      }
      let hasTfNode = true;
      try { require.resolve("@tensorflow/tfjs-node"); } catch { hasTfNode = false; }
      let hasTfNodeGpu = true;
      try { require.resolve("@tensorflow/tfjs-node-gpu"); } catch { hasTfNodeGpu = false; }
      const hasNative = !("reason" in loadNative());
      assert.equal(picked, hasTfNode || hasTfNodeGpu ? "tensorflow" : hasNative ? "native" : "wasm");
      assert.equal(currentBackend()?.name, picked);
    } finally {
      if (saved != null) process.env.INFTY_BACKEND = saved;
    }
  });

  it("a kernel missing on the current backend is a one-line error naming it", async () => {
    await initBackend("cpu", { quiet: true });
    assert.throws(() => runTypedKernel("InftyNoSuchKernel", {}, {}), (e: Error) =>
      e.name === "BackendError" && /^kernel InftyNoSuchKernel is not implemented on the 'cpu' backend/.test(e.message) && !e.message.includes("\n"));
  });

  it("honours INFTY_BACKEND", async () => {
    const saved = process.env.INFTY_BACKEND;
    process.env.INFTY_BACKEND = "cpu";
    try {
      assert.equal((await initBackend(undefined, { quiet: true })).name, "cpu");
    } finally {
      if (saved == null) delete process.env.INFTY_BACKEND; else process.env.INFTY_BACKEND = saved;
    }
  });
});

describe("tfjs's Node banner", () => {
  it("never prints: not on a tensor made before initBackend (tfjs then starts cpu itself), not with INFTY_BACKEND=cpu", () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { spawnSync } = require("child_process") as typeof import("child_process");
    const lib = require.resolve("infty-diff-lab");
    const script = `const l = require(${JSON.stringify(lib)}); l.tf.tensor([1, 2]).dataSync();` +
      `l.initBackend("cpu").then(() => { l.tf.tensor([3]).dataSync(); console.log("done", l.tf.getBackend()); });`;
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", env: { ...process.env, INFTY_BACKEND: "" } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /done cpu/);
    assert.doesNotMatch(r.stdout + r.stderr, /looks like you are running TensorFlow\.js in Node/);
  });
});
