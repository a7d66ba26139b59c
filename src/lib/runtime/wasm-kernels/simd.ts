/**
 * A tiny WebAssembly SIMD module, assembled here from bytes, that shares the tfjs wasm backend's memory.
 *
 * Why: the wasm backend's own depthwise conv (XNNPACK has no 7×7 depthwise microkernel in tfjs 4.22) runs at
 * about 1 GFLOP/s and plain JS loops reach about the same, while f32x4 loops over channel rows reach several
 * times that. One primitive covers the forward pass and both gradients of a depthwise conv:
 *
 *   fma(o, a, b, P, C, oStep, aStep, bStep):  for p < P, c < C:  o[p·oStep + c] += a[p·aStep + c] · b[p·bStep + c]
 *
 * (all offsets in float32 elements here; bytes inside the module). A step of 0 pins an operand (a filter tap,
 * an accumulator row). The module imports the backend's `WebAssembly.Memory`, so it reads and writes tensors in
 * place and sees the heap's growth.
 */

import { F32, I32, V128, WasmMemory, assembleModule, instantiateOn, op } from "./asm";

export type { WasmMemory };

/**
 * The loop nest both kernels share: for each of P rows, for c = 0, cStep, … < CB (bytes): `inner`; then every row
 * pointer in `advance` moves on by its step ([pointer local, step local] pairs). Locals are indices.
 */
function rowsAndChannels(l: { P: number; CB: number; c: number }, cStep: number, inner: number[], advance: Array<[number, number]>): number[] {
  return [
    ...op.block,
    ...op.loop,
    ...op.get(l.P), ...op.eqz, ...op.brIf(1),
    ...op.i32(0), ...op.set(l.c),
    ...op.block,
    ...op.get(l.CB), ...op.eqz, ...op.brIf(0),
    ...op.loop,
    ...inner,
    ...op.get(l.c), ...op.i32(cStep), ...op.add, ...op.tee(l.c),
    ...op.get(l.CB), ...op.ltU, ...op.brIf(0),
    ...op.end, // channel loop
    ...op.end, // channel block
    ...advance.flatMap(([ptr, step]) => [...op.get(ptr), ...op.get(step), ...op.add, ...op.set(ptr)]),
    ...op.get(l.P), ...op.i32(1), ...op.sub, ...op.set(l.P),
    ...op.br(0),
    ...op.end, // row loop
    ...op.end, // row block
  ];
}

/**
 * Body of fma over bytes: params o a b P CB oStep aStep bStep (CB = row bytes), local c.
 * `lane` bytes per step (16 for f32x4, 4 for scalar); `unroll` copies of the step per inner iteration
 * (CB must be a multiple of lane·unroll).
 */
function fmaBody(lane: 16 | 4, unroll: number): number[] {
  const [o, a, b, P, CB, oStep, aStep, bStep, c] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const step: number[] = [];
  for (let u = 0; u < unroll; u++) {
    const off = u * lane;
    const load = lane === 16 ? op.vLoad(off) : op.f32Load(off);
    step.push(
      ...op.get(o), ...op.get(c), ...op.add, // store address
      ...op.get(o), ...op.get(c), ...op.add, ...load,
      ...op.get(a), ...op.get(c), ...op.add, ...load,
      ...op.get(b), ...op.get(c), ...op.add, ...load,
      ...(lane === 16 ? op.f32x4Mul : op.f32Mul),
      ...(lane === 16 ? op.f32x4Add : op.f32Add),
      ...(lane === 16 ? op.vStore(off) : op.f32Store(off)),
    );
  }
  return rowsAndChannels({ P, CB, c }, lane * unroll, step, [[o, oStep], [a, aStep], [b, bStep]]);
}

/**
 * Body of rowfma over bytes: params o a b P CB oStep aStep J ajStep bjStep; locals c pa pb jj acc₀…acc_{U−1}.
 *   for p < P, c < C:  o[p·oStep + c] += Σ_{j<J} a[p·aStep + j·ajStep + c] · b[j·bjStep + c]
 * The sum over j stays in U registers (U independent accumulators hide the add latency).
 */
