// Argument helpers shared by the binding files: every typed-array argument is checked for
// type and length before a kernel sees its pointer, and errors name the kernel and argument.
#pragma once
#include <napi.h>

#include <array>
#include <string>

#include "gemm.h"

namespace ctr {

[[noreturn]] inline void fail(const Napi::Env& env, const char* kernel, const std::string& msg) {
  throw Napi::Error::New(env, std::string(kernel) + ": " + msg);
}

inline std::string lenMsg(const char* name, size_t have, size_t need) {
  return std::string(name) + " has " + std::to_string(have) + " elements, needs " + std::to_string(need);
}

template <typename T, napi_typedarray_type TT>
inline T* typedArg(const Napi::CallbackInfo& info, size_t i, const char* kernel, const char* name, size_t minLen,
                   bool optional, const char* typeName) {
  if (optional && (info[i].IsNull() || info[i].IsUndefined())) return nullptr;
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != TT)
    fail(info.Env(), kernel, std::string(name) + " must be a " + typeName);
  auto a = info[i].As<Napi::TypedArrayOf<T>>();
  if (a.ElementLength() < minLen) fail(info.Env(), kernel, lenMsg(name, a.ElementLength(), minLen));
  return a.Data();
}

// Float32Array with at least minLen elements.
inline float* f32(const Napi::CallbackInfo& info, size_t i, const char* kernel, const char* name, size_t minLen) {
  return typedArg<float, napi_float32_array>(info, i, kernel, name, minLen, false, "Float32Array");
}
// Float32Array or null/undefined (-> nullptr).
inline float* f32opt(const Napi::CallbackInfo& info, size_t i, const char* kernel, const char* name, size_t minLen) {
  return typedArg<float, napi_float32_array>(info, i, kernel, name, minLen, true, "Float32Array");
}
inline int32_t* i32(const Napi::CallbackInfo& info, size_t i, const char* kernel, const char* name, size_t minLen) {
  return typedArg<int32_t, napi_int32_array>(info, i, kernel, name, minLen, false, "Int32Array");
}
inline int32_t* i32opt(const Napi::CallbackInfo& info, size_t i, const char* kernel, const char* name, size_t minLen) {
  return typedArg<int32_t, napi_int32_array>(info, i, kernel, name, minLen, true, "Int32Array");
}

// Non-negative integer that fits in int32.
inline long count(const Napi::CallbackInfo& info, size_t i, const char* kernel, const char* name) {
  if (!info[i].IsNumber()) fail(info.Env(), kernel, std::string(name) + " must be a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0) || v > 2147483647.0 || v != (double)(long)v)
    fail(info.Env(), kernel, std::string(name) + " must be a non-negative integer, got " + std::to_string(v));
  return (long)v;
}

inline double real(const Napi::CallbackInfo& info, size_t i, const char* kernel, const char* name) {
  if (!info[i].IsNumber()) fail(info.Env(), kernel, std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

inline bool flag(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }

// The arguments of a dense layer's binding: [M, K] inputs, [K, N] weights, [M, N] outputs, [N]
// biases (a cross layer's N is its D). The counts are read first, then the Float32Arrays in
// argument order, each checked against the size of its role, so that bindings with a dozen
// arrays (the backward passes) state each array's role once instead of its index and length.
class DenseArgs {
 public:
  enum Size { MK, KN, MN, N1 };
  struct Array {
    const char* name;
    Size size;
  };
  // M, K, N at arguments dimsAt, dimsAt + 1, dimsAt + 2; nName names N in messages.
  DenseArgs(const Napi::CallbackInfo& info, const char* kernel, size_t dimsAt, const char* nName)
      : M(count(info, dimsAt, kernel, "M")), K(count(info, dimsAt + 1, kernel, "K")), N(count(info, dimsAt + 2, kernel, nName)),
        info_(info), kernel_(kernel) {}
  // Arguments first .. first + n - 1; `optional`: each may be null or undefined (nullptr).
  template <size_t n>
  std::array<float*, n> arrays(size_t first, const Array (&a)[n], bool optional = false) const {
    std::array<float*, n> out;
    for (size_t j = 0; j < n; ++j)
      out[j] = optional ? f32opt(info_, first + j, kernel_, a[j].name, len(a[j].size))
                        : f32(info_, first + j, kernel_, a[j].name, len(a[j].size));
    return out;
  }
  const long M, K, N;

 private:
  const Napi::CallbackInfo& info_;
  const char* kernel_;
  size_t len(Size s) const {
    return s == MK ? (size_t)(M * K) : s == KN ? (size_t)(K * N) : s == MN ? (size_t)(M * N) : (size_t)N;
  }
};

// The `act` argument of the fused-layer bindings ("none", "relu", "sigmoid", "tanh", "smelu").
Act activation(const Napi::CallbackInfo& info, size_t i, const char* k);

// Registration entry points, one per binding file.
void registerGemm(Napi::Env env, Napi::Object exports);
void registerKernels(Napi::Env env, Napi::Object exports);
void registerInt8(Napi::Env env, Napi::Object exports);
void registerBf16(Napi::Env env, Napi::Object exports);
void registerLines(Napi::Env env, Napi::Object exports);

}  // namespace ctr
