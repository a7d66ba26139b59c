/**
 * f32x4 kernels for the network's pointwise layers on the wasm backend, assembled at load time (asm.ts) on the
 * backend's own memory: GELU (forward and gradient) and the time-modulated LayerNorm forward. They replace the
 * float64 JS loops of layers.ts / fused-norm.ts on wasm (those stay the cpu backend's kernels and the reference):
 * at 112² a DDIM step spent ≈ 23 % of its time in GELU and ≈ 12 % in the LayerNorm.
 *
 * GELU, tanh form (Hendrycks & Gimpel 2016), rewritten without tanh: ½(1 + tanh u) = σ(2u), so
 *     gelu(x) = x·σ(2u) = x / (1 + e^{−2u}),   u = c·(x + a·x³),  c = √(2/π), a = 0.044715,
 *     gelu'(x) = s·(1 + 2x·(e·s)·c·(1 + 3a·x²)),  e = e^{−2u},  s = 1/(1 + e)   (1 − s = e·s: no cancellation),
 * with e^z by Cody–Waite range reduction and Cephes' expf polynomial (S. Moshier, Cephes Math Library, expf.c):
 *     n = round(z·log₂e),  r = z − n·C₁ − n·C₂,  e^r ≈ 1 + r + r²·P(r),  e^z = e^r·2ⁿ (2ⁿ built in the exponent bits).
 * Each step is one or two float32 roundings, so the result is within a few ulp of the float64 formula (measured in
 * tests/lib/runtime/pointwise.test.ts). Saturation without NaN or overflow: x is clamped to ±20 before the cubic
 * (beyond it σ(2u) is 1 or below 1e-38 in float32), z to [−87.3, 88] (2ⁿ stays a normal float), and where z would
 * exceed 88 (x < −10, gelu(x) > −1e-37) s is set to 0.
 */
import { F32, I32, V128, WasmMemory, assembleModule, instantiateOn, memoryOf, op } from "./asm";
import type { TensorInfo, WasmBackend } from "./heap";

const GELU_C = Math.sqrt(2 / Math.PI), GELU_A = 0.044715;
const X_CLAMP = 20, Z_LO = -87.3, Z_HI = 88;
const ROUND = 12582912, ROUND_BITS = 0x4b400000; // 1.5·2²³ and its float32 bit pattern
const LOG2E = 1.44269504088896341, C1 = 0.693359375, C2 = -2.12194440e-4;
// Cephes expf: e^r ≈ 1 + r + r²·(((((P0 r + P1) r + P2) r + P3) r + P4) r + P5) on |r| ≤ ½ ln 2
const P = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];

/** `for (i = n; i ≠ 0; i−−) body` */
function countdown(i: number, body: number[]): number[] {
  return [
    ...op.block, ...op.loop,
    ...op.get(i), ...op.eqz, ...op.brIf(1),
    ...body,
    ...op.get(i), ...op.i32(1), ...op.sub, ...op.set(i),
    ...op.br(0),
    ...op.end, ...op.end,
  ];
}

/** `for (c = 0; c < CB; c += 16) body` (CB a multiple of 16, possibly 0) */
function overBytes(c: number, CB: number, body: number[]): number[] {
  return [
    ...op.i32(0), ...op.set(c),
    ...op.block, ...op.get(CB), ...op.eqz, ...op.brIf(0),
    ...op.loop,
    ...body,
    ...op.get(c), ...op.i32(16), ...op.add, ...op.tee(c), ...op.get(CB), ...op.ltU, ...op.brIf(0),
    ...op.end, ...op.end,
  ];
}

const addPtr = (p: number, step: number) => [...op.get(p), ...op.i32(step), ...op.add, ...op.set(p)];

/**
 * v128 constants held in locals set once before the loop (V8 materialises a v128.const at every use: several
 * instructions each, about a third of the GELU loop). `c(v)` reads the local holding v in all four lanes.
 */
