// infty_dnnl: the lab's native CPU kernels, oneDNN (the library PyTorch's CPU convolutions use) called through N-API
// on tensors that live in tfjs-backend-wasm's heap. JS hands over a Uint8Array over the whole heap and byte offsets:
// no copy in or out. Primitives are cached per shape (creating one costs far more than running it on small tensors).
//
// Layouts are tfjs's: activations NHWC, conv filters HWIO, depthwise filters [kh, kw, C, M] (oneDNN groups = C),
// matmul operands row-major with optional transposes. Every entry point returns true when it ran, and throws a JS
// Error (message from oneDNN) when oneDNN could not build a primitive: the JS side then falls back to the wasm kernel.
//
// Build: scripts/build-native.sh (g++ -shared -fPIC -fopenmp -I/usr/include/node … -ldnnl).
#include <node_api.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using dt = memory::data_type;

namespace {

engine& eng() {
  static engine e(engine::kind::cpu, 0);
  return e;
}

// One cached primitive: conv forward / backward-data / backward-weights, or matmul.
struct Entry {
  primitive prim;
  memory::desc a, b, c;  // the three operands' descriptors as tfjs lays them out, in the order the offsets come
  std::string impl;
  // conv: oneDNN's fast kernels want blocked weights (e.g. OIhw16i16o); the filter (or its gradient) is reordered
  // into / out of `wmem` around the primitive. Absent when the plain layout is what the primitive takes.
  bool reorderWeights = false;
  memory wmem;
  reorder wreorder;
};

// Per JS thread (main thread, gradient workers): an entry's scratch weights must not be shared between threads.
thread_local std::unordered_map<std::string, std::shared_ptr<Entry>> cache;
std::mutex cacheMutex;  // kept for the counters' sake; the cache itself is thread-local
thread_local uint64_t calls = 0, hits = 0;

std::string keyOf(const char* kind, const int32_t* v, size_t n) {
  std::string k(kind);
  k.push_back(':');
  k.append(reinterpret_cast<const char*>(v), n * sizeof(int32_t));
  return k;
}

bool throwIf(napi_env env, napi_status st, const char* what) {
  if (st == napi_ok) return false;
  napi_throw_error(env, nullptr, what);
  return true;
}

// The heap (a Uint8Array over the wasm Memory) and its length.
bool heapOf(napi_env env, napi_value v, uint8_t** base, size_t* len) {
  napi_typedarray_type t;
  size_t n;
  void* data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &t, &n, &data, &ab, &off) != napi_ok || t != napi_uint8_array) {
    napi_throw_type_error(env, nullptr, "infty_dnnl: the heap must be a Uint8Array");
    return false;
  }
  *base = static_cast<uint8_t*>(data);
  *len = n;
  return true;
}

bool ints(napi_env env, napi_value v, std::vector<int32_t>& out) {
  napi_typedarray_type t;
  size_t n;
  void* data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &t, &n, &data, &ab, &off) != napi_ok || t != napi_int32_array) {
    napi_throw_type_error(env, nullptr, "infty_dnnl: dims must be an Int32Array");
    return false;
  }
  out.assign(static_cast<int32_t*>(data), static_cast<int32_t*>(data) + n);
  return true;
}

bool offset(napi_env env, napi_value v, double* out) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    napi_throw_type_error(env, nullptr, "infty_dnnl: offsets must be numbers");
    return false;
  }
  return true;
}

// Checks that [off, off + bytes) lies inside the heap and is float-aligned; returns the pointer or null (JS error set).
void* at(napi_env env, uint8_t* base, size_t len, double off, size_t bytes) {
  if (!(off >= 0) || off != static_cast<double>(static_cast<uint64_t>(off)) || static_cast<uint64_t>(off) % 4 != 0 ||
      static_cast<uint64_t>(off) + bytes > len) {
    napi_throw_range_error(env, nullptr, "infty_dnnl: an operand lies outside the wasm heap");
    return nullptr;
  }
  return base + static_cast<uint64_t>(off);
}

