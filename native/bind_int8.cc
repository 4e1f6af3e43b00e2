// Bindings for the int8 inference layer (int8_gemm.h): weight quantisation and packing (once
// per model load), row quantisation (exposed for tests), the fused layer and the path switch.
#include "int8_gemm.h"
#include "napi_args.h"

namespace ctr {
namespace {

int8_t* i8(const Napi::CallbackInfo& info, size_t i, const char* k, const char* name, size_t minLen) {
  return typedArg<int8_t, napi_int8_array>(info, i, k, name, minLen, false, "Int8Array");
}
uint8_t* u8(const Napi::CallbackInfo& info, size_t i, const char* k, const char* name, size_t minLen) {
  return typedArg<uint8_t, napi_uint8_array>(info, i, k, name, minLen, false, "Uint8Array");
}

long kArg(const Napi::CallbackInfo& info, size_t i, const char* k) {
  long K = count(info, i, k, "K");
  if (K > kInt8MaxK) fail(info.Env(), k, "K = " + std::to_string(K) + " exceeds " + std::to_string(kInt8MaxK) + " (int32 accumulator range)");
  return K;
}

// int8PackedBytes(K, N)
Napi::Value PackedBytes(const Napi::CallbackInfo& info) {
  const char* k = "int8PackedBytes";
  long K = kArg(info, 0, k), N = count(info, 1, k, "N");
  return Napi::Number::New(info.Env(), (double)int8PackedBytes((int)K, (int)N));
}

// int8QuantizeWeights(W, K, N, Q, scale)
Napi::Value QuantizeWeights(const Napi::CallbackInfo& info) {
  const char* k = "int8QuantizeWeights";
  long K = kArg(info, 1, k), N = count(info, 2, k, "N");
  const float* W = f32(info, 0, k, "W", (size_t)(K * N));
  int8_t* Q = i8(info, 3, k, "Q", (size_t)(K * N));
  float* scale = f32(info, 4, k, "scale", (size_t)N);
  int8QuantizeWeights(W, (int)K, (int)N, Q, scale);
  return info.Env().Undefined();
}

// int8PackWeights(Q, K, N, packed, colSum)
Napi::Value PackWeights(const Napi::CallbackInfo& info) {
  const char* k = "int8PackWeights";
  long K = kArg(info, 1, k), N = count(info, 2, k, "N");
  const int8_t* Q = i8(info, 0, k, "Q", (size_t)(K * N));
  int8_t* packed = i8(info, 3, k, "packed", (size_t)int8PackedBytes((int)K, (int)N));
  int32_t* colSum = i32(info, 4, k, "colSum", (size_t)N);
  int8PackWeights(Q, (int)K, (int)N, packed, colSum);
  return info.Env().Undefined();
}

// int8QuantizeRows(X, M, K, Xq, scale, zp): Xq is [M, K] (no padding).
Napi::Value QuantizeRows(const Napi::CallbackInfo& info) {
  const char* k = "int8QuantizeRows";
  long M = count(info, 1, k, "M"), K = kArg(info, 2, k);
  const float* X = f32(info, 0, k, "X", (size_t)(M * K));
  uint8_t* Xq = u8(info, 3, k, "Xq", (size_t)(M * K));
  float* scale = f32(info, 4, k, "scale", (size_t)M);
  int32_t* zp = i32(info, 5, k, "zp", (size_t)M);
  int8QuantizeRows(X, (int)M, (int)K, Xq, K, scale, zp);
  return info.Env().Undefined();
}

// int8LinearForward(X, M, K, N, packed, wScale, colSum, b|null, Y, act, param)
Napi::Value LinearForward(const Napi::CallbackInfo& info) {
  const char* k = "int8LinearForward";
  long M = count(info, 1, k, "M"), K = kArg(info, 2, k), N = count(info, 3, k, "N");
  const float* X = f32(info, 0, k, "X", (size_t)(M * K));
  const int8_t* packed = i8(info, 4, k, "packed", (size_t)int8PackedBytes((int)K, (int)N));
  const float* wScale = f32(info, 5, k, "wScale", (size_t)N);
  const int32_t* colSum = i32(info, 6, k, "colSum", (size_t)N);
  const float* b = f32opt(info, 7, k, "b", (size_t)N);
  float* Y = f32(info, 8, k, "Y", (size_t)(M * N));
  Act act = activation(info, 9, k);
  float param = (float)real(info, 10, k, "param");
  int8LinearForward(X, (int)M, (int)K, (int)N, packed, wScale, colSum, b, Y, act, param);
  return info.Env().Undefined();
}

Napi::Value KernelName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), int8KernelName()); }

// _int8ForceKernel("vnni" | "portable" | "auto") -> false when the CPU lacks the path.
Napi::Value ForceKernel(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) fail(info.Env(), "_int8ForceKernel", "name must be a string");
  return Napi::Boolean::New(info.Env(), int8ForceKernel(info[0].As<Napi::String>().Utf8Value().c_str()));
}

}  // namespace

void registerInt8(Napi::Env env, Napi::Object exports) {
  exports.Set("int8PackedBytes", Napi::Function::New(env, PackedBytes));
  exports.Set("int8QuantizeWeights", Napi::Function::New(env, QuantizeWeights));
  exports.Set("int8PackWeights", Napi::Function::New(env, PackWeights));
  exports.Set("int8QuantizeRows", Napi::Function::New(env, QuantizeRows));
  exports.Set("int8LinearForward", Napi::Function::New(env, LinearForward));
  exports.Set("int8KernelName", Napi::Function::New(env, KernelName));
  exports.Set("_int8ForceKernel", Napi::Function::New(env, ForceKernel));
}

}  // namespace ctr