function rowFmaBody(lane: 16 | 4, U: number, accumulate = true): number[] {
  const [o, a, b, P, CB, oStep, aStep, J, ajStep, bjStep, c, pa, pb, jj] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const acc = (u: number) => 14 + u;
  const load = (off: number) => (lane === 16 ? op.vLoad(off) : op.f32Load(off));
  const store = (off: number) => (lane === 16 ? op.vStore(off) : op.f32Store(off));
  const mul = lane === 16 ? op.f32x4Mul : op.f32Mul;
  const add = lane === 16 ? op.f32x4Add : op.f32Add;
  const init: number[] = [], body: number[] = [], fin: number[] = [];
  for (let u = 0; u < U; u++) {
    // rowSet (accumulate = false) starts the sums at zero instead of o: no zero-fill pass over o beforehand
    init.push(...(accumulate ? [...op.get(o), ...op.get(c), ...op.add, ...load(u * lane)] : lane === 16 ? op.f32x4Const(0) : op.f32(0)), ...op.set(acc(u)));
    body.push(...op.get(acc(u)), ...op.get(pa), ...load(u * lane), ...op.get(pb), ...load(u * lane), ...mul, ...add, ...op.set(acc(u)));
    fin.push(...op.get(o), ...op.get(c), ...op.add, ...op.get(acc(u)), ...store(u * lane));
  }
  return rowsAndChannels({ P, CB, c }, lane * U, [
    ...init,
    ...op.get(a), ...op.get(c), ...op.add, ...op.set(pa),
    ...op.get(b), ...op.get(c), ...op.add, ...op.set(pb),
    ...op.get(J), ...op.set(jj),
    ...op.block,
    ...op.get(jj), ...op.eqz, ...op.brIf(0),
    ...op.loop,
    ...body,
    ...op.get(pa), ...op.get(ajStep), ...op.add, ...op.set(pa),
    ...op.get(pb), ...op.get(bjStep), ...op.add, ...op.set(pb),
    ...op.get(jj), ...op.i32(1), ...op.sub, ...op.tee(jj),
    ...op.brIf(0),
    ...op.end, // j loop
    ...op.end, // j block
    ...fin,
  ], [[o, oStep], [a, aStep]]);
}

/**
 * Body of copyRows over bytes: params o a P n oStep aStep:  for p < P: memory.copy(o + p·oStep, a + p·aStep, n)
 * (the strided copies of a concat: tfjs-wasm's Concat makes a subarray per row in JS).
 */
function copyRowsBody(): number[] {
  const [o, a, P, n, oStep, aStep] = [0, 1, 2, 3, 4, 5];
  return [
    ...op.block, ...op.loop,
    ...op.get(P), ...op.eqz, ...op.brIf(1),
    ...op.get(o), ...op.get(a), ...op.get(n), ...op.memoryCopy,
    ...op.get(o), ...op.get(oStep), ...op.add, ...op.set(o),
    ...op.get(a), ...op.get(aStep), ...op.add, ...op.set(a),
    ...op.get(P), ...op.i32(1), ...op.sub, ...op.set(P),
    ...op.br(0),
    ...op.end, ...op.end,
  ];
}

function assemble(shared: boolean): Uint8Array {
  const fma = [Array(8).fill(I32), []] as [number[], number[]];
  const row = [Array(10).fill(I32), []] as [number[], number[]];
  const copy = [Array(6).fill(I32), []] as [number[], number[]];
  const fmaLocals: Array<[number, number]> = [[1, I32]];
  const rowLocals = (t: number, U: number): Array<[number, number]> => [[4, I32], [U, t]];
  return assembleModule(shared, [fma, row, copy], [
    { type: 0, locals: fmaLocals, body: fmaBody(16, 4), name: "fma16" },
    { type: 0, locals: fmaLocals, body: fmaBody(16, 1), name: "fma4" },
    { type: 0, locals: fmaLocals, body: fmaBody(4, 1), name: "fma1" },
    { type: 1, locals: rowLocals(V128, 4), body: rowFmaBody(16, 4), name: "row16" },
    { type: 1, locals: rowLocals(V128, 1), body: rowFmaBody(16, 1), name: "row4" },
    { type: 1, locals: rowLocals(F32, 1), body: rowFmaBody(4, 1), name: "row1" },
    { type: 1, locals: rowLocals(V128, 4), body: rowFmaBody(16, 4, false), name: "rowSet16" },
    { type: 1, locals: rowLocals(V128, 1), body: rowFmaBody(16, 1, false), name: "rowSet4" },
    { type: 1, locals: rowLocals(F32, 1), body: rowFmaBody(4, 1, false), name: "rowSet1" },
    { type: 2, locals: [], body: copyRowsBody(), name: "copyRows" },
  ]);
}