class ConstPool {
  private readonly values: Array<[number, "f32" | "i32"]> = [];
  constructor(private readonly base: number) {}
  private at(v: number, kind: "f32" | "i32"): number[] {
    let i = this.values.findIndex(([w, k]) => k === kind && Object.is(w, v));
    if (i < 0) i = this.values.push([v, kind]) - 1;
    return op.get(this.base + i);
  }
  c(v: number): number[] { return this.at(v, "f32"); }
  i(v: number): number[] { return this.at(v, "i32"); }
  /** the prologue, after checking the pool fits the CONSTS locals reserved for it */
  prologue(): number[] {
    if (this.values.length > CONSTS) throw new Error(`pointwise: ${this.values.length} constants, ${CONSTS} locals reserved`);
    return this.values.flatMap(([v, k], i) => [...(k === "f32" ? op.f32x4Const(v) : op.i32x4Const(v)), ...op.set(this.base + i)]);
  }
}

/**
 * Locals (v128) in: vc (x clamped); out: s = σ(2u) (0 where z > Z_HI), e = e^{−2u}; scratch w, z, f.
 *   w = vc²;  z = −2·vc·(c + c·a·w);  mask = z < Z_HI;  z = clamp(z, Z_LO, Z_HI)
 *   f = nearest(z·log₂e);  r = (z − f·C₁) − f·C₂;  e = (((r²·P(r)) + r) + 1)·2^f;  s = (1 / (1 + e)) & mask
 */
function sigmoid2u(l: { vc: number; w: number; z: number; f: number; e: number; s: number }, K: ConstPool): number[] {
  return [
    ...op.get(l.vc), ...op.get(l.vc), ...op.f32x4Mul, ...op.set(l.w),
    ...op.get(l.vc), ...K.c(-2 * GELU_C), ...op.f32x4Mul,
    ...K.c(1), ...op.get(l.w), ...K.c(GELU_A), ...op.f32x4Mul, ...op.f32x4Add,
    ...op.f32x4Mul, ...op.set(l.z),
    ...expAndSigmoid(l, K),
  ];
}

/** From z (local): s = (1 / (1 + e^z)) & (z < Z_HI), e = e^z (z clamped to [Z_LO, Z_HI]); scratch f. */
function expAndSigmoid(l: { z: number; f: number; e: number; s: number }, K: ConstPool): number[] {
  const poly = [...K.c(P[0])];
  for (let k = 1; k < P.length; k++) poly.push(...op.get(l.z), ...op.f32x4Mul, ...K.c(P[k]), ...op.f32x4Add);
  return [
    // mask (all ones where z < Z_HI) parked in s
    ...op.get(l.z), ...K.c(Z_HI), ...op.f32x4Lt, ...op.set(l.s),
    ...op.get(l.z), ...K.c(Z_HI), ...op.f32x4Pmin, ...K.c(Z_LO), ...op.f32x4Pmax, ...op.set(l.z),
    // f = nearest(z·log₂e) by the 1.5·2²³ trick (the float add rounds to an integer, ties to even, as f32x4.nearest
    // does; m's low mantissa bits then hold f, which saves a float→int conversion below); m parked in e
    ...op.get(l.z), ...K.c(LOG2E), ...op.f32x4Mul, ...K.c(ROUND), ...op.f32x4Add, ...op.tee(l.e),
    ...K.c(ROUND), ...op.f32x4Sub, ...op.set(l.f),
    // r = (z − f·C₁) − f·C₂, kept in z
    ...op.get(l.z), ...op.get(l.f), ...K.c(C1), ...op.f32x4Mul, ...op.f32x4Sub,
    ...op.get(l.f), ...K.c(C2), ...op.f32x4Mul, ...op.f32x4Sub, ...op.set(l.z),
    // e^r = P(r)·r² + r + 1
    ...poly, ...op.get(l.z), ...op.get(l.z), ...op.f32x4Mul, ...op.f32x4Mul,
    ...op.get(l.z), ...op.f32x4Add, ...K.c(1), ...op.f32x4Add,
    // · 2^f: (f + 127) << 23 is the float32 bit pattern of 2^f, and f = bits(m) − bits(1.5·2²³)
    ...op.get(l.e), ...K.i(127 - ROUND_BITS), ...op.i32x4Add, ...op.i32(23), ...op.i32x4Shl,
    ...op.f32x4Mul, ...op.set(l.e),
    ...K.c(1), ...K.c(1), ...op.get(l.e), ...op.f32x4Add, ...op.f32x4Div,
    ...op.get(l.s), ...op.v128And, ...op.set(l.s),
  ];
}

