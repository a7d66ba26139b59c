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
      {"conv", Conv}, {"matmul", MatMul}, {"info", Info}, {"impls", Impls}, {"setThreads", SetThreads}, {"clearCache", ClearCache}};
  for (auto& f : fns) {
    napi_value fn;
    napi_create_function(env, f.first, NAPI_AUTO_LENGTH, f.second, nullptr, &fn);
    napi_set_named_property(env, exports, f.first, fn);
  }
  return exports;
}