napi_value boolean(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

// ---- convolution ---------------------------------------------------------------------------------------------------
// dims (Int32Array, 18): N, H, W, C, Ho, Wo, K, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, depthwise (1: filter
// [kh, kw, C, M], K = C·M, groups = C; 0: filter [kh, kw, C, K]). dh/dw: tfjs dilations (1 = none).
enum ConvKind { FWD = 0, BWD_DATA = 1, BWD_WEIGHTS = 2 };
// INFTY_DNNL_PLAIN_WEIGHTS=1: keep tfjs's filter layout (oneDNN then often falls back to its gemm kernels; benches)
const bool weightsAny = [] { const char* v = getenv("INFTY_DNNL_PLAIN_WEIGHTS"); return !(v && v[0] == '1'); }();

std::shared_ptr<Entry> convEntry(int kind, const std::vector<int32_t>& d) {
  static const char* kinds[3] = {"conv-fwd", "conv-bwd-data", "conv-bwd-weights"};
  std::string key = keyOf(kinds[kind], d.data(), d.size());
  {
    std::lock_guard<std::mutex> g(cacheMutex);
    auto it = cache.find(key);
    if (it != cache.end()) {
      hits++;
      return it->second;
    }
  }
  const memory::dim N = d[0], H = d[1], W = d[2], C = d[3], Ho = d[4], Wo = d[5], K = d[6], kh = d[7], kw = d[8];
  const memory::dim sh = d[9], sw = d[10], pt = d[11], pl = d[12], pb = d[13], pr = d[14], dh = d[15], dw = d[16];
  const bool dwise = d[17] != 0;
  // NHWC activations, as logical NCHW dims with strides
  memory::desc src({N, C, H, W}, dt::f32, memory::dims{H * W * C, 1, W * C, C});
  memory::desc dst({N, K, Ho, Wo}, dt::f32, memory::dims{Ho * Wo * K, 1, Wo * K, K});
  memory::desc wei;
  if (dwise) {
    const memory::dim M = K / C;  // [kh, kw, C, M] = groups C, OC/G M, IC/G 1
    wei = memory::desc({C, M, 1, kh, kw}, dt::f32, memory::dims{M, 1, M, kw * C * M, C * M});
  } else {
    wei = memory::desc({K, C, kh, kw}, dt::f32, memory::dims{1, K, kw * C * K, C * K});
  }
  memory::dims strides{sh, sw}, dil{dh - 1, dw - 1}, padL{pt, pl}, padR{pb, pr};
  // weights in the layout oneDNN prefers (format_tag::any), activations as they are (NHWC, no copies)
  const bool anyW = weightsAny;
  memory::desc weiq = anyW ? memory::desc(wei.dims(), dt::f32, memory::format_tag::any) : wei;
  auto fd = convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, src, weiq, dst, strides, dil, padL, padR);
  auto fpd = convolution_forward::primitive_desc(fd, eng());
  auto e = std::make_shared<Entry>();
  memory::desc chosen;
  if (kind == FWD) {
    e->prim = convolution_forward(fpd);
    e->a = src; e->b = wei; e->c = dst;
    e->impl = fpd.impl_info_str();
    chosen = fpd.weights_desc();
  } else if (kind == BWD_DATA) {
    auto bd = convolution_backward_data::desc(algorithm::convolution_direct, src, weiq, dst, strides, dil, padL, padR);
    auto pd = convolution_backward_data::primitive_desc(bd, eng(), fpd);
    e->prim = convolution_backward_data(pd);
    e->a = dst; e->b = wei; e->c = src;  // dy, filter → dx
    e->impl = pd.impl_info_str();
    chosen = pd.weights_desc();
  } else {
    auto bw = convolution_backward_weights::desc(algorithm::convolution_direct, src, weiq, dst, strides, dil, padL, padR);
    auto pd = convolution_backward_weights::primitive_desc(bw, eng(), fpd);
    e->prim = convolution_backward_weights(pd);
    e->a = src; e->b = dst; e->c = wei;  // x, dy → dW
    e->impl = pd.impl_info_str();
    chosen = pd.diff_weights_desc();
  }
  if (chosen != wei) {
    e->reorderWeights = true;
    e->wmem = memory(chosen, eng());
    memory user(wei, eng(), nullptr);
    e->wreorder = kind == BWD_WEIGHTS ? reorder(e->wmem, user) : reorder(user, e->wmem);
  }
  std::lock_guard<std::mutex> g(cacheMutex);
  cache[key] = e;
  return e;
}

