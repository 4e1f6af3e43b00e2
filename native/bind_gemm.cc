// Bindings for GEMM, fused linear layers, the thread pool and the OpenBLAS benchmark hooks.
#include "blas_dl.h"
#include "cpuinfo.h"
#include "fmapeak.h"
#include "gemm.h"
#include "napi_args.h"
#include "threadpool.h"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <utility>

namespace ctr {

Act activation(const Napi::CallbackInfo& info, size_t i, const char* k) {
  if (!info[i].IsString()) fail(info.Env(), k, "act must be a string");
  std::string a = info[i].As<Napi::String>().Utf8Value();
  if (a == "none") return Act::None;
  if (a == "relu") return Act::Relu;
  if (a == "sigmoid") return Act::Sigmoid;
  if (a == "tanh") return Act::Tanh;
  if (a == "smelu") return Act::Smelu;
  fail(info.Env(), k, "unknown activation '" + a + "' (expected none, relu, sigmoid, tanh or smelu)");
}

namespace {

// Arguments (transA, transB, M, N, K, alpha, A, B, beta, C) shared by gemm and blasGemm,
// with every array length checked against the dimensions.
struct GemmArgs {
  bool ta, tb;
  long M, N, K;
  float alpha, beta;
  const float* A;
  const float* B;
  float* C;
};

GemmArgs gemmArgs(const Napi::CallbackInfo& info, const char* k) {
  GemmArgs g;
  g.ta = flag(info, 0);
  g.tb = flag(info, 1);
  g.M = count(info, 2, k, "M");
  g.N = count(info, 3, k, "N");
  g.K = count(info, 4, k, "K");
  g.alpha = (float)real(info, 5, k, "alpha");
  g.A = f32(info, 6, k, "A", (size_t)(g.M * g.K));
  g.B = f32(info, 7, k, "B", (size_t)(g.K * g.N));
  g.beta = (float)real(info, 8, k, "beta");
  g.C = f32(info, 9, k, "C", (size_t)(g.M * g.N));
  return g;
}

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  GemmArgs g = gemmArgs(info, "gemm");
  sgemm(g.ta, g.tb, (int)g.M, (int)g.N, (int)g.K, g.alpha, g.A, g.ta ? (int)g.M : (int)g.K, g.B,
        g.tb ? (int)g.K : (int)g.N, g.beta, g.C, (int)g.N);
  return info.Env().Undefined();
}

// An optional pre-packed W (packWeights) at argument i: null/undefined or a Float32Array, with its
// length (the GEMM ignores one shorter than its header says, never reading past its end).
struct PackedArg {
  const float* data = nullptr;
  long floats = 0;
};
PackedArg packedArg(const Napi::CallbackInfo& info, size_t i, const char* k) {
  if (info.Length() <= i) return {};
  const float* p = f32opt(info, i, k, "packedW", 0);
  return p ? PackedArg{p, (long)info[i].As<Napi::Float32Array>().ElementLength()} : PackedArg{};
}

// packWeights(W, K, N) -> Float32Array: W [K, N] in the GEMM's B panels (gemm.h gemmPackB).
Napi::Value PackWeights(const Napi::CallbackInfo& info) {
  const char* k = "packWeights";
  long K = count(info, 1, k, "K"), N = count(info, 2, k, "N");
  const float* W = f32(info, 0, k, "W", (size_t)(K * N));
  Napi::Float32Array out;
  gemmPackB(W, (int)K, (int)N, [&](long n) {
    out = Napi::Float32Array::New(info.Env(), (size_t)n);
    return out.Data();
  });
  return out;
}

// linearForward(X, W, b|null, Y, M, K, N, act, param, packedW?)
Napi::Value LinearForward(const Napi::CallbackInfo& info) {
  const char* k = "linearForward";
  long M = count(info, 4, k, "M"), K = count(info, 5, k, "K"), N = count(info, 6, k, "N");
  const float* X = f32(info, 0, k, "X", (size_t)(M * K));
  const float* W = f32(info, 1, k, "W", (size_t)(K * N));
  const float* b = f32opt(info, 2, k, "b", (size_t)N);
  float* Y = f32(info, 3, k, "Y", (size_t)(M * N));
  Act act = activation(info, 7, k);
  float param = (float)real(info, 8, k, "param");
  PackedArg pk = packedArg(info, 9, k);
  linearForward(X, W, b, Y, (int)M, (int)K, (int)N, act, param, pk.data, pk.floats);
  return info.Env().Undefined();
}

// linearBackward(X, W, Y, dY, dZ, dX|null, dW|null, db|null, M, K, N, act, param, overwrite?)
Napi::Value LinearBackward(const Napi::CallbackInfo& info) {
  const char* k = "linearBackward";
  DenseArgs a(info, k, 8, "N");
  auto [X, W, Y, dY, dZ] = a.arrays(0, {{"X", a.MK}, {"W", a.KN}, {"Y", a.MN}, {"dY", a.MN}, {"dZ", a.MN}});
  auto [dX, dW, db] = a.arrays(5, {{"dX", a.MK}, {"dW", a.KN}, {"db", a.N1}}, true);
  Act act = activation(info, 11, k);
  float param = (float)real(info, 12, k, "param");
  long overwrite = info.Length() > 13 && !info[13].IsUndefined() ? count(info, 13, k, "overwrite") : 0;
  if (overwrite > 7) fail(info.Env(), k, "overwrite must be a bit mask of 1 (dX), 2 (dW), 4 (db), got " + std::to_string(overwrite));
  linearBackward(X, W, Y, dY, dZ, dX, dW, db, (int)a.M, (int)a.K, (int)a.N, act, param, (int)overwrite);
  return info.Env().Undefined();
}

// crossForward(A, W, b|null, x0, x, out, z|null, M, K, D, packedW?)
Napi::Value CrossForward(const Napi::CallbackInfo& info) {
  const char* k = "crossForward";
  long M = count(info, 7, k, "M"), K = count(info, 8, k, "K"), D = count(info, 9, k, "D");
  size_t md = (size_t)(M * D);
  const float* A = f32(info, 0, k, "A", (size_t)(M * K));
  const float* W = f32(info, 1, k, "W", (size_t)(K * D));
  const float* b = f32opt(info, 2, k, "b", (size_t)D);
  const float* x0 = f32(info, 3, k, "x0", md);
  const float* x = f32(info, 4, k, "x", md);
  float* out = f32(info, 5, k, "out", md);
  float* z = f32opt(info, 6, k, "z", md);
  PackedArg pk = packedArg(info, 10, k);
  crossForward(A, W, b, x0, x, out, z, (int)M, (int)K, (int)D, pk.data, pk.floats);
  return info.Env().Undefined();
}

// crossBackward(A, W, z, x0, dOut, dZ, dA|null, dW|null, db|null, dx0|null, dx|null, M, K, D)
Napi::Value CrossBackward(const Napi::CallbackInfo& info) {
  DenseArgs a(info, "crossBackward", 11, "D");
  auto [A, W, z, x0, dOut, dZ] = a.arrays(0, {{"A", a.MK}, {"W", a.KN}, {"z", a.MN}, {"x0", a.MN}, {"dOut", a.MN}, {"dZ", a.MN}});
  auto [dA, dW, db, dx0, dx] = a.arrays(6, {{"dA", a.MK}, {"dW", a.KN}, {"db", a.N1}, {"dx0", a.MN}, {"dx", a.MN}}, true);
  crossBackward(A, W, z, x0, dOut, dZ, dA, dW, db, dx0, dx, (int)a.M, (int)a.K, (int)a.N);
  return info.Env().Undefined();
}

// activationBackward(act, y, dy, out, n, param)
Napi::Value ActivationBackward(const Napi::CallbackInfo& info) {
  const char* k = "activationBackward";
  Act act = activation(info, 0, k);
  long n = count(info, 4, k, "n");
  const float* y = f32(info, 1, k, "y", (size_t)n);
  const float* dy = f32(info, 2, k, "dy", (size_t)n);
  float* out = f32(info, 3, k, "out", (size_t)n);
  float param = (float)real(info, 5, k, "param");
  activationBackward(act, y, dy, out, n, param);
  return info.Env().Undefined();
}

Napi::Value BlasAvailable(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), blas().ok()); }