/** Locals of vector u of an unrolled body, from `base` on. */
const vecLocals = (base: number, u: number) => {
  const b = base + 7 * u;
  return { v: b, vc: b + 1, w: b + 2, z: b + 3, f: b + 4, e: b + 5, s: b + 6 };
};

/**
 * geluForward(y, x, n): for n groups of U vectors of 4 at byte offsets y, x (U independent chains per iteration
 * keep the long exp/divide dependency chain from idling the core):
 *   v = x[i];  vc = clamp(v, ±X_CLAMP);  s = σ(2u(vc));  y[i] = v·s
 */
function geluForwardBody(U: number): number[] {
  const [y, x, n] = [0, 1, 2];
  const K = new ConstPool(3 + 7 * U), body: number[] = [];
  for (let u = 0; u < U; u++) {
    const l = vecLocals(3, u);
    body.push(
      ...op.get(x), ...op.vLoad(16 * u), ...op.tee(l.v),
      ...K.c(X_CLAMP), ...op.f32x4Pmin, ...K.c(-X_CLAMP), ...op.f32x4Pmax, ...op.set(l.vc),
      ...sigmoid2u(l, K),
      ...op.get(y), ...op.get(l.v), ...op.get(l.s), ...op.f32x4Mul, ...op.vStore(16 * u),
    );
  }
  const loop = countdown(n, [...body, ...addPtr(x, 16 * U), ...addPtr(y, 16 * U)]);
  return [...K.prologue(), ...loop];
}

/**
 * geluGrad(dx, dy, x, n): for n groups of U vectors of 4:
 *   vc = clamp(x[i], ±X_CLAMP);  s, e as above;  dx[i] = dy[i]·s·(1 + 2·vc·(e·s)·(c + 3ca·vc²))
 */
function geluGradBody(U: number): number[] {
  const [dx, dy, x, n] = [0, 1, 2, 3];
  const K = new ConstPool(4 + 7 * U), body: number[] = [];
  for (let u = 0; u < U; u++) {
    const l = vecLocals(4, u);
    body.push(
      ...op.get(x), ...op.vLoad(16 * u),
      ...K.c(X_CLAMP), ...op.f32x4Pmin, ...K.c(-X_CLAMP), ...op.f32x4Pmax, ...op.set(l.vc),
      ...sigmoid2u(l, K),
      ...op.get(dx),
      ...op.get(dy), ...op.vLoad(16 * u), ...op.get(l.s), ...op.f32x4Mul,
      ...K.c(1),
      ...op.get(l.vc), ...K.c(2), ...op.f32x4Mul,
      ...op.get(l.e), ...op.get(l.s), ...op.f32x4Mul, ...op.f32x4Mul,
      ...K.c(GELU_C), ...op.get(l.w), ...K.c(3 * GELU_C * GELU_A), ...op.f32x4Mul, ...op.f32x4Add,
      ...op.f32x4Mul, ...op.f32x4Add,
      ...op.f32x4Mul, ...op.vStore(16 * u),
    );
  }
  const loop = countdown(n, [...body, ...addPtr(dx, 16 * U), ...addPtr(dy, 16 * U), ...addPtr(x, 16 * U)]);
  return [...K.prologue(), ...loop];
}

/** Σ of the four lanes of local v, as ((l₀ + l₁) + l₂) + l₃ (f32 on the stack) */
const laneSum = (v: number) => [
  ...op.get(v), ...op.f32x4ExtractLane(0), ...op.get(v), ...op.f32x4ExtractLane(1), ...op.f32Add,
  ...op.get(v), ...op.f32x4ExtractLane(2), ...op.f32Add, ...op.get(v), ...op.f32x4ExtractLane(3), ...op.f32Add,
];