// conv(heap, kind, aOff, bOff, cOff, dims): fwd: a = x, b = filter, c = y; bwd-data: a = dy, b = filter, c = dx;
// bwd-weights: a = x, b = dy, c = dW.
napi_value Conv(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value a[6];
  if (throwIf(env, napi_get_cb_info(env, info, &argc, a, nullptr, nullptr), "infty_dnnl.conv: bad call")) return nullptr;
  if (argc != 6) { napi_throw_error(env, nullptr, "infty_dnnl.conv: expects 6 arguments"); return nullptr; }
  uint8_t* base; size_t len; int32_t kind; double oa, ob, oc; std::vector<int32_t> d;
  if (!heapOf(env, a[0], &base, &len)) return nullptr;
  if (napi_get_value_int32(env, a[1], &kind) != napi_ok || kind < 0 || kind > 2) { napi_throw_range_error(env, nullptr, "infty_dnnl.conv: kind"); return nullptr; }
  if (!offset(env, a[2], &oa) || !offset(env, a[3], &ob) || !offset(env, a[4], &oc) || !ints(env, a[5], d)) return nullptr;
  if (d.size() != 18) { napi_throw_range_error(env, nullptr, "infty_dnnl.conv: dims must hold 18 values"); return nullptr; }
  for (size_t i = 0; i < 17; i++) if (d[i] < (i >= 11 && i <= 14 ? 0 : 1)) { napi_throw_range_error(env, nullptr, "infty_dnnl.conv: bad dims"); return nullptr; }
  try {
    auto e = convEntry(kind, d);
    void* pa = at(env, base, len, oa, e->a.get_size());
    void* pb = pa ? at(env, base, len, ob, e->b.get_size()) : nullptr;
    void* pc = pb ? at(env, base, len, oc, e->c.get_size()) : nullptr;
    if (!pc) return nullptr;
    memory ma(e->a, eng(), pa), mb(e->b, eng(), pb), mc(e->c, eng(), pc);
    stream s(eng());
    if (kind == FWD || kind == BWD_DATA) {
      memory w = mb;
      if (e->reorderWeights) { e->wreorder.execute(s, mb, e->wmem); w = e->wmem; }
      if (kind == FWD) e->prim.execute(s, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, mc}});
      else e->prim.execute(s, {{DNNL_ARG_DIFF_DST, ma}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, mc}});
    } else {
      memory dw = e->reorderWeights ? e->wmem : mc;
      e->prim.execute(s, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_DIFF_DST, mb}, {DNNL_ARG_DIFF_WEIGHTS, dw}});
      if (e->reorderWeights) e->wreorder.execute(s, e->wmem, mc);
    }
    s.wait();
    calls++;
  } catch (const dnnl::error& err) {
    napi_throw_error(env, "ONEDNN", (std::string("oneDNN: ") + err.what()).c_str());
    return nullptr;
  }
  return boolean(env, true);
}

// ---- matmul --------------------------------------------------------------------------------------------------------
// dims (Int32Array, 7): Ba, Bb, M, K, N, transposeA, transposeB. a [Ba, M, K] (stored [Ba, K, M] when transposed),
// b [Bb, K, N] (stored [Bb, N, K] when transposed), c [max(Ba, Bb), M, N]; a batch of 1 broadcasts.
std::shared_ptr<Entry> matmulEntry(const std::vector<int32_t>& d) {
  std::string key = keyOf("matmul", d.data(), d.size());
  {
    std::lock_guard<std::mutex> g(cacheMutex);
    auto it = cache.find(key);
    if (it != cache.end()) {
      hits++;
      return it->second;
    }
  }
  const memory::dim Ba = d[0], Bb = d[1], M = d[2], K = d[3], N = d[4];
  const bool ta = d[5] != 0, tb = d[6] != 0;
  const memory::dim B = Ba > Bb ? Ba : Bb;
  memory::desc a({Ba, M, K}, dt::f32, ta ? memory::dims{M * K, 1, M} : memory::dims{M * K, K, 1});
  memory::desc b({Bb, K, N}, dt::f32, tb ? memory::dims{K * N, 1, K} : memory::dims{K * N, N, 1});
  memory::desc c({B, M, N}, dt::f32, memory::dims{M * N, N, 1});
  auto pd = matmul::primitive_desc(matmul::desc(a, b, c), eng());
  auto e = std::make_shared<Entry>();
  e->prim = matmul(pd);
  e->a = a; e->b = b; e->c = c;
  e->impl = pd.impl_info_str();
  std::lock_guard<std::mutex> g(cacheMutex);
  cache[key] = e;
  return e;
}

napi_value MatMul(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  if (throwIf(env, napi_get_cb_info(env, info, &argc, a, nullptr, nullptr), "infty_dnnl.matmul: bad call")) return nullptr;
  if (argc != 5) { napi_throw_error(env, nullptr, "infty_dnnl.matmul: expects 5 arguments"); return nullptr; }
  uint8_t* base; size_t len; double oa, ob, oc; std::vector<int32_t> d;
  if (!heapOf(env, a[0], &base, &len)) return nullptr;
  if (!offset(env, a[1], &oa) || !offset(env, a[2], &ob) || !offset(env, a[3], &oc) || !ints(env, a[4], d)) return nullptr;
  if (d.size() != 7) { napi_throw_range_error(env, nullptr, "infty_dnnl.matmul: dims must hold 7 values"); return nullptr; }
  for (int i = 0; i < 5; i++) if (d[i] < 1) { napi_throw_range_error(env, nullptr, "infty_dnnl.matmul: bad dims"); return nullptr; }
  if (d[0] != d[1] && d[0] != 1 && d[1] != 1) { napi_throw_range_error(env, nullptr, "infty_dnnl.matmul: batches must match or be 1"); return nullptr; }
  try {
    auto e = matmulEntry(d);
    void* pa = at(env, base, len, oa, e->a.get_size());
    void* pb = pa ? at(env, base, len, ob, e->b.get_size()) : nullptr;
    void* pc = pb ? at(env, base, len, oc, e->c.get_size()) : nullptr;
    if (!pc) return nullptr;
    memory ma(e->a, eng(), pa), mb(e->b, eng(), pb), mc(e->c, eng(), pc);
    stream s(eng());
    e->prim.execute(s, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}});
    s.wait();
    calls++;
  } catch (const dnnl::error& err) {
    napi_throw_error(env, "ONEDNN", (std::string("oneDNN: ") + err.what()).c_str());
    return nullptr;
  }
  return boolean(env, true);
}

