/**
 * A minimal WebAssembly byte assembler for the lab's hand-written SIMD kernels (simd.ts, pointwise.ts): LEB128
 * encoders, sections, named opcodes (core 2.0 + fixed-width SIMD) and a module builder that imports the tfjs wasm
 * backend's memory. Why bytes and not a toolchain: the kernels are a few dozen instructions each, and assembling
 * them at load time keeps the build free of a wat2wasm step and of committed binaries; every kernel documents its
 * loop in pseudo-code beside the code that emits it.
 */

export const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

export function str(s: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(s));
  return [...uleb(bytes.length), ...bytes];
}

export function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

export function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

const simd = (code: number) => [0xfd, ...uleb(code)];
const f32Bytes = (v: number) => Array.from(new Uint8Array(Float32Array.of(v).buffer));

/** Opcodes (WebAssembly core 2.0 + fixed-width SIMD), named as in the text format. */
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (l: number) => [0x0c, ...uleb(l)],
  brIf: (l: number) => [0x0d, ...uleb(l)],
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  f32: (v: number) => [0x43, ...f32Bytes(v)],
  eqz: [0x45],
  ltU: [0x49],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  f32Load: (offset: number) => [0x2a, 0x00, ...uleb(offset)],
  f32Store: (offset: number) => [0x38, 0x00, ...uleb(offset)],
  f32Add: [0x92],
  f32Sub: [0x93],
  f32Mul: [0x94],
  f32Div: [0x95],
  f32Sqrt: [0x91],
  f32ConvertI32U: [0xb3],
  /** memory.copy (bulk memory): [dst, src, n bytes] → [] */
  memoryCopy: [0xfc, 0x0a, 0x00, 0x00],
  vLoad: (offset: number) => [...simd(0x00), 0x00, ...uleb(offset)],
  vStore: (offset: number) => [...simd(0x0b), 0x00, ...uleb(offset)],
  /** a v128 constant with the same float32 in all four lanes */
  f32x4Const: (v: number) => [...simd(0x0c), ...f32Bytes(v), ...f32Bytes(v), ...f32Bytes(v), ...f32Bytes(v)],
  f32x4Splat: simd(0x13),
  f32x4ExtractLane: (lane: number) => [...simd(0x1f), lane],
  f32x4Lt: simd(0x43),
  v128And: simd(0x4e),
  i32x4Shl: simd(0xab),
  i32x4Add: simd(0xae),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Div: simd(0xe7),
  /** pmin(a, b) = b < a ? b : a (one minps on x86; NaN in a passes through) */
  f32x4Pmin: simd(0xea),
  f32x4Pmax: simd(0xeb),
  i32x4Const: (v: number) => [...simd(0x0c), ...[v, v, v, v].flatMap((x) => Array.from(new Uint8Array(Int32Array.of(x).buffer)))],
};

/** One function: its type index, locals as [count, valtype] runs, body (without the final `end`), export name. */
export interface Func { type: number; locals: Array<[number, number]>; body: number[]; name: string }

/**
 * A module of `funcs` over the imported memory `env.memory`. `types` are [params, results] valtype lists. A
 * shared memory (the threaded build) must be imported as shared, with a maximum: 65536 pages = 4 GiB.
 */
export function assembleModule(shared: boolean, types: Array<[number[], number[]]>, funcs: Func[]): Uint8Array {
  const code = funcs.map((f) => {
    const fn = [...vec(f.locals.map(([n, t]) => [...uleb(n), t])), ...f.body, ...op.end];
    return [...uleb(fn.length), ...fn];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types.map(([p, r]) => [0x60, ...vec(p.map((t) => [t])), ...vec(r.map((t) => [t]))]))),
    ...section(2, vec([[...str("env"), ...str("memory"), 0x02, ...(shared ? [0x03, ...uleb(0), ...uleb(65536)] : [0x00, ...uleb(0)])]])),
    ...section(3, vec(funcs.map((f) => uleb(f.type)))),
    ...section(7, vec(funcs.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(code)),
  ]);
}

/** The parts of `WebAssembly` used here (the ES2022 lib has no WebAssembly typings and the lab uses no DOM lib). */
export interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The tfjs wasm backend's `WebAssembly.Memory` (the slice of `BackendWasm` it reads; see heap.ts). */
export function memoryOf(be: { wasm: { HEAPU8: Uint8Array; asm: Record<string, unknown>; wasmMemory?: WasmMemory } }): WasmMemory {
  // The threaded build creates its (shared) memory in JS and imports it: `wasmMemory`, not an export.
  const mem = (be.wasm.asm.memory ?? be.wasm.wasmMemory) as WasmMemory | undefined;
  if (mem == null || mem.buffer !== be.wasm.HEAPU8.buffer) {
    throw new Error("wasm-kernels: cannot find the wasm backend's WebAssembly.Memory (tfjs-backend-wasm version?)");
  }
  return mem;
}

/** Instantiates `bytes(shared)` on `memory` (shared when the threaded build's memory is a SharedArrayBuffer). */
export function instantiateOn(memory: WasmMemory, bytes: (shared: boolean) => Uint8Array): Record<string, unknown> {
  const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
  return new WA.Instance(new WA.Module(bytes(shared)), { env: { memory } }).exports;
}