/**
 * modLayerNorm(y, stats, x, g, be, sc, sh, M, CB, Cf, eps): M rows of C = CB/4 channels (C a multiple of 4) of one
 * image; g, be [C]; sc, sh [C] this image's modulation; stats [M, 2]:
 *   for each row:  μ = Σ_c x / C;  rstd = 1/√(Σ_c (x − μ)² / C + ε);  stats = (μ, rstd)
 *                  y[c] = ((x[c] − μ)·rstd·g[c] + be[c])·(1 + sc[c]) + sh[c]
 * Sums run in four float32 lanes (two passes over the row, as the float64 JS kernel does).
 */
function modLayerNormBody(): number[] {
  const [y, st, x, g, be, sc, sh, M, CB, Cf, eps] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [c, acc, d, mu, rstd] = [11, 12, 13, 14, 15];
  const xc = [...op.get(x), ...op.get(c), ...op.add, ...op.vLoad(0)];
  const at = (p: number) => [...op.get(p), ...op.get(c), ...op.add, ...op.vLoad(0)];
  return countdown(M, [
    ...op.f32x4Const(0), ...op.set(acc),
    ...overBytes(c, CB, [...op.get(acc), ...xc, ...op.f32x4Add, ...op.set(acc)]),
    ...op.get(st), ...laneSum(acc), ...op.get(Cf), ...op.f32Div, ...op.f32Store(0),
    ...op.get(st), ...op.f32Load(0), ...op.f32x4Splat, ...op.set(mu),
    ...op.f32x4Const(0), ...op.set(acc),
    ...overBytes(c, CB, [...xc, ...op.get(mu), ...op.f32x4Sub, ...op.tee(d), ...op.get(d), ...op.f32x4Mul, ...op.get(acc), ...op.f32x4Add, ...op.set(acc)]),
    ...op.get(st), ...op.f32(1), ...laneSum(acc), ...op.get(Cf), ...op.f32Div, ...op.get(eps), ...op.f32Add, ...op.f32Sqrt, ...op.f32Div,
    ...op.f32Store(4),
    ...op.get(st), ...op.f32Load(4), ...op.f32x4Splat, ...op.set(rstd),
    ...overBytes(c, CB, [
      ...op.get(y), ...op.get(c), ...op.add,
      ...xc, ...op.get(mu), ...op.f32x4Sub, ...op.get(rstd), ...op.f32x4Mul, ...at(g), ...op.f32x4Mul, ...at(be), ...op.f32x4Add,
      ...op.f32x4Const(1), ...at(sc), ...op.f32x4Add, ...op.f32x4Mul, ...at(sh), ...op.f32x4Add,
      ...op.vStore(0),
    ]),
    ...op.get(x), ...op.get(CB), ...op.add, ...op.set(x),
    ...op.get(y), ...op.get(CB), ...op.add, ...op.set(y),
    ...addPtr(st, 8),
  ]);
}

/**
 * scaleShift(o, a, s, bias, P, CB): P rows of C = CB/4 channels (C a multiple of 4):
 *   o[p, c] = a[p, c] · s[p] + bias[c]      (o may equal a)
 */
function scaleShiftBody(): number[] {
  const [o, a, s, bias, P, CB] = [0, 1, 2, 3, 4, 5];
  const [c, sv] = [6, 7];
  return countdown(P, [
    ...op.get(s), ...op.f32Load(0), ...op.f32x4Splat, ...op.set(sv),
    ...overBytes(c, CB, [
      ...op.get(o), ...op.get(c), ...op.add,
      ...op.get(a), ...op.get(c), ...op.add, ...op.vLoad(0), ...op.get(sv), ...op.f32x4Mul,
      ...op.get(bias), ...op.get(c), ...op.add, ...op.vLoad(0), ...op.f32x4Add,
      ...op.vStore(0),
    ]),
    ...op.get(o), ...op.get(CB), ...op.add, ...op.set(o),
    ...op.get(a), ...op.get(CB), ...op.add, ...op.set(a),
    ...addPtr(s, 4),
  ]);
}

/**
 * centeredSq(o, a, m, P, CB): P rows of C = CB/4 channels:  o[c] += (a[p, c] − m[c])²   (o accumulates)
 */