// ---- the lab's own kernels -----------------------------------------------------------------------------------------
// The same arithmetic, in the same order, as their JS versions (typed kernels: sparse-conv.ts, optim.ts, params.ts),
// so the native path gives their bits: products and sums in double where JS numbers are doubles, float where the JS
// rounds with Math.fround or a Float32Array store. Built with -ffp-contract=off (no fused multiply-adds). Threads
// split points or taps, never a sum, so results do not depend on the thread count.

bool f64s(napi_env env, napi_value v, std::vector<double>& out) {
  napi_typedarray_type t; size_t n; void* data; napi_value ab; size_t off;
  if (napi_get_typedarray_info(env, v, &t, &n, &data, &ab, &off) != napi_ok || t != napi_float64_array) {
    napi_throw_type_error(env, nullptr, "infty_dnnl: expected a Float64Array");
    return false;
  }
  out.assign(static_cast<double*>(data), static_cast<double*>(data) + n);
  return true;
}

// A typed array outside the heap (kernel-map tables): pointer and length, type-checked; null array → nullptr.
template <typename T>
bool table(napi_env env, napi_value v, napi_typedarray_type want, const T** out, size_t* n) {
  napi_valuetype vt;
  napi_typeof(env, v, &vt);
  if (vt == napi_null || vt == napi_undefined) { *out = nullptr; *n = 0; return true; }
  napi_typedarray_type t; void* data; napi_value ab; size_t off;
  if (napi_get_typedarray_info(env, v, &t, n, &data, &ab, &off) != napi_ok || t != want) {
    napi_throw_type_error(env, nullptr, "infty_dnnl: a table has the wrong type");
    return false;
  }
  *out = static_cast<const T*>(data);
  return true;
}

// out[p, c] = f32(Σ_t w[t', c] · v[nb(p, t), c] · rowScale[p]) (+ bias[c]), t' = t or K−1−t (flip): depthwiseTaps.
// Loops that GCC vectorises per instruction set (AVX-512, AVX2, baseline), chosen at load time; no FMA contraction.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define INFTY_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define INFTY_CLONES
#endif

// acc[c] += w[c] · v[c] in double (one tap of one point)
INFTY_CLONES void tapAccumulate(double* __restrict acc, const float* __restrict w, const float* __restrict v, int C) {
  for (int c = 0; c < C; c++) acc[c] += static_cast<double>(w[c]) * static_cast<double>(v[c]);
}

void taps(const float* v, const float* w, const int32_t* nb, int64_t P, int K, int C, float* out, const float* rowScale,
          const float* bias, bool flip) {
#pragma omp parallel
  {
    std::vector<double> acc(C);
#pragma omp for schedule(static)
    for (int64_t p = 0; p < P; p++) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int t = 0; t < K; t++) {  // taps in order: each (p, c) sums as depthwiseTaps does
        const int32_t j = nb[p * K + t];
        if (j >= 0) tapAccumulate(acc.data(), w + (flip ? K - 1 - t : t) * C, v + static_cast<int64_t>(j) * C, C);
      }
      const double sc = rowScale ? rowScale[p] : 1.0;
      float* o = out + p * C;
      for (int c = 0; c < C; c++) o[c] = static_cast<float>(acc[c] * sc);
      if (bias) for (int c = 0; c < C; c++) o[c] = static_cast<float>(static_cast<double>(o[c]) + static_cast<double>(bias[c]));
    }
  }
}

