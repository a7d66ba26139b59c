/**
 * Run as a script by tests/lib/runtime/wasm-parallel.test.ts with INFTY_WASM_THREADS set and `--threads N`: the lab's
 * kernels that the parallel pool splits (runtime/wasm-kernels/parallel.ts: separable conv, GELU, LayerNorm, concat) with the pool off and on N threads, on
 * shapes above the pool's thresholds, once before and once after the wasm heap has grown (the inputs of the second
 * round lie in memory the workers had never seen). Prints one JSON line: per case, the max |Δ| between the split and
 * the one-thread outputs (must be 0), the calls posted to the pool, the chunks the workers ran, and where the second
 * round's tensors lie relative to the old heap size.
 */
import {
  initBackend, tf, Rng, gelu, modulatedLayerNorm, KernelMap, fullGrid, resampledFullGridDepthwiseConv, resampledKernelSize,
  setWasmParallel, wasmParallelReady, wasmParallelCalls, wasmParallelWorkerChunks, wasmThreads,
} from "infty-diff-lab";

type Case = { name: string; run: () => tf.Tensor[] };

function cases(rng: Rng): { cases: Case[]; inputs: tf.Tensor[]; maps: KernelMap[] } {
  const inputs: tf.Tensor[] = [], maps: KernelMap[] = [];
  const keep = <T extends tf.Tensor>(t: T) => { inputs.push(t); return t; };
  const sep = (r: number, B: number, C: number, mode: "extent" | "authors") => {
    const km = KernelMap.build(fullGrid(B, r, r), resampledKernelSize(7, 28, r, mode));
    maps.push(km);
    const x = keep(rng.normalTensor<tf.Rank.R3>([B, r * r, C])), w = keep(rng.normalTensor<tf.Rank.R3>([7, 7, C])), b = keep(rng.normalTensor<tf.Rank.R1>([C]));
    return { name: `separable ${r}² B=${B} C=${C} ${mode}`, run: () => [resampledFullGridDepthwiseConv(x, km, w, b, 28, r, mode)] };
  };
  const n = (1 << 20) + 3; // above the pool's floor; not a multiple of 4 or 8: the last chunk ends in the overlapping tail vector
  const gx = keep(tf.mul(rng.normalTensor([n]), 4)), gdy = keep(rng.normalTensor([n]));
  const [B, M, C] = [3, 6001, 64]; // 1.15 M values: above the floor
  const lx = keep(tf.add(tf.mul(rng.normalTensor<tf.Rank.R3>([B, M, C]), 3), 1.5) as tf.Tensor3D);
  const lg = keep(tf.add(rng.normalTensor([C]), 1)), lb = keep(rng.normalTensor([C]));
  const lsc = keep(tf.mul(rng.normalTensor([B, 1, C]), 0.3)), lsh = keep(rng.normalTensor([B, 1, C]));
  const ca = keep(rng.normalTensor([3, 90000, 32])), cb = keep(rng.normalTensor([3, 90000, 13])), cc = keep(rng.normalTensor([3, 90000, 3]));
  return {
    cases: [
      sep(112, 3, 8, "extent"), // shifted hats, rows split across image boundaries
      sep(112, 1, 4, "extent"), // one image: rows split inside it (G rows computed per range)
      sep(56, 2, 12, "extent"), // every column a hat
      sep(60, 2, 4, "authors"), // no hat plan: direct taps
      { name: `GELU forward and gradient, n=${n}`, run: () => {
        const [y, dx] = tf.tidy(() => { const v = tf.valueAndGrad((t: tf.Tensor) => tf.sum(tf.mul(gelu(t), gdy)))(gx); return [gelu(gx), v.grad]; });
        return [y, dx];
      } },
      { name: `modulated LayerNorm B=${B} M=${M} C=${C}`, run: () => [modulatedLayerNorm(lx, lg, lb, lsc, lsh, 1e-5)] },
      { name: "channel concat [3, 90000, 32] ‖ [3, 90000, 13] ‖ [3, 90000, 3]", run: () => [tf.concat([ca, cb, cc], 2)] },
    ],
    inputs, maps,
  };
}