function centeredSqBody(): number[] {
  const [o, a, m, P, CB] = [0, 1, 2, 3, 4];
  const [c, d] = [5, 6];
  const at = (q: number) => [...op.get(q), ...op.get(c), ...op.add];
  return countdown(P, [
    ...overBytes(c, CB, [
      ...at(o),
      ...at(a), ...op.vLoad(0), ...at(m), ...op.vLoad(0), ...op.f32x4Sub, ...op.tee(d), ...op.get(d), ...op.f32x4Mul,
      ...at(o), ...op.vLoad(0), ...op.f32x4Add, ...op.vStore(0),
    ]),
    ...op.get(a), ...op.get(CB), ...op.add, ...op.set(a),
  ]);
}

/**
 * affineSilu(y, x, m, A, Bv, P, CB): P rows of C = CB/4 channels:
 *   u = (x[p, c] − m[c])·A[c] + Bv[c];  y[p, c] = u·σ(u)   (σ(u) by the GELU path's exp, e^{−u}; 0 below u = −88)
 */
function affineSiluBody(): number[] {
  const [y, x, m, A, Bv, P, CB] = [0, 1, 2, 3, 4, 5, 6];
  const c = 7;
  const l = { u: 8, z: 9, f: 10, e: 11, s: 12 };
  const K = new ConstPool(13);
  const at = (q: number) => [...op.get(q), ...op.get(c), ...op.add, ...op.vLoad(0)];
  const loop = countdown(P, [
    ...overBytes(c, CB, [
      ...at(x), ...at(m), ...op.f32x4Sub, ...at(A), ...op.f32x4Mul, ...at(Bv), ...op.f32x4Add, ...op.tee(l.u),
      // z = −u, then s = 1/(1 + e^z) as in sigmoid2u (mask: z < Z_HI)
      ...K.c(-1), ...op.f32x4Mul, ...op.set(l.z),
      ...expAndSigmoid(l, K),
      ...op.get(y), ...op.get(c), ...op.add, ...op.get(l.u), ...op.get(l.s), ...op.f32x4Mul, ...op.vStore(0),
    ]),
    ...op.get(x), ...op.get(CB), ...op.add, ...op.set(x),
    ...op.get(y), ...op.get(CB), ...op.add, ...op.set(y),
  ]);
  return [...K.prologue(), ...loop];
}

/** Per-channel rows of the GroupNorm-SiLU gradient, CB bytes apart from `rows` on (see gnSiluGrad1Body). */
const GN_ROWS = ["M", "Rs", "Gm", "Bt", "Av", "Sh", "accH", "accS", "accB", "accG", "accMg", "accMgx", "MG", "MGX"] as const;
export const GN_ROW = Object.fromEntries(GN_ROWS.map((n, i) => [n, i])) as Record<(typeof GN_ROWS)[number], number>;

/** Locals r_k = rows + k·CB for the GN rows (so each access is one add). */
function gnRowPtrs(rows: number, CB: number, base: number): number[] {
  return GN_ROWS.flatMap((_, k) => [...op.get(rows), ...op.get(CB), ...op.i32(k), ...op.mul, ...op.add, ...op.set(base + k)]);
}

/**
 * gnSiluGrad1(dx, dy, x, rows, P, CB): first pass of the GroupNorm → modulation → SiLU gradient over one image's
 * P pixels (C = CB/4 channels), with the per-channel rows M = μ, Rs = rstd (of the channel's group), Gm = γ, Bt = β,
 * Av = 1 + scale, Sh = shift:
 *   h = (x − M)·Rs;  z = h·Gm + Bt;  u = z·Av + Sh;  σ = σ(u), e = e^{−u};  du = dy·σ·(1 + u·e·σ)   (1 − σ = e·σ)
 *   accH += du;  accS += du·z;  dz = du·Av;  accB += dz;  accG += dz·h;  g = dz·Gm;  accMg += g;  accMgx += g·h;  dx = g
 */