const Blas& requireBlas(const Napi::CallbackInfo& info, const char* k) {
  if (!blas().ok()) fail(info.Env(), k, "OpenBLAS (libopenblas.so.0 with cblas_sgemm) is not available");
  return blas();
}

// blasGemm(transA, transB, M, N, K, alpha, A, B, beta, C): OpenBLAS reference for benchmarks.
Napi::Value BlasGemmFn(const Napi::CallbackInfo& info) {
  const char* k = "blasGemm";
  const Blas& b = requireBlas(info, k);
  GemmArgs g = gemmArgs(info, k);
  if (g.M > 0 && g.N > 0) blasGemm(b, g.ta, g.tb, (int)g.M, (int)g.N, (int)g.K, g.alpha, g.A, g.B, g.beta, g.C);
  return info.Env().Undefined();
}

Napi::Value BlasSetThreads(const Napi::CallbackInfo& info) {
  const char* k = "blasSetThreads";
  const Blas& b = requireBlas(info, k);
  long n = count(info, 0, k, "n");
  if (n < 1 || n > 256) fail(info.Env(), k, "n must be in [1, 256], got " + std::to_string(n));
  b.setThreads((int)n);
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  long n = count(info, 0, "setThreads", "n");
  if (n < 1 || n > 256) fail(info.Env(), "setThreads", "n must be in [1, 256], got " + std::to_string(n));
  ThreadPool::instance().setThreads((int)n);
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), ThreadPool::instance().threads());
}

