// Bindings: unary / binary elementwise ops and their backward, affine, axpy, axpby, fill.
#include <cmath>

#include "bind_util.h"

namespace ctr {
namespace {

float paramArg(const Napi::CallbackInfo& info, size_t i, const char* k, UnaryOp op) {
  double beta = real(info, i, k, "param");
  if (op == UnaryOp::Smelu && !(beta >= 0 && std::isfinite(beta)))
    fail(info.Env(), k, "smelu beta must be finite and >= 0, got " + fmtNum(beta));
  return (float)beta;
}

// unary(op, x, out, n, param)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  const char* k = "unary";
  UnaryOp op = unaryOpArg(info, 0, k);
  long n = count(info, 3, k, "n");
  const float* x = f32(info, 1, k, "x", n);
  float* out = f32(info, 2, k, "out", n);
  unary(op, x, out, n, paramArg(info, 4, k, op));
  return info.Env().Undefined();
}

// unaryBackward(op, x, y, dy, dx, n, param)
Napi::Value UnaryBackward(const Napi::CallbackInfo& info) {
  const char* k = "unaryBackward";
  UnaryOp op = unaryOpArg(info, 0, k);
  long n = count(info, 5, k, "n");
  const float* x = f32(info, 1, k, "x", n);
  const float* y = f32(info, 2, k, "y", n);
  const float* dy = f32(info, 3, k, "dy", n);
  float* dx = f32(info, 4, k, "dx", n);
  unaryBackward(op, x, y, dy, dx, n, paramArg(info, 6, k, op));
  return info.Env().Undefined();
}

// Right-aligned, validated broadcast shapes of a binary op (arguments 2, 4, outIdx).
struct Shapes {
  long a[kMaxDims], b[kMaxDims], out[kMaxDims];
  int nd;
  size_t aSize = 1, bSize = 1, outSize = 1;
};

Shapes shapesArg(const Napi::CallbackInfo& info, const char* k, size_t outIdx) {
  auto as = shapeArg(info, 2, k, "aShape"), bs = shapeArg(info, 4, k, "bShape"), os = shapeArg(info, outIdx, k, "outShape");
  Shapes s;
  s.nd = (int)os.size();
  if (as.size() > os.size() || bs.size() > os.size())
    fail(info.Env(), k, "outShape " + shapeStr(os) + " has fewer dims than aShape " + shapeStr(as) + " or bShape " +
                            shapeStr(bs));
  for (int i = 0; i < s.nd; ++i) {
    int ia = i - (s.nd - (int)as.size()), ib = i - (s.nd - (int)bs.size());
    s.a[i] = ia >= 0 ? as[ia] : 1;
    s.b[i] = ib >= 0 ? bs[ib] : 1;
    s.out[i] = os[i];
    if ((s.a[i] != s.out[i] && s.a[i] != 1) || (s.b[i] != s.out[i] && s.b[i] != 1))
      fail(info.Env(), k, "shapes " + shapeStr(as) + " and " + shapeStr(bs) + " do not broadcast to " + shapeStr(os));
    s.aSize = prod(info, k, {(long)s.aSize, s.a[i]});
    s.bSize = prod(info, k, {(long)s.bSize, s.b[i]});
    s.outSize = prod(info, k, {(long)s.outSize, s.out[i]});
  }
  return s;
}

// binary(op, a, aShape, b, bShape, out, outShape)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  const char* k = "binary";
  BinaryOp op = binaryOpArg(info, 0, k);
  Shapes s = shapesArg(info, k, 6);
  const float* a = f32(info, 1, k, "a", s.aSize);
  const float* b = f32(info, 3, k, "b", s.bSize);
  float* out = f32(info, 5, k, "out", s.outSize);
  binary(op, a, s.a, b, s.b, out, s.out, s.nd);
  return info.Env().Undefined();
}

// binaryBackward(op, a, aShape, b, bShape, dOut, outShape, da, db)
Napi::Value BinaryBackward(const Napi::CallbackInfo& info) {
  const char* k = "binaryBackward";
  BinaryOp op = binaryOpArg(info, 0, k);
  Shapes s = shapesArg(info, k, 6);
  const float* a = f32(info, 1, k, "a", s.aSize);
  const float* b = f32(info, 3, k, "b", s.bSize);
  const float* dOut = f32(info, 5, k, "dOut", s.outSize);
  float* da = f32opt(info, 7, k, "da", s.aSize);
  float* db = f32opt(info, 8, k, "db", s.bSize);
  binaryBackward(op, a, s.a, b, s.b, dOut, s.out, s.nd, da, db);
  return info.Env().Undefined();
}

// affine(x, out, n, a, b)
Napi::Value Affine(const Napi::CallbackInfo& info) {
  const char* k = "affine";
  long n = count(info, 2, k, "n");
  affine(f32(info, 0, k, "x", n), f32(info, 1, k, "out", n), n, (float)real(info, 3, k, "a"),
         (float)real(info, 4, k, "b"));
  return info.Env().Undefined();
}

// axpy(n, a, x, y)
Napi::Value Axpy(const Napi::CallbackInfo& info) {
  const char* k = "axpy";
  long n = count(info, 0, k, "n");
  axpy(n, (float)real(info, 1, k, "a"), f32(info, 2, k, "x", n), f32(info, 3, k, "y", n));
  return info.Env().Undefined();
}

// axpby(n, a, x, b, y)
Napi::Value Axpby(const Napi::CallbackInfo& info) {
  const char* k = "axpby";
  long n = count(info, 0, k, "n");
  axpby(n, (float)real(info, 1, k, "a"), f32(info, 2, k, "x", n), (float)real(info, 3, k, "b"), f32(info, 4, k, "y", n));
  return info.Env().Undefined();
}

// fill(x, n, value)
Napi::Value Fill(const Napi::CallbackInfo& info) {
  const char* k = "fill";
  long n = count(info, 1, k, "n");
  fill(f32(info, 0, k, "x", n), n, (float)real(info, 2, k, "value"));
  return info.Env().Undefined();
}

}  // namespace

void registerElementwise(Napi::Env env, Napi::Object exports) {
  exportFn<Unary>(env, exports, "unary");
  exportFn<UnaryBackward>(env, exports, "unaryBackward");
  exportFn<Binary>(env, exports, "binary");
  exportFn<BinaryBackward>(env, exports, "binaryBackward");
  exportFn<Affine>(env, exports, "affine");
  exportFn<Axpy>(env, exports, "axpy");
  exportFn<Axpby>(env, exports, "axpby");
  exportFn<Fill>(env, exports, "fill");
}

}  // namespace ctr