function gnSiluGrad1Body(): number[] {
  const [dx, dy, x, rows, P, CB] = [0, 1, 2, 3, 4, 5];
  const c = 6, r0 = 7; // r0 … r0 + 13: row pointers
  const v = 7 + GN_ROWS.length;
  const l = { h: v, zn: v + 1, u: v + 2, z: v + 3, f: v + 4, e: v + 5, s: v + 6, du: v + 7, dz: v + 8, g: v + 9 };
  const K = new ConstPool(v + 10);
  const row = (name: keyof typeof GN_ROW) => [...op.get(r0 + GN_ROW[name]), ...op.get(c), ...op.add];
  const load = (name: keyof typeof GN_ROW) => [...row(name), ...op.vLoad(0)];
  const acc = (name: keyof typeof GN_ROW, value: number[]) => [...row(name), ...load(name), ...value, ...op.f32x4Add, ...op.vStore(0)];
  const at = (p: number) => [...op.get(p), ...op.get(c), ...op.add];
  const loop = countdown(P, [
    ...overBytes(c, CB, [
      ...at(x), ...op.vLoad(0), ...load("M"), ...op.f32x4Sub, ...load("Rs"), ...op.f32x4Mul, ...op.set(l.h),
      ...op.get(l.h), ...load("Gm"), ...op.f32x4Mul, ...load("Bt"), ...op.f32x4Add, ...op.set(l.zn),
      ...op.get(l.zn), ...load("Av"), ...op.f32x4Mul, ...load("Sh"), ...op.f32x4Add, ...op.tee(l.u),
      ...K.c(-1), ...op.f32x4Mul, ...op.set(l.z),
      ...expAndSigmoid(l, K),
      // du = dy·σ·(1 + u·(e·σ)); e·σ first: e may be 1.6e38 where σ was zeroed, and u·e would overflow
      ...at(dy), ...op.vLoad(0), ...op.get(l.s), ...op.f32x4Mul,
      ...K.c(1), ...op.get(l.u), ...op.get(l.e), ...op.get(l.s), ...op.f32x4Mul, ...op.f32x4Mul, ...op.f32x4Add,
      ...op.f32x4Mul, ...op.set(l.du),
      ...acc("accH", op.get(l.du)),
      ...acc("accS", [...op.get(l.du), ...op.get(l.zn), ...op.f32x4Mul]),
      ...op.get(l.du), ...load("Av"), ...op.f32x4Mul, ...op.set(l.dz),
      ...acc("accB", op.get(l.dz)),
      ...acc("accG", [...op.get(l.dz), ...op.get(l.h), ...op.f32x4Mul]),
      ...op.get(l.dz), ...load("Gm"), ...op.f32x4Mul, ...op.set(l.g),
      ...acc("accMg", op.get(l.g)),
      ...acc("accMgx", [...op.get(l.g), ...op.get(l.h), ...op.f32x4Mul]),
      ...at(dx), ...op.get(l.g), ...op.vStore(0),
    ]),
    ...op.get(dx), ...op.get(CB), ...op.add, ...op.set(dx),
    ...op.get(dy), ...op.get(CB), ...op.add, ...op.set(dy),
    ...op.get(x), ...op.get(CB), ...op.add, ...op.set(x),
  ]);
  return [...gnRowPtrs(rows, CB, r0), ...K.prologue(), ...loop];
}

/**
 * gnSiluGrad2(dx, x, rows, P, CB): second pass, with MG = mean of g and MGX = mean of g·h over the channel's group:
 *   dx = Rs·(dx − MG − (x − M)·Rs·MGX)      (dx holds g from the first pass)
 */
function gnSiluGrad2Body(): number[] {
  const [dx, x, rows, P, CB] = [0, 1, 2, 3, 4];
  const c = 5, r0 = 6;
  const load = (name: keyof typeof GN_ROW) => [...op.get(r0 + GN_ROW[name]), ...op.get(c), ...op.add, ...op.vLoad(0)];
  const at = (p: number) => [...op.get(p), ...op.get(c), ...op.add];
  return [
    ...gnRowPtrs(rows, CB, r0),
    ...countdown(P, [
      ...overBytes(c, CB, [
        ...at(dx),
        ...at(dx), ...op.vLoad(0), ...load("MG"), ...op.f32x4Sub,
        ...at(x), ...op.vLoad(0), ...load("M"), ...op.f32x4Sub, ...load("Rs"), ...op.f32x4Mul, ...load("MGX"), ...op.f32x4Mul,
        ...op.f32x4Sub, ...load("Rs"), ...op.f32x4Mul,
        ...op.vStore(0),
      ]),
      ...op.get(dx), ...op.get(CB), ...op.add, ...op.set(dx),
      ...op.get(x), ...op.get(CB), ...op.add, ...op.set(x),
    ]),
  ];
}