// sparseDw(heap, x, kernel, bias, out, neighbours, inverseCounts, dims [P, K, C]): InftySparseDwConv.
napi_value SparseDw(napi_env env, napi_callback_info info) {
  size_t argc = 8; napi_value a[8];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  if (argc != 8) { napi_throw_error(env, nullptr, "infty_dnnl.sparseDw: expects 8 arguments"); return nullptr; }
  uint8_t* base; size_t len; double ox, ow, ob, oo; std::vector<int32_t> d; const int32_t* nb; size_t nnb; const float* inv; size_t ninv;
  if (!heapOf(env, a[0], &base, &len) || !offset(env, a[1], &ox) || !offset(env, a[2], &ow) || !offset(env, a[3], &ob) ||
      !offset(env, a[4], &oo) || !table(env, a[5], napi_int32_array, &nb, &nnb) || !table(env, a[6], napi_float32_array, &inv, &ninv) ||
      !ints(env, a[7], d)) return nullptr;
  if (d.size() != 3 || d[0] < 1 || d[1] < 1 || d[2] < 1) { napi_throw_range_error(env, nullptr, "infty_dnnl.sparseDw: dims"); return nullptr; }
  const int64_t P = d[0]; const int K = d[1], C = d[2];
  if (!nb || nnb != static_cast<size_t>(P * K) || !inv || ninv != static_cast<size_t>(P)) { napi_throw_range_error(env, nullptr, "infty_dnnl.sparseDw: tables"); return nullptr; }
  const size_t fb = sizeof(float);
  auto* x = static_cast<float*>(at(env, base, len, ox, P * C * fb)); if (!x) return nullptr;
  auto* w = static_cast<float*>(at(env, base, len, ow, static_cast<size_t>(K) * C * fb)); if (!w) return nullptr;
  auto* b = static_cast<float*>(at(env, base, len, ob, C * fb)); if (!b) return nullptr;
  auto* o = static_cast<float*>(at(env, base, len, oo, P * C * fb)); if (!o) return nullptr;
  taps(x, w, nb, P, K, C, o, inv, b, false);
  calls++;
  return boolean(env, true);
}

// sparseDwGrad(heap, dy, x, kernel, dx, dKernel, neighbours, inverseCounts, dims [P, K, C]): InftySparseDwConvBackprop.
napi_value SparseDwGrad(napi_env env, napi_callback_info info) {
  size_t argc = 9; napi_value a[9];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  if (argc != 9) { napi_throw_error(env, nullptr, "infty_dnnl.sparseDwGrad: expects 9 arguments"); return nullptr; }
  uint8_t* base; size_t len; double ody, ox, ow, odx, odw; std::vector<int32_t> d; const int32_t* nb; size_t nnb; const float* inv; size_t ninv;
  if (!heapOf(env, a[0], &base, &len) || !offset(env, a[1], &ody) || !offset(env, a[2], &ox) || !offset(env, a[3], &ow) ||
      !offset(env, a[4], &odx) || !offset(env, a[5], &odw) || !table(env, a[6], napi_int32_array, &nb, &nnb) ||
      !table(env, a[7], napi_float32_array, &inv, &ninv) || !ints(env, a[8], d)) return nullptr;
  if (d.size() != 3 || d[0] < 1 || d[1] < 1 || d[2] < 1) { napi_throw_range_error(env, nullptr, "infty_dnnl.sparseDwGrad: dims"); return nullptr; }
  const int64_t P = d[0]; const int K = d[1], C = d[2];
  if (!nb || nnb != static_cast<size_t>(P * K) || !inv || ninv != static_cast<size_t>(P)) { napi_throw_range_error(env, nullptr, "infty_dnnl.sparseDwGrad: tables"); return nullptr; }
  const size_t fb = sizeof(float);
  auto* dy = static_cast<float*>(at(env, base, len, ody, P * C * fb)); if (!dy) return nullptr;
  auto* x = static_cast<float*>(at(env, base, len, ox, P * C * fb)); if (!x) return nullptr;
  auto* w = static_cast<float*>(at(env, base, len, ow, static_cast<size_t>(K) * C * fb)); if (!w) return nullptr;
  auto* dx = static_cast<float*>(at(env, base, len, odx, P * C * fb)); if (!dx) return nullptr;
  auto* dw = static_cast<float*>(at(env, base, len, odw, static_cast<size_t>(K) * C * fb)); if (!dw) return nullptr;
  std::vector<float> g(static_cast<size_t>(P * C));  // g = dy / count, rounded to float as the JS Float32Array stores it
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < P; p++)
    for (int c = 0; c < C; c++) g[p * C + c] = static_cast<float>(static_cast<double>(dy[p * C + c]) * static_cast<double>(inv[p]));
  taps(g.data(), w, nb, P, K, C, dx, nullptr, nullptr, true);
  // dKernel[t, c] = Σ_p g[p, c] · x[nb(p, t), c]: chunk sums of 32 points added in point order (depthwiseKernelGrad)
  const int64_t CH = 32;
#pragma omp parallel for schedule(static)
  for (int t = 0; t < K; t++) {
    std::vector<double> acc(C, 0.0), part(C);
    for (int64_t p0 = 0; p0 < P; p0 += CH) {
      const int64_t pe = p0 + CH < P ? p0 + CH : P;
      std::fill(part.begin(), part.end(), 0.0);
      for (int64_t p = p0; p < pe; p++) {
        const int32_t j = nb[p * K + t];
        if (j < 0) continue;
        tapAccumulate(part.data(), g.data() + p * C, x + static_cast<int64_t>(j) * C, C);
      }
      for (int c = 0; c < C; c++) acc[c] += part[c];
    }
    for (int c = 0; c < C; c++) dw[t * C + c] = static_cast<float>(acc[c]);
  }
  calls++;
  return boolean(env, true);
}

