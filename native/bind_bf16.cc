// Bindings for the bf16 inference layer (bf16_gemm.h): weight packing (once per model load), row
// rounding (exposed for tests), the fused layer and the path switch.
#include "bf16_gemm.h"
#include "napi_args.h"

namespace ctr {
namespace {

uint16_t* u16(const Napi::CallbackInfo& info, size_t i, const char* k, const char* name, size_t minLen) {
  return typedArg<uint16_t, napi_uint16_array>(info, i, k, name, minLen, false, "Uint16Array");
}

// bf16PackedSize(K, N)
Napi::Value PackedSize(const Napi::CallbackInfo& info) {
  const char* k = "bf16PackedSize";
  long K = count(info, 0, k, "K"), N = count(info, 1, k, "N");
  return Napi::Number::New(info.Env(), (double)bf16PackedSize((int)K, (int)N));
}

// bf16PackWeights(W, K, N, packed)
Napi::Value PackWeights(const Napi::CallbackInfo& info) {
  const char* k = "bf16PackWeights";
  long K = count(info, 1, k, "K"), N = count(info, 2, k, "N");
  const float* W = f32(info, 0, k, "W", (size_t)(K * N));
  uint16_t* packed = u16(info, 3, k, "packed", (size_t)bf16PackedSize((int)K, (int)N));
  bf16PackWeights(W, (int)K, (int)N, packed);
  return info.Env().Undefined();
}

// bf16RoundRows(X, M, K, out)
Napi::Value RoundRows(const Napi::CallbackInfo& info) {
  const char* k = "bf16RoundRows";
  long M = count(info, 1, k, "M"), K = count(info, 2, k, "K");
  const float* X = f32(info, 0, k, "X", (size_t)(M * K));
  uint16_t* out = u16(info, 3, k, "out", (size_t)(M * K));
  bf16RoundRows(X, (int)M, (int)K, out);
  return info.Env().Undefined();
}

// bf16LinearForward(X, M, K, N, packed, b|null, Y, act, param)
Napi::Value LinearForward(const Napi::CallbackInfo& info) {
  const char* k = "bf16LinearForward";
  long M = count(info, 1, k, "M"), K = count(info, 2, k, "K"), N = count(info, 3, k, "N");
  const float* X = f32(info, 0, k, "X", (size_t)(M * K));
  const uint16_t* packed = u16(info, 4, k, "packed", (size_t)bf16PackedSize((int)K, (int)N));
  const float* b = f32opt(info, 5, k, "b", (size_t)N);
  float* Y = f32(info, 6, k, "Y", (size_t)(M * N));
  Act act = activation(info, 7, k);
  float param = (float)real(info, 8, k, "param");
  bf16LinearForward(X, (int)M, (int)K, (int)N, packed, b, Y, act, param);
  return info.Env().Undefined();
}

Napi::Value KernelName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), bf16KernelName()); }

// _bf16ForceKernel("avx512bf16" | "portable" | "auto") -> false when the CPU lacks the path.
Napi::Value ForceKernel(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) fail(info.Env(), "_bf16ForceKernel", "name must be a string");
  return Napi::Boolean::New(info.Env(), bf16ForceKernel(info[0].As<Napi::String>().Utf8Value().c_str()));
}

}  // namespace

void registerBf16(Napi::Env env, Napi::Object exports) {
  exports.Set("bf16PackedSize", Napi::Function::New(env, PackedSize));
  exports.Set("bf16PackWeights", Napi::Function::New(env, PackWeights));
  exports.Set("bf16RoundRows", Napi::Function::New(env, RoundRows));
  exports.Set("bf16LinearForward", Napi::Function::New(env, LinearForward));
  exports.Set("bf16KernelName", Napi::Function::New(env, KernelName));
  exports.Set("_bf16ForceKernel", Napi::Function::New(env, ForceKernel));
}

}  // namespace ctr
