/**
 * Depthwise conv forward and both gradients for the wasm backend, on the shared-memory SIMD `fma` row primitive
 * (see simd.ts). tfjs 4.22's wasm depthwise runs 7×7 at ~1 GFLOP/s and has no gradient kernels at all.
 *
 * With C' = C·m channels (channel multiplier m; x's channels repeated m times so out channel c·m+q pairs with x
 * channel c, as tfjs orders them), for every output row (b, ho) and tap (i, j):
 *   forward        y[b,ho,:,:]            += xpad[b, ho·s+i·d, j·d + s·wo, :] ⊙ w[i,j,:]
 *   input grad     dxpad[b, ho·s+i·d, …]  += dy[b,ho,wo,:] ⊙ w[i,j,:]            (scatter form: any stride)
 *   filter grad    dW[i,j,:]              += Σ_wo xpad[b, ho·s+i·d, j·d + s·wo, :] ⊙ dy[b,ho,wo,:]
 */
import { tf } from "../backend";
import { WasmBackend, TensorInfo, alloc, f32, free, ptr } from "./heap";
import { Simd } from "./simd";

interface DwAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
  dataFormat?: "NHWC" | "NCHW";
}

interface Geo {
  B: number; H: number; W: number; C: number; m: number; Cp: number;
  Ho: number; Wo: number; kh: number; kw: number; sh: number; sw: number; dh: number; dw: number;
  pt: number; pl: number; Hp: number; Wp: number;
}

function geometry(xShape: number[], filterShape: number[], a: DwAttrs, kernel: string): Geo {
  if ((a.dataFormat ?? "NHWC") !== "NHWC") throw new Error(`wasm ${kernel}: only NHWC is supported`);
  const c = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true,
  );
  const m = filterShape[3];
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = c;
  const Ho = c.outHeight, Wo = c.outWidth, kh = c.filterHeight, kw = c.filterWidth;
  return {
    B: c.batchSize, H: c.inHeight, W: c.inWidth, C: c.inChannels, m, Cp: c.inChannels * m,
    Ho, Wo, kh, kw, sh, sw, dh, dw, pt: c.padInfo.top, pl: c.padInfo.left,
    // rows/cols of the padded input that any tap reads
    Hp: (Ho - 1) * sh + (kh - 1) * dh + 1, Wp: (Wo - 1) * sw + (kw - 1) * dw + 1,
  };
}

/** xpad [B, Hp, Wp, C·m]: x placed at (pt, pl), each channel repeated m times, zeros elsewhere. */
function padExpand(be: WasmBackend, x: TensorInfo, g: Geo): TensorInfo {
  const { B, H, W, C, m, Cp, Hp, Wp, pt, pl } = g;
  const xp = alloc(be, [B, Hp, Wp, Cp]);
  const src = f32(be, x), dst = f32(be, xp);
  const w0 = Math.max(0, -pl), w1 = Math.min(W, Wp - pl);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const r = h + pt;
    if (r < 0 || r >= Hp || w1 <= w0) continue;
    const s0 = ((b * H + h) * W + w0) * C, d0 = ((b * Hp + r) * Wp + w0 + pl) * Cp;
    if (m === 1) {
      dst.set(src.subarray(s0, s0 + (w1 - w0) * C), d0);
    } else {
      for (let k = 0, n = (w1 - w0) * C; k < n; k++) for (let q = 0; q < m; q++) dst[d0 + k * m + q] = src[s0 + k];
    }
  }
  return xp;
}