// modLayerNormGrad(heap, [dy, x, stats, gamma, beta, scale, dx, dGamma, dBeta, dScale, dShift] offsets as a
// Float64Array, dims [B, M, C]): InftyModLayerNormGrad's JS loop (fused-norm.ts) in the same order, in double; serial
// (its sums run over every row), so the same bits as the JS kernel.
napi_value ModLayerNormGrad(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value a[3];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  if (argc != 3) { napi_throw_error(env, nullptr, "infty_dnnl.modLayerNormGrad: expects 3 arguments"); return nullptr; }
  uint8_t* base; size_t len; std::vector<double> o; std::vector<int32_t> d;
  if (!heapOf(env, a[0], &base, &len) || !f64s(env, a[1], o) || !ints(env, a[2], d)) return nullptr;
  if (o.size() != 11 || d.size() != 3 || d[0] < 1 || d[1] < 1 || d[2] < 1) { napi_throw_range_error(env, nullptr, "infty_dnnl.modLayerNormGrad: args"); return nullptr; }
  const int64_t B = d[0], M = d[1], C = d[2];
  const size_t fb = sizeof(float);
  const size_t sizes[11] = {B * M * C * fb, B * M * C * fb, B * M * 2 * fb, C * fb, C * fb, B * C * fb,
                            B * M * C * fb, C * fb, C * fb, B * C * fb, B * C * fb};
  float* p[11];
  for (int i = 0; i < 11; i++) if (!(p[i] = static_cast<float*>(at(env, base, len, o[i], sizes[i])))) return nullptr;
  const float *dy = p[0], *x = p[1], *st = p[2], *g = p[3], *be = p[4], *sc = p[5];
  float *dx = p[6], *dg = p[7], *db = p[8], *dsc = p[9], *dsh = p[10];
  std::vector<double> accG(C, 0.0), accB(C, 0.0), accS(C), accH(C), xh(C), gz(C);
  for (int64_t b = 0; b < B; b++) {
    const int64_t sb = b * C;
    std::fill(accS.begin(), accS.end(), 0.0);
    std::fill(accH.begin(), accH.end(), 0.0);
    for (int64_t m = 0; m < M; m++) {
      const int64_t row = b * M + m, off = row * C;
      const double mu = st[2 * row], rstd = st[2 * row + 1];
      double mg = 0, mgx = 0;
      for (int64_t c = 0; c < C; c++) {
        const double h = (static_cast<double>(x[off + c]) - mu) * rstd, dd = dy[off + c];
        xh[c] = h;
        accH[c] += dd;
        accS[c] += dd * (h * static_cast<double>(g[c]) + static_cast<double>(be[c]));
        const double dz = dd * (1 + static_cast<double>(sc[sb + c]));
        accB[c] += dz;
        accG[c] += dz * h;
        const double q = dz * static_cast<double>(g[c]);
        gz[c] = q;
        mg += q;
        mgx += q * h;
      }
      mg /= static_cast<double>(C);
      mgx /= static_cast<double>(C);
      for (int64_t c = 0; c < C; c++) dx[off + c] = static_cast<float>(rstd * (gz[c] - mg - xh[c] * mgx));
    }
    for (int64_t c = 0; c < C; c++) { dsc[sb + c] = static_cast<float>(accS[c]); dsh[sb + c] = static_cast<float>(accH[c]); }
  }
  for (int64_t c = 0; c < C; c++) { dg[c] = static_cast<float>(accG[c]); db[c] = static_cast<float>(accB[c]); }
  calls++;
  return boolean(env, true);
}

// sum(heap, x, out, dims [O, R, I]): out[o, i] = Σ_r x[o, r, i] (tfjs Sum over a contiguous block of axes), in
// double, r ascending; threads split o or i, never r.
INFTY_CLONES void addRow(double* __restrict acc, const float* __restrict x, int64_t n) {
  for (int64_t i = 0; i < n; i++) acc[i] += static_cast<double>(x[i]);
}

