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

const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function str(s: string): number[] {
  const bytes = Array.from(Buffer.from(s, "utf8"));
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

// Opcodes used below (WebAssembly core 2.0 + fixed-width SIMD).
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (l: number) => [0x0c, ...uleb(l)],
  brIf: (l: number) => [0x0d, ...uleb(l)],
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  eqz: [0x45],
  ltU: [0x49],
  add: [0x6a],
  sub: [0x6b],
  f32Load: (offset: number) => [0x2a, 0x00, ...uleb(offset)],
  f32Store: (offset: number) => [0x38, 0x00, ...uleb(offset)],
  f32Add: [0x92],
  f32Mul: [0x94],
  vLoad: (offset: number) => [0xfd, ...uleb(0x00), 0x00, ...uleb(offset)],
  vStore: (offset: number) => [0xfd, ...uleb(0x0b), 0x00, ...uleb(offset)],
  f32x4Add: [0xfd, ...uleb(0xe4)],
  f32x4Mul: [0xfd, ...uleb(0xe6)],
};

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
function rowFmaBody(lane: 16 | 4, U: number): number[] {
  const [o, a, b, P, CB, oStep, aStep, J, ajStep, bjStep, c, pa, pb, jj] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const acc = (u: number) => 14 + u;
  const load = (off: number) => (lane === 16 ? op.vLoad(off) : op.f32Load(off));
  const store = (off: number) => (lane === 16 ? op.vStore(off) : op.f32Store(off));
  const mul = lane === 16 ? op.f32x4Mul : op.f32Mul;
  const add = lane === 16 ? op.f32x4Add : op.f32Add;
  const init: number[] = [], body: number[] = [], fin: number[] = [];
  for (let u = 0; u < U; u++) {
    init.push(...op.get(o), ...op.get(c), ...op.add, ...load(u * lane), ...op.set(acc(u)));
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

function assemble(shared: boolean): Uint8Array {
  const fmaType = [0x60, ...vec(Array(8).fill([I32])), ...vec([])];
  const rowType = [0x60, ...vec(Array(10).fill([I32])), ...vec([])];
  const fmaLocals = vec([[...uleb(1), I32]]);
  const rowLocals = (t: number, U: number) => vec([[...uleb(4), I32], [...uleb(U), t]]);
  const funcs: Array<[number, number[], number[]]> = [
    [0, fmaLocals, fmaBody(16, 4)], [0, fmaLocals, fmaBody(16, 1)], [0, fmaLocals, fmaBody(4, 1)],
    [1, rowLocals(V128, 4), rowFmaBody(16, 4)], [1, rowLocals(V128, 1), rowFmaBody(16, 1)], [1, rowLocals(F32, 1), rowFmaBody(4, 1)],
  ];
  const code = funcs.map(([, locals, body]) => {
    const fn = [...locals, ...body, ...op.end];
    return [...uleb(fn.length), ...fn];
  });
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([fmaType, rowType])),
    // A shared memory (the threaded build) must be imported as shared, with a maximum: 65536 pages = 4 GiB.
    ...section(2, vec([[...str("env"), ...str("memory"), 0x02, ...(shared ? [0x03, ...uleb(0), ...uleb(65536)] : [0x00, ...uleb(0)])]])),
    ...section(3, vec(funcs.map(([t]) => uleb(t)))),
    ...section(7, vec([
      [...str("fma16"), 0x00, ...uleb(0)],
      [...str("fma4"), 0x00, ...uleb(1)],
      [...str("fma1"), 0x00, ...uleb(2)],
      [...str("row16"), 0x00, ...uleb(3)],
      [...str("row4"), 0x00, ...uleb(4)],
      [...str("row1"), 0x00, ...uleb(5)],
    ])),
    ...section(10, vec(code)),
  ];
  return new Uint8Array(bytes);
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
}

/** The parts of `WebAssembly` used here (the ES2022 lib has no WebAssembly typings and the lab uses no DOM lib). */
export interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const cache = new WeakMap<WasmMemory, Simd>();

/** Instantiates (once per memory) the SIMD module on `memory`. */
export function simdFor(memory: WasmMemory): Simd {
  const hit = cache.get(memory);
  if (hit) return hit;
  const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
  const module = new WA.Module(assemble(shared));
  const inst = new WA.Instance(module, { env: { memory } });
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
  simd.rowFma = (o, a, b, P, C, oStep, aStep, J, ajStep, bjStep) => {
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
  cache.set(memory, simd);
  return simd;
}