// y [B, Ho, Wo, C·m] from x [B, H, W, C] and filter [kh, kw, C, m].
export function depthwiseForward(be: WasmBackend, simd: Simd, x: TensorInfo, filter: TensorInfo, a: DwAttrs): TensorInfo {
  const g = geometry(x.shape, filter.shape, a, "DepthwiseConv2dNative");
  const { B, Cp, Ho, Wo, kh, kw, sh, sw, dh, dw, Hp, Wp } = g;
  const xp = padExpand(be, x, g);
  const y = alloc(be, [B, Ho, Wo, Cp]);
  const X = ptr(be, xp), Y = ptr(be, y), F = ptr(be, filter);
  for (let b = 0; b < B; b++) for (let ho = 0; ho < Ho; ho++) {
    const yRow = Y + (b * Ho + ho) * Wo * Cp * 4;
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const xRow = X + ((b * Hp + ho * sh + i * dh) * Wp + j * dw) * Cp * 4;
      simd.fma(yRow, xRow, F + (i * kw + j) * Cp * 4, Wo, Cp, Cp, sw * Cp, 0);
    }
  }
  free(be, xp);
  return y;
}

// dx [B, H, W, C] from dy [B, Ho, Wo, C·m] and filter [kh, kw, C, m].
export function depthwiseBackpropInput(be: WasmBackend, simd: Simd, dy: TensorInfo, filter: TensorInfo, inputShape: number[], a: DwAttrs): TensorInfo {
  const g = geometry(inputShape, filter.shape, a, "DepthwiseConv2dNativeBackpropInput");
  const { B, H, W, C, m, Cp, Ho, Wo, kh, kw, sh, sw, dh, dw, Hp, Wp, pt, pl } = g;
  const dxp = alloc(be, [B, Hp, Wp, Cp]);
  const D = ptr(be, dxp), G = ptr(be, dy), F = ptr(be, filter);
  for (let b = 0; b < B; b++) for (let ho = 0; ho < Ho; ho++) {
    const gRow = G + (b * Ho + ho) * Wo * Cp * 4;
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const dRow = D + ((b * Hp + ho * sh + i * dh) * Wp + j * dw) * Cp * 4;
      simd.fma(dRow, gRow, F + (i * kw + j) * Cp * 4, Wo, Cp, sw * Cp, Cp, 0);
    }
  }
  if (m === 1 && pt === 0 && pl === 0 && Hp === H && Wp === W) return dxp;
  // crop the padding and sum the m copies of each channel
  const dx = alloc(be, [B, H, W, C]);
  const src = f32(be, dxp), dst = f32(be, dx);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const r = h + pt;
    if (r < 0 || r >= Hp) continue;
    for (let w = 0; w < W; w++) {
      const col = w + pl;
      if (col < 0 || col >= Wp) continue;
      const s0 = ((b * Hp + r) * Wp + col) * Cp, d0 = ((b * H + h) * W + w) * C;
      if (m === 1) {
        dst.set(src.subarray(s0, s0 + C), d0);
      } else {
        for (let c = 0; c < C; c++) {
          let acc = 0;
          for (let q = 0; q < m; q++) acc += src[s0 + c * m + q];
          dst[d0 + c] = acc;
        }
      }
    }
  }
  free(be, dxp);
  return dx;
}

// dW [kh, kw, C, m] from x [B, H, W, C] and dy [B, Ho, Wo, C·m].
export function depthwiseBackpropFilter(be: WasmBackend, simd: Simd, x: TensorInfo, dy: TensorInfo, filterShape: number[], a: DwAttrs): TensorInfo {
  const g = geometry(x.shape, filterShape, a, "DepthwiseConv2dNativeBackpropFilter");
  const { B, Cp, Ho, Wo, kh, kw, sh, sw, dh, dw, Hp, Wp } = g;
  const xp = padExpand(be, x, g);
  const dW = alloc(be, filterShape);
  const X = ptr(be, xp), G = ptr(be, dy), O = ptr(be, dW);
  for (let b = 0; b < B; b++) for (let ho = 0; ho < Ho; ho++) {
    const gRow = G + (b * Ho + ho) * Wo * Cp * 4;
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const xRow = X + ((b * Hp + ho * sh + i * dh) * Wp + j * dw) * Cp * 4;
      simd.fma(O + (i * kw + j) * Cp * 4, xRow, gRow, Wo, Cp, 0, sw * Cp, Cp);
    }
  }
  free(be, xp);
  return dW;
}