napi_value Sum(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value a[4];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  if (argc != 4) { napi_throw_error(env, nullptr, "infty_dnnl.sum: expects 4 arguments"); return nullptr; }
  uint8_t* base; size_t len; double ox, oo; std::vector<int32_t> d;
  if (!heapOf(env, a[0], &base, &len) || !offset(env, a[1], &ox) || !offset(env, a[2], &oo) || !ints(env, a[3], d)) return nullptr;
  if (d.size() != 3 || d[0] < 1 || d[1] < 1 || d[2] < 1) { napi_throw_range_error(env, nullptr, "infty_dnnl.sum: dims"); return nullptr; }
  const int64_t O = d[0], R = d[1], I = d[2];
  auto* x = static_cast<float*>(at(env, base, len, ox, O * R * I * sizeof(float))); if (!x) return nullptr;
  auto* out = static_cast<float*>(at(env, base, len, oo, O * I * sizeof(float))); if (!out) return nullptr;
  if (I == 1) {
#pragma omp parallel for schedule(static) if (O * R > 65536)
    for (int64_t o = 0; o < O; o++) {
      double acc = 0;
      for (int64_t r = 0; r < R; r++) acc += static_cast<double>(x[o * R + r]);
      out[o] = static_cast<float>(acc);
    }
  } else {
    // split i into blocks so each thread owns whole columns
    const int64_t BLK = 256, nb = (I + BLK - 1) / BLK;
#pragma omp parallel for schedule(static) collapse(2) if (O * R * I > 65536)
    for (int64_t o = 0; o < O; o++) {
      for (int64_t b = 0; b < nb; b++) {
        const int64_t i0 = b * BLK, n = I - i0 < BLK ? I - i0 : BLK;
        double acc[256] = {0};
        for (int64_t r = 0; r < R; r++) addRow(acc, x + (o * R + r) * I + i0, n);
        for (int64_t i = 0; i < n; i++) out[o * I + i0 + i] = static_cast<float>(acc[i]);
      }
    }
  }
  calls++;
  return boolean(env, true);
}

// adam(heap, p, m, v, g, pOut, mOut, vOut, n, attrs Float64Array [scale, lr, b1, b2, bc1, bc2, eps]): InftyAdam,
// every operation rounded to float32 as the JS kernel (and the op chain) rounds it.
napi_value Adam(napi_env env, napi_callback_info info) {
  size_t argc = 10; napi_value a[10];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  if (argc != 10) { napi_throw_error(env, nullptr, "infty_dnnl.adam: expects 10 arguments"); return nullptr; }
  uint8_t* base; size_t len; double o[7]; int32_t n; std::vector<double> at7;
  if (!heapOf(env, a[0], &base, &len)) return nullptr;
  for (int i = 0; i < 7; i++) if (!offset(env, a[1 + i], &o[i])) return nullptr;
  if (napi_get_value_int32(env, a[8], &n) != napi_ok || n < 0 || !f64s(env, a[9], at7) || at7.size() != 7) { napi_throw_range_error(env, nullptr, "infty_dnnl.adam: n, attrs"); return nullptr; }
  float* ptrs[7];
  for (int i = 0; i < 7; i++) if (!(ptrs[i] = static_cast<float*>(at(env, base, len, o[i], static_cast<size_t>(n) * sizeof(float))))) return nullptr;
  const float* p = ptrs[0]; const float* m = ptrs[1]; const float* v = ptrs[2]; const float* g = ptrs[3];
  float* pOut = ptrs[4]; float* mOut = ptrs[5]; float* vOut = ptrs[6];
  const float scale = static_cast<float>(at7[0]), lr = static_cast<float>(at7[1]), b1 = static_cast<float>(at7[2]), b2 = static_cast<float>(at7[3]);
  const float c1 = static_cast<float>(1 - at7[2]), c2 = static_cast<float>(1 - at7[3]);
  const float bc1 = static_cast<float>(at7[4]), bc2 = static_cast<float>(at7[5]), eps = static_cast<float>(at7[6]);
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int32_t i = 0; i < n; i++) {
    const float gi = g[i] * scale;
    const float mi = m[i] * b1 + gi * c1;
    const float vi = v[i] * b2 + (gi * gi) * c2;
    const float update = (mi / bc1) / (std::sqrt(vi / bc2) + eps);
    pOut[i] = p[i] - update * lr;
    mOut[i] = mi;
    vOut[i] = vi;
  }
  calls++;
  return boolean(env, true);
}

// ema(heap, e, s, out, n, decay): InftyEma, out = f32(e·d) + f32(s·(1−d)).
napi_value Ema(napi_env env, napi_callback_info info) {
  size_t argc = 6; napi_value a[6];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  if (argc != 6) { napi_throw_error(env, nullptr, "infty_dnnl.ema: expects 6 arguments"); return nullptr; }
  uint8_t* base; size_t len; double oe, os, oo, decay; int32_t n;
  if (!heapOf(env, a[0], &base, &len) || !offset(env, a[1], &oe) || !offset(env, a[2], &os) || !offset(env, a[3], &oo)) return nullptr;
  if (napi_get_value_int32(env, a[4], &n) != napi_ok || n < 0 || napi_get_value_double(env, a[5], &decay) != napi_ok) { napi_throw_range_error(env, nullptr, "infty_dnnl.ema: n, decay"); return nullptr; }
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  auto* e = static_cast<float*>(at(env, base, len, oe, bytes)); if (!e) return nullptr;
  auto* sv = static_cast<float*>(at(env, base, len, os, bytes)); if (!sv) return nullptr;
  auto* out = static_cast<float*>(at(env, base, len, oo, bytes)); if (!out) return nullptr;
  const float d = static_cast<float>(decay), c = static_cast<float>(1 - decay);
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int32_t i = 0; i < n; i++) {
    const float x = e[i] * d, y = sv[i] * c;
    out[i] = x + y;
  }
  calls++;
  return boolean(env, true);
}