const GELU_UNROLL = 2;
/** v128 locals reserved for each GELU body's ConstPool (checked when the body is built) */
const CONSTS = 24;

function assemble(shared: boolean): Uint8Array {
  return assembleModule(shared, [
    [[I32, I32, I32], []],
    [[I32, I32, I32, I32], []],
    [[I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, F32], []],
    [[I32, I32, I32, I32, I32, I32], []],
    [[I32, I32, I32, I32, I32], []],
    [[I32, I32, I32, I32, I32, I32, I32], []],
  ], [
    { type: 0, locals: [[7 + CONSTS, V128]], body: geluForwardBody(1), name: "geluForward" },
    { type: 1, locals: [[7 + CONSTS, V128]], body: geluGradBody(1), name: "geluGrad" },
    { type: 0, locals: [[7 * GELU_UNROLL + CONSTS, V128]], body: geluForwardBody(GELU_UNROLL), name: "geluForwardU" },
    { type: 1, locals: [[7 * GELU_UNROLL + CONSTS, V128]], body: geluGradBody(GELU_UNROLL), name: "geluGradU" },
    { type: 2, locals: [[1, I32], [4, V128]], body: modLayerNormBody(), name: "modLayerNorm" },
    { type: 3, locals: [[1, I32], [1, V128]], body: scaleShiftBody(), name: "scaleShift" },
    { type: 4, locals: [[1, I32], [1, V128]], body: centeredSqBody(), name: "centeredSq" },
    { type: 5, locals: [[1, I32], [5 + CONSTS, V128]], body: affineSiluBody(), name: "affineSilu" },
    { type: 3, locals: [[1 + GN_ROWS.length, I32], [10 + CONSTS, V128]], body: gnSiluGrad1Body(), name: "gnSiluGrad1" },
    { type: 4, locals: [[1 + GN_ROWS.length, I32]], body: gnSiluGrad2Body(), name: "gnSiluGrad2" },
  ]);
}

export interface Pointwise {
  /** y = gelu(x) over n float32 (n ≥ 4; byte offsets, 4-aligned, y ≠ x) */
  geluForward(y: number, x: number, n: number): void;
  /** dx = dy · gelu'(x) over n float32 (n ≥ 4) */
  geluGrad(dx: number, dy: number, x: number, n: number): void;
  /** one image's M rows of the modulated LayerNorm (see modLayerNormBody); C a multiple of 4 */
  modLayerNorm(y: number, stats: number, x: number, g: number, be: number, sc: number, sh: number, M: number, C: number, eps: number): void;
  /** o[p, c] = a[p, c]·s[p] + bias[c] for P rows of C channels (C a multiple of 4; o may equal a) */
  scaleShift(o: number, a: number, s: number, bias: number, P: number, C: number): void;
  /** o[c] += Σ_p (a[p, c] − m[c])² over P rows of C channels (C a multiple of 4) */
  centeredSq(o: number, a: number, m: number, P: number, C: number): void;
  /** y[p, c] = silu((x[p, c] − m[c])·A[c] + Bv[c]) over P rows of C channels (C a multiple of 4) */
  affineSilu(y: number, x: number, m: number, A: number, Bv: number, P: number, C: number): void;
  /** the two passes of the GroupNorm-SiLU gradient over one image (rows: the GN_ROW block, C a multiple of 4) */
  gnSiluGrad1(dx: number, dy: number, x: number, rows: number, P: number, C: number): void;
  gnSiluGrad2(dx: number, x: number, rows: number, P: number, C: number): void;
}

type Fn = (...a: number[]) => void;
const cache = new WeakMap<WasmMemory, Pointwise>();

