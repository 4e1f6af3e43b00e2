// Bindings for GEMM, fused linear layers and the thread pool.
#include "gemm.h"
#include "napi_args.h"
#include "threadpool.h"

namespace ctr {
namespace {

// gemm(transA, transB, M, N, K, alpha, A, B, beta, C)
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const char* k = "gemm";
  bool ta = flag(info, 0), tb = flag(info, 1);
  long M = count(info, 2, k, "M"), N = count(info, 3, k, "N"), K = count(info, 4, k, "K");
  float alpha = (float)real(info, 5, k, "alpha");
  const float* A = f32(info, 6, k, "A", (size_t)(M * K));
  const float* B = f32(info, 7, k, "B", (size_t)(K * N));
  float beta = (float)real(info, 8, k, "beta");
  float* C = f32(info, 9, k, "C", (size_t)(M * N));
  sgemm(ta, tb, (int)M, (int)N, (int)K, alpha, A, ta ? (int)M : (int)K, B, tb ? (int)K : (int)N, beta, C, (int)N);
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

Napi::Value KernelName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), gemmKernelName()); }

}  // namespace

void registerGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("kernelName", Napi::Function::New(env, KernelName));
}

}  // namespace ctr
