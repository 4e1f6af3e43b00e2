// Helpers shared by the non-GEMM binding files: exception translation, overflow-checked size
// products, op-name parsing, shape and offsets validation. Everything that decides how far a
// kernel may read or write is checked here, before any pointer reaches a kernel.
#pragma once
#include <initializer_list>
#include <string>
#include <vector>

#include "kernels.h"
#include "napi_args.h"

namespace ctr {

// Kernels throw KernelError (a std::exception); the build's NODE_ADDON_API_CPP_EXCEPTIONS_ALL
// turns it, like any C++ exception leaving a binding, into a JS Error with its message.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
void exportFn(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New(env, F, name));
}

// Product of sizes as an element count; fails instead of overflowing.
inline size_t prod(const Napi::CallbackInfo& info, const char* kernel, std::initializer_list<long> dims) {
  unsigned long p = 1;
  for (long d : dims)
    if (__builtin_mul_overflow(p, (unsigned long)d, &p) || p > (1UL << 53))
      fail(info.Env(), kernel, "sizes are too large");
  return (size_t)p;
}

inline long lengthOf(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsTypedArray()) return 0;
  return (long)info[i].As<Napi::TypedArray>().ElementLength();
}

inline std::string argString(const Napi::CallbackInfo& info, size_t i, const char* kernel, const char* name) {
  if (!info[i].IsString()) fail(info.Env(), kernel, std::string(name) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

inline UnaryOp unaryOpArg(const Napi::CallbackInfo& info, size_t i, const char* kernel) {
  static const std::pair<const char*, UnaryOp> ops[] = {
      {"relu", UnaryOp::Relu}, {"sigmoid", UnaryOp::Sigmoid}, {"tanh", UnaryOp::Tanh}, {"softplus", UnaryOp::Softplus},
      {"smelu", UnaryOp::Smelu}, {"exp", UnaryOp::Exp},       {"log", UnaryOp::Log},   {"neg", UnaryOp::Neg},
      {"abs", UnaryOp::Abs},     {"sqrt", UnaryOp::Sqrt},     {"square", UnaryOp::Square}};
  std::string s = argString(info, i, kernel, "op");
  for (auto& o : ops)
    if (s == o.first) return o.second;
  fail(info.Env(), kernel, "unknown unary op '" + s + "'");
}

inline BinaryOp binaryOpArg(const Napi::CallbackInfo& info, size_t i, const char* kernel) {
  std::string s = argString(info, i, kernel, "op");
  if (s == "add") return BinaryOp::Add;
  if (s == "sub") return BinaryOp::Sub;
  if (s == "mul") return BinaryOp::Mul;
  if (s == "div") return BinaryOp::Div;
  fail(info.Env(), kernel, "unknown binary op '" + s + "'");
}

// A JS array of at most kMaxDims non-negative integers.
inline std::vector<long> shapeArg(const Napi::CallbackInfo& info, size_t i, const char* kernel, const char* name) {
  if (!info[i].IsArray()) fail(info.Env(), kernel, std::string(name) + " must be an array of numbers");
  auto arr = info[i].As<Napi::Array>();
  if (arr.Length() > (uint32_t)kMaxDims)
    fail(info.Env(), kernel, std::string(name) + " has " + std::to_string(arr.Length()) + " dims, at most 8 allowed");
  std::vector<long> shape;
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr.Get(k);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0) || d > 2147483647.0 || d != (double)(long)d)
      fail(info.Env(), kernel, std::string(name) + "[" + std::to_string(k) + "] must be a non-negative integer");
    shape.push_back((long)d);
  }
  return shape;
}

inline std::string shapeStr(const std::vector<long>& s) {
  std::string r = "[";
  for (size_t k = 0; k < s.size(); ++k) r += (k ? "," : "") + std::to_string(s[k]);
  return r + "]";
}

// Segment offsets: S+1 entries, offsets[0] = 0, non-decreasing, offsets[S] = end (end < 0:
// any end). Returns S; the pointer goes to *out.
inline long offsetsArg(const Napi::CallbackInfo& info, size_t i, const char* kernel, long end, const int32_t** out) {
  const int32_t* o = i32(info, i, kernel, "offsets", 1);
  long S = lengthOf(info, i) - 1;
  if (o[0] != 0) fail(info.Env(), kernel, "offsets[0] must be 0, got " + std::to_string(o[0]));
  for (long s = 0; s < S; ++s)
    if (o[s + 1] < o[s])
      fail(info.Env(), kernel, "offsets must be non-decreasing: offsets[" + std::to_string(s + 1) + "] = " +
                                   std::to_string(o[s + 1]) + " < offsets[" + std::to_string(s) + "] = " +
                                   std::to_string(o[s]));
  if (end >= 0 && o[S] != end)
    fail(info.Env(), kernel, "offsets[" + std::to_string(S) + "] = " + std::to_string(o[S]) + ", must equal " +
                                 std::to_string(end));
  *out = o;
  return S;
}

// Number of rows of the [rows, dim] table in argument i, whose length must be a multiple of
// dim (dim = 0: no rows).
inline long tableRows(const Napi::CallbackInfo& info, size_t i, const char* kernel, long dim) {
  f32(info, i, kernel, "table", 0);
  long len = lengthOf(info, i);
  if (dim == 0) return 0;
  if (len % dim != 0)
    fail(info.Env(), kernel, "table length " + std::to_string(len) + " is not a multiple of dim=" + std::to_string(dim));
  return len / dim;
}

// Segment kernels get no row count: the [rows, d] buffer in argument i defines it (its length
// must be a multiple of d) and offsets must end there; with d = 0 offsets define it.
inline long segmentRows(const Napi::CallbackInfo& info, size_t i, const char* kernel, const char* name, long d,
                        size_t offIdx, const int32_t** off, long* S) {
  f32(info, i, kernel, name, 0);
  long len = lengthOf(info, i);
  if (d == 0) {
    *S = offsetsArg(info, offIdx, kernel, -1, off);
    return (*off)[*S];
  }
  if (len % d != 0)
    fail(info.Env(), kernel, std::string(name) + " length " + std::to_string(len) + " is not a multiple of d=" +
                                 std::to_string(d));
  *S = offsetsArg(info, offIdx, kernel, len / d, off);
  return len / d;
}

void registerElementwise(Napi::Env env, Napi::Object exports);
void registerReduce(Napi::Env env, Napi::Object exports);
void registerEmbedding(Napi::Env env, Napi::Object exports);
void registerAttention(Napi::Env env, Napi::Object exports);

}  // namespace ctr
