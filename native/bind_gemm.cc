// Bindings for GEMM, fused linear layers, the thread pool and the OpenBLAS benchmark hooks.
#include "blas_dl.h"
#include "fmapeak.h"
#include "gemm.h"
#include "napi_args.h"
#include "threadpool.h"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

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

// linearForward(X, W, b|null, Y, M, K, N, act, param)
Napi::Value LinearForward(const Napi::CallbackInfo& info) {
  const char* k = "linearForward";
  long M = count(info, 4, k, "M"), K = count(info, 5, k, "K"), N = count(info, 6, k, "N");
  const float* X = f32(info, 0, k, "X", (size_t)(M * K));
  const float* W = f32(info, 1, k, "W", (size_t)(K * N));
  const float* b = f32opt(info, 2, k, "b", (size_t)N);
  float* Y = f32(info, 3, k, "Y", (size_t)(M * N));
  Act act = activation(info, 7, k);
  float param = (float)real(info, 8, k, "param");
  linearForward(X, W, b, Y, (int)M, (int)K, (int)N, act, param);
  return info.Env().Undefined();
}

// linearBackward(X, W, Y, dY, dZ, dX|null, dW|null, db|null, M, K, N, act, param, overwrite?)
Napi::Value LinearBackward(const Napi::CallbackInfo& info) {
  const char* k = "linearBackward";
  long M = count(info, 8, k, "M"), K = count(info, 9, k, "K"), N = count(info, 10, k, "N");
  size_t mk = (size_t)(M * K), kn = (size_t)(K * N), mn = (size_t)(M * N);
  const float* X = f32(info, 0, k, "X", mk);
  const float* W = f32(info, 1, k, "W", kn);
  const float* Y = f32(info, 2, k, "Y", mn);
  const float* dY = f32(info, 3, k, "dY", mn);
  float* dZ = f32(info, 4, k, "dZ", mn);
  float* dX = f32opt(info, 5, k, "dX", mk);
  float* dW = f32opt(info, 6, k, "dW", kn);
  float* db = f32opt(info, 7, k, "db", (size_t)N);
  Act act = activation(info, 11, k);
  float param = (float)real(info, 12, k, "param");
  long overwrite = info.Length() > 13 && !info[13].IsUndefined() ? count(info, 13, k, "overwrite") : 0;
  if (overwrite > 7) fail(info.Env(), k, "overwrite must be a bit mask of 1 (dX), 2 (dW), 4 (db), got " + std::to_string(overwrite));
  linearBackward(X, W, Y, dY, dZ, dX, dW, db, (int)M, (int)K, (int)N, act, param, (int)overwrite);
  return info.Env().Undefined();
}

// crossForward(A, W, b|null, x0, x, out, z|null, M, K, D)
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
  crossForward(A, W, b, x0, x, out, z, (int)M, (int)K, (int)D);
  return info.Env().Undefined();
}

// crossBackward(A, W, z, x0, dOut, dZ, dA|null, dW|null, db|null, dx0|null, dx|null, M, K, D)
Napi::Value CrossBackward(const Napi::CallbackInfo& info) {
  const char* k = "crossBackward";
  long M = count(info, 11, k, "M"), K = count(info, 12, k, "K"), D = count(info, 13, k, "D");
  size_t md = (size_t)(M * D), mk = (size_t)(M * K), kd = (size_t)(K * D);
  const float* A = f32(info, 0, k, "A", mk);
  const float* W = f32(info, 1, k, "W", kd);
  const float* z = f32(info, 2, k, "z", md);
  const float* x0 = f32(info, 3, k, "x0", md);
  const float* dOut = f32(info, 4, k, "dOut", md);
  float* dZ = f32(info, 5, k, "dZ", md);
  float* dA = f32opt(info, 6, k, "dA", mk);
  float* dW = f32opt(info, 7, k, "dW", kd);
  float* db = f32opt(info, 8, k, "db", (size_t)D);
  float* dx0 = f32opt(info, 9, k, "dx0", md);
  float* dx = f32opt(info, 10, k, "dx", md);
  crossBackward(A, W, z, x0, dOut, dZ, dA, dW, db, dx0, dx, (int)M, (int)K, (int)D);
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

}  // namespace

void registerGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("kernelName", Napi::Function::New(env, KernelName));
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeakFn));
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