const THREADS = Number(process.argv[process.argv.indexOf("--threads") + 1] ?? 2);
const REPS = 3; // the split varies with timing (who claims which chunk): compare several runs

function compare(cs: Case[]): Array<{ name: string; maxAbsDiff: number; poolCalls: number; workerChunks: number; offCalls: number }> {
  return cs.map((c) => {
    const outputs = (on: boolean) => {
      setWasmParallel(on, THREADS);
      const ts = c.run();
      const out = ts.map((t) => t.dataSync().slice() as Float32Array);
      tf.dispose(ts);
      return out;
    };
    const o0 = wasmParallelCalls();
    const ref = outputs(false);
    const offCalls = wasmParallelCalls() - o0;
    const c0 = wasmParallelCalls(), w0 = wasmParallelWorkerChunks();
    let d = 0;
    for (let rep = 0; rep < REPS; rep++) {
      outputs(true).forEach((a, i) => {
        for (let j = 0; j < a.length; j++) d = Math.max(d, Object.is(a[j], ref[i][j]) ? 0 : Math.abs(a[j] - ref[i][j]) || Infinity);
      });
    }
    return { name: c.name, maxAbsDiff: d, poolCalls: wasmParallelCalls() - c0, workerChunks: wasmParallelWorkerChunks() - w0, offCalls };
  });
}

async function main(): Promise<void> {
  await initBackend("wasm", { quiet: true });
  setWasmParallel(true, THREADS);
  const ready = await wasmParallelReady(THREADS, 60_000);
  const be = tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array }; dataIdMap: { get(id: object): { memoryOffset: number } } };
  const heapBytes = () => be.wasm.HEAPU8.buffer.byteLength;
  const rng = new Rng(14);
  const first = cases(rng);
  const round1 = compare(first.cases);
  // grow the heap well past its size, then build the second round's tensors (freed fillers leave room below them,
  // so keep the fillers until the inputs exist)
  const before = heapBytes();
  const fillers: tf.Tensor[] = [];
  while (heapBytes() < before + (256 << 20)) fillers.push(tf.zeros([4 << 20]));
  const second = cases(rng);
  const lowest = Math.min(...second.inputs.map((t) => be.dataIdMap.get(t.dataId).memoryOffset));
  const highest = Math.max(...second.inputs.map((t) => be.dataIdMap.get(t.dataId).memoryOffset + 4 * t.size));
  tf.dispose(fillers);
  const round2 = compare(second.cases);
  // below the pool's floors: a 28²-sized GELU (0.8 M values) and a 16-row separable conv stay on the main thread
  setWasmParallel(true, THREADS);
  const s0 = wasmParallelCalls();
  tf.tidy(() => {
    gelu(tf.zeros([16 * 784 * 64]));
    const km = KernelMap.build(fullGrid(1, 16, 16), resampledKernelSize(7, 8, 16));
    resampledFullGridDepthwiseConv(tf.zeros([1, 256, 4]) as tf.Tensor3D, km, tf.zeros([7, 7, 4]) as tf.Tensor3D, tf.zeros([4]) as tf.Tensor1D, 8, 16);
    km.dispose();
  });
  const smallCalls = wasmParallelCalls() - s0;
  tf.dispose([...first.inputs, ...second.inputs]);
  for (const m of [...first.maps, ...second.maps]) m.dispose();
  process.stdout.write(JSON.stringify({
    threads: wasmThreads(), poolThreads: THREADS, ready, heapBefore: before, heapAfter: heapBytes(), secondRoundLowest: lowest, secondRoundHighest: highest,
    round1, round2, smallCalls,
  }) + "\n");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