// Test-only: runs a pool job of ntasks tasks where the tasks on pool workers (onWorker) or on
// the calling thread (!onWorker) throw, to check that the error reaches JS and the pool survives.
// The other side's tasks wait (2 s at most) until a throwing task has started, so that one
// side cannot take every task before the other gets any.
Napi::Value TestThrowInPool(const Napi::CallbackInfo& info) {
  long n = count(info, 0, "_testThrowInPool", "ntasks");
  bool onWorker = flag(info, 1);
  const auto caller = std::this_thread::get_id();
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  std::atomic<bool> throwing{false};
  ThreadPool::instance().run((int)n, [&](int t) {
    bool mine = std::this_thread::get_id() == caller;
    if (mine != onWorker) {
      throwing.store(true);
      throw std::runtime_error("task " + std::to_string(t) + " failed on " +
                               (mine ? "the calling thread" : "a pool worker"));
    }
    while (!throwing.load() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
  });
  return info.Env().Undefined();
}

// Test-only: cgroupCpuLimit over a fake file-system tree.
Napi::Value TestCgroupCpuLimit(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) fail(info.Env(), "_testCgroupCpuLimit", "root must be a string");
  return Napi::Number::New(info.Env(), cgroupCpuLimit(info[0].As<Napi::String>().Utf8Value()));
}

// fmaPeak(seconds) -> { gflops, threads, width }: the measured fp32 FMA peak (profiles divide by it).
Napi::Value FmaPeakFn(const Napi::CallbackInfo& info) {
  double sec = real(info, 0, "fmaPeak", "seconds");
  if (!(sec > 0 && sec <= 60)) fail(info.Env(), "fmaPeak", "seconds must be in (0, 60], got " + std::to_string(sec));
  FmaPeak p = measureFmaPeak(sec);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("gflops", p.gflops);
  o.Set("threads", p.threads);
  o.Set("width", p.width);
  return o;
}

Napi::Value KernelName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), gemmKernelName()); }

// cpuInfo() -> CPUID's view of this CPU (native/cpuinfo.h), cache sizes in bytes.
Napi::Value CpuInfoFn(const Napi::CallbackInfo& info) {
  const CpuInfo& c = cpuInfo();
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("vendor", c.vendor);
  o.Set("brand", c.brand);
  o.Set("family", c.family);
  o.Set("model", c.model);
  o.Set("stepping", c.stepping);
  o.Set("uarch", c.uarch);
  Napi::Object isa = Napi::Object::New(env);
  const std::pair<const char*, bool> bits[] = {
      {"avx2", c.avx2},         {"fma", c.fma},           {"avx512f", c.avx512f},       {"avx512bw", c.avx512bw},
      {"avx512vl", c.avx512vl}, {"avx512dq", c.avx512dq}, {"avx512vnni", c.avx512vnni}, {"avx512bf16", c.avx512bf16},
      {"avxvnni", c.avxvnni},   {"amx", c.amx}};
  for (const auto& [name, on] : bits) isa.Set(name, on);
  o.Set("isa", isa);
  Napi::Object cache = Napi::Object::New(env);
  cache.Set("l1d", (double)c.l1d);
  cache.Set("l2", (double)c.l2);
  cache.Set("l3", (double)c.l3);
  cache.Set("l3SharedBy", c.l3SharedBy);
  cache.Set("l3PerCore", (double)c.l3PerCore);
  cache.Set("line", c.line);
  cache.Set("source", c.cacheSource);
  o.Set("cache", cache);
  o.Set("fma512Units", c.fma512Units);
  o.Set("fmaDatapath", c.fmaDatapath);
  return o;
}