// ---- introspection -------------------------------------------------------------------------------------------------
napi_value str(napi_env env, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  return v;
}
napi_value num(napi_env env, double x) {
  napi_value v;
  napi_create_double(env, x, &v);
  return v;
}

// info(): { version: "2.6.3", hash, cpuIsa, threads, cached, calls, hits }
napi_value Info(napi_env env, napi_callback_info) {
  const dnnl_version_t* v = dnnl_version();
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "version", str(env, std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch)));
  napi_set_named_property(env, o, "hash", str(env, v->hash ? v->hash : ""));
  static const std::pair<cpu_isa, const char*> isas[] = {
      {cpu_isa::avx512_core_amx, "avx512_core_amx"}, {cpu_isa::avx512_core_bf16, "avx512_core_bf16"},
      {cpu_isa::avx512_core_vnni, "avx512_core_vnni"}, {cpu_isa::avx512_core, "avx512_core"},
      {cpu_isa::avx2_vnni, "avx2_vnni"}, {cpu_isa::avx2, "avx2"}, {cpu_isa::avx, "avx"}, {cpu_isa::sse41, "sse41"}};
  std::string isa = "other";
  cpu_isa eff = get_effective_cpu_isa();
  for (auto& p : isas) if (eff == p.first) { isa = p.second; break; }
  napi_set_named_property(env, o, "cpuIsa", str(env, isa));
  napi_set_named_property(env, o, "threads", num(env, omp_get_max_threads()));
  {
    std::lock_guard<std::mutex> g(cacheMutex);
    napi_set_named_property(env, o, "cached", num(env, static_cast<double>(cache.size())));
  }
  napi_set_named_property(env, o, "calls", num(env, static_cast<double>(calls)));
  napi_set_named_property(env, o, "hits", num(env, static_cast<double>(hits)));
  return o;
}

// impls(): { key kind → oneDNN implementation name } for the cached primitives (which kernel oneDNN picked)
napi_value Impls(napi_env env, napi_callback_info) {
  napi_value arr;
  napi_create_array(env, &arr);
  std::lock_guard<std::mutex> g(cacheMutex);
  uint32_t i = 0;
  for (auto& kv : cache) {
    std::string kind = kv.first.substr(0, kv.first.find(':'));
    std::vector<int32_t> dims((kv.first.size() - kind.size() - 1) / sizeof(int32_t));
    std::memcpy(dims.data(), kv.first.data() + kind.size() + 1, dims.size() * sizeof(int32_t));
    std::string s = kind + " [";
    for (size_t j = 0; j < dims.size(); j++) s += (j ? "," : "") + std::to_string(dims[j]);
    s += "] " + kv.second->impl;
    napi_set_element(env, arr, i++, str(env, s));
  }
  return arr;
}

// setThreads(n): OpenMP threads for this (JS) thread's oneDNN calls; returns the previous count.
napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  int32_t n = 0;
  if (argc != 1 || napi_get_value_int32(env, a[0], &n) != napi_ok || n < 1 || n > 256) {
    napi_throw_range_error(env, nullptr, "infty_dnnl.setThreads: an integer in 1..256");
    return nullptr;
  }
  int before = omp_get_max_threads();
  omp_set_num_threads(n);
  return num(env, before);
}

// clearCache(): drops every cached primitive (their scratch memory with them); returns how many there were.
napi_value ClearCache(napi_env env, napi_callback_info) {
  std::lock_guard<std::mutex> g(cacheMutex);
  double n = static_cast<double>(cache.size());
  cache.clear();
  return num(env, n);
}

}  // namespace

NAPI_MODULE_INIT() {
  const std::pair<const char*, napi_callback> fns[] = {
      {"conv", Conv}, {"matmul", MatMul}, {"sparseDw", SparseDw}, {"sparseDwGrad", SparseDwGrad}, {"adam", Adam}, {"sum", Sum}, {"modLayerNormGrad", ModLayerNormGrad}, {"ema", Ema}, {"info", Info}, {"impls", Impls}, {"setThreads", SetThreads}, {"clearCache", ClearCache}};
  for (auto& f : fns) {
    napi_value fn;
    napi_create_function(env, f.first, NAPI_AUTO_LENGTH, f.second, nullptr, &fn);
    napi_set_named_property(env, exports, f.first, fn);
  }
  return exports;
}