type RowFn = (o: number, a: number, b: number, P: number, CB: number, oStep: number, aStep: number, J: number, ajStep: number, bjStep: number) => void;
type FmaFn = (o: number, a: number, b: number, P: number, CB: number, oStep: number, aStep: number, bStep: number) => void;

export interface Simd {
  /**
   * o[p·oStep + c] += a[p·aStep + c] · b[p·bStep + c] for p < P, c < C. Pointers are byte offsets into the
   * shared memory (4-byte aligned); steps and C count float32 elements.
   */
  fma(o: number, a: number, b: number, P: number, C: number, oStep: number, aStep: number, bStep: number): void;
  /**
   * o[p·oStep + c] += Σ_{j<J} a[p·aStep + j·ajStep + c] · b[j·bjStep + c] for p < P, c < C: a row of taps summed
   * in registers (one read-modify-write of o per J taps).
   */
  rowFma(o: number, a: number, b: number, P: number, C: number, oStep: number, aStep: number, J: number, ajStep: number, bjStep: number): void;
  /** As rowFma with `=` for `+=`: o[p·oStep + c] = Σ_{j<J} a[…] · b[…] (o is only written). */
  rowSet(o: number, a: number, b: number, P: number, C: number, oStep: number, aStep: number, J: number, ajStep: number, bjStep: number): void;
  /** P rows of n BYTES: from a + p·aStep to o + p·oStep (steps in bytes; memory.copy, any alignment) */
  copyRows(o: number, a: number, P: number, n: number, oStep: number, aStep: number): void;
}

const cache = new WeakMap<WasmMemory, Simd>();

/** Instantiates (once per memory) the SIMD module on `memory`. */
export function simdFor(memory: WasmMemory): Simd {
  const hit = cache.get(memory);
  if (hit) return hit;
  const exports = instantiateOn(memory, assemble);
  const inst = { exports };
  const fma16 = inst.exports.fma16 as FmaFn;
  const fma4 = inst.exports.fma4 as FmaFn;
  const fma1 = inst.exports.fma1 as FmaFn;
  const row16 = inst.exports.row16 as RowFn, row4 = inst.exports.row4 as RowFn, row1 = inst.exports.row1 as RowFn;
  const simd = {
    fma(o, a, b, P, C, oStep, aStep, bStep) {
      if (P <= 0 || C <= 0) return;
      const os = oStep * 4, as = aStep * 4, bs = bStep * 4;
      const c16 = C - (C % 16);
      if (c16 > 0) fma16(o, a, b, P, c16 * 4, os, as, bs);
      const c4 = C - (C % 4);
      if (c4 > c16) {
        const d = c16 * 4;
        fma4(o + d, a + d, b + d, P, (c4 - c16) * 4, os, as, bs);
      }
      if (C > c4) {
        const d = c4 * 4;
        fma1(o + d, a + d, b + d, P, (C - c4) * 4, os, as, bs);
      }
    },
  } as Simd;
  const rows = (row16: RowFn, row4: RowFn, row1: RowFn): Simd["rowFma"] => (o, a, b, P, C, oStep, aStep, J, ajStep, bjStep) => {
    if (P <= 0 || C <= 0) return;
    const os = oStep * 4, as = aStep * 4, aj = ajStep * 4, bj = bjStep * 4;
    const c16 = C - (C % 16);
    if (c16 > 0) row16(o, a, b, P, c16 * 4, os, as, J, aj, bj);
    const c4 = C - (C % 4);
    if (c4 > c16) {
      const d = c16 * 4;
      row4(o + d, a + d, b + d, P, (c4 - c16) * 4, os, as, J, aj, bj);
    }
    if (C > c4) {
      const d = c4 * 4;
      row1(o + d, a + d, b + d, P, (C - c4) * 4, os, as, J, aj, bj);
    }
  };
  simd.rowFma = rows(row16, row4, row1);
  simd.rowSet = rows(inst.exports.rowSet16 as RowFn, inst.exports.rowSet4 as RowFn, inst.exports.rowSet1 as RowFn);
  simd.copyRows = inst.exports.copyRows as Simd["copyRows"];
  cache.set(memory, simd);
  return simd;
}