Napi::Object blockingObject(Napi::Env env, const GemmBlocking& b) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("kernel", b.kernel);
  o.Set("kc", b.kc);
  o.Set("mc", b.mc);
  o.Set("packA", (double)b.packA);
  o.Set("packB", (double)b.packB);
  o.Set("source", b.source);
  return o;
}

// gemmBlocking() -> the blocking in use; gemmBlocking(true) -> this CPU's default (rule and
// table, before any tuned file or CTRKIT_GEMM_BLOCKING).
Napi::Value GemmBlockingFn(const Napi::CallbackInfo& info) {
  return blockingObject(info.Env(), info.Length() > 0 && flag(info, 0) ? gemmDefaultBlocking() : gemmBlocking());
}

// setGemmBlocking({kernel?, kc?, mc?, packA?, packB?} | null): fields not given keep the startup
// blocking's; null restores it. Returns the blocking now in use.
Napi::Value SetGemmBlockingFn(const Napi::CallbackInfo& info) {
  const char* k = "setGemmBlocking";
  GemmBlocking b;
  try {
    b = gemmStartBlocking();
  } catch (const std::invalid_argument& e) {
    fail(info.Env(), k, e.what());
  }
  if (info.Length() > 0 && info[0].IsObject()) {
    Napi::Object o = info[0].As<Napi::Object>();
    for (const char* key : {"kernel", "kc", "mc", "packA", "packB"}) {
      if (!o.Has(key) || o.Get(key).IsUndefined()) continue;
      Napi::Value v = o.Get(key);
      if (std::string(key) == "kernel") {
        if (!v.IsString()) fail(info.Env(), k, "kernel must be a string");
        b.kernel = v.As<Napi::String>().Utf8Value();
        continue;
      }
      double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
      if (!(d >= 1 && d <= 1e12 && d == (double)(long)d)) fail(info.Env(), k, std::string(key) + " must be a positive integer");
      if (std::string(key) == "kc") b.kc = (int)d;
      else if (std::string(key) == "mc") b.mc = (int)d;
      else if (std::string(key) == "packA") b.packA = (long)d;
      else b.packB = (long)d;
    }
    b.source = "set";
  } else if (!(info.Length() == 0 || info[0].IsNull() || info[0].IsUndefined())) {
    fail(info.Env(), k, "expected an object or null");
  }
  try {
    setGemmBlocking(b);
  } catch (const std::invalid_argument& e) {
    fail(info.Env(), k, e.what());
  }
  return blockingObject(info.Env(), gemmBlocking());
}

}  // namespace

void registerGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("kernelName", Napi::Function::New(env, KernelName));
  cpuInfo();  // CPUID once, at load
  exports.Set("cpuInfo", Napi::Function::New(env, CpuInfoFn));
  exports.Set("gemmBlocking", Napi::Function::New(env, GemmBlockingFn));
  exports.Set("setGemmBlocking", Napi::Function::New(env, SetGemmBlockingFn));
  exports.Set("gemmTuneFile", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::String::New(info.Env(), gemmTuneFile());
  }));
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeakFn));
  exports.Set("packWeights", Napi::Function::New(env, PackWeights));
  exports.Set("linearForward", Napi::Function::New(env, LinearForward));
  exports.Set("linearBackward", Napi::Function::New(env, LinearBackward));
  exports.Set("crossForward", Napi::Function::New(env, CrossForward));
  exports.Set("crossBackward", Napi::Function::New(env, CrossBackward));
  exports.Set("activationBackward", Napi::Function::New(env, ActivationBackward));
  exports.Set("blasAvailable", Napi::Function::New(env, BlasAvailable));
  exports.Set("blasGemm", Napi::Function::New(env, BlasGemmFn));
  exports.Set("blasSetThreads", Napi::Function::New(env, BlasSetThreads));
  exports.Set("_testThrowInPool", Napi::Function::New(env, TestThrowInPool));
  exports.Set("_testCgroupCpuLimit", Napi::Function::New(env, TestCgroupCpuLimit));
}

}  // namespace ctr