/** Instantiates (once per memory) the pointwise kernels on `memory`. */
export function pointwiseFor(memory: WasmMemory): Pointwise {
  const hit = cache.get(memory);
  if (hit) return hit;
  const ex = instantiateOn(memory, assemble);
  const fwd1 = ex.geluForward as Fn, grad1 = ex.geluGrad as Fn, ln = ex.modLayerNorm as Fn, ss = ex.scaleShift as Fn;
  const fwdU = ex.geluForwardU as Fn, gradU = ex.geluGradU as Fn;
  // nv vectors: groups of GELU_UNROLL, then the rest one by one (same arithmetic: results do not depend on the split)
  const fwd = (y: number, x: number, nv: number) => {
    const g = Math.floor(nv / GELU_UNROLL), d = 16 * GELU_UNROLL * g;
    fwdU(y, x, g);
    fwd1(y + d, x + d, nv - g * GELU_UNROLL);
  };
  const grad = (dx: number, dy: number, x: number, nv: number) => {
    const g = Math.floor(nv / GELU_UNROLL), d = 16 * GELU_UNROLL * g;
    gradU(dx, dy, x, g);
    grad1(dx + d, dy + d, x + d, nv - g * GELU_UNROLL);
  };
  // n not a multiple of 4: the last vector overlaps the previous one and recomputes the same values
  const tail = (n: number, run: (d: number) => void) => { if (n % 4 !== 0) run(4 * (n - 4)); };
  const pw: Pointwise = {
    geluForward(y, x, n) {
      if (n < 4) throw new Error("geluForward: fewer than 4 values");
      fwd(y, x, n >> 2);
      tail(n, (d) => fwd(y + d, x + d, 1));
    },
    geluGrad(dx, dy, x, n) {
      if (n < 4) throw new Error("geluGrad: fewer than 4 values");
      grad(dx, dy, x, n >> 2);
      tail(n, (d) => grad(dx + d, dy + d, x + d, 1));
    },
    modLayerNorm(y, stats, x, g, be, sc, sh, M, C, eps) {
      if (C % 4 !== 0) throw new Error("modLayerNorm: channels not a multiple of 4");
      ln(y, stats, x, g, be, sc, sh, M, 4 * C, C, eps);
    },
    scaleShift(o, a, s, bias, P, C) {
      if (C % 4 !== 0) throw new Error("scaleShift: channels not a multiple of 4");
      ss(o, a, s, bias, P, 4 * C);
    },
    centeredSq(o, a, m, P, C) {
      if (C % 4 !== 0) throw new Error("centeredSq: channels not a multiple of 4");
      (ex.centeredSq as Fn)(o, a, m, P, 4 * C);
    },
    affineSilu(y, x, m, A, Bv, P, C) {
      if (C % 4 !== 0) throw new Error("affineSilu: channels not a multiple of 4");
      (ex.affineSilu as Fn)(y, x, m, A, Bv, P, 4 * C);
    },
    gnSiluGrad1(dx, dy, x, rows, P, C) {
      if (C % 4 !== 0) throw new Error("gnSiluGrad1: channels not a multiple of 4");
      (ex.gnSiluGrad1 as Fn)(dx, dy, x, rows, P, 4 * C);
    },
    gnSiluGrad2(dx, x, rows, P, C) {
      if (C % 4 !== 0) throw new Error("gnSiluGrad2: channels not a multiple of 4");
      (ex.gnSiluGrad2 as Fn)(dx, x, rows, P, 4 * C);
    },
  };
  cache.set(memory, pw);
  return pw;
}

let enabled = true;

/**
 * Switches the wasm backend's GELU and modulated-LayerNorm kernels between these SIMD kernels (default) and the
 * float64 JS loops (the cpu backend's): for before/after timings in one process (bench/pointwise.ts) and tests.
 */
export function setWasmPointwise(on: boolean): void {
  enabled = on;
}

/** The kernels for backend `be`, or null when switched off. */
export function wasmPointwise(be: WasmBackend): Pointwise | null {
  return enabled ? pointwiseFor(memoryOf(be)) : null;
}

/** Elements of a tensor. */
export const sizeOf = (t: TensorInfo): number => t.shape.reduce((a, b) => a * b, 1);
