// Bindings: reductions, copy2d, sumSquares, dot, gram, combineRuns, softmax, segment ops, pair differences, BCE loss,
// layer / batch norm and dropout.
#include <cmath>

#include "bind_util.h"

namespace ctr {
namespace {

// reduceSum(x, outer, len, inner, out, scale)
Napi::Value ReduceSum(const Napi::CallbackInfo& info) {
  const char* k = "reduceSum";
  long outer = count(info, 1, k, "outer"), len = count(info, 2, k, "len"), inner = count(info, 3, k, "inner");
  const float* x = f32(info, 0, k, "x", prod(info, k, {outer, len, inner}));
  float* out = f32(info, 4, k, "out", prod(info, k, {outer, inner}));
  reduceSum(x, outer, len, inner, out, (float)real(info, 5, k, "scale"));
  return info.Env().Undefined();
}

// reduceSumBackward(dOut, outer, len, inner, dx, scale)
Napi::Value ReduceSumBackward(const Napi::CallbackInfo& info) {
  const char* k = "reduceSumBackward";
  long outer = count(info, 1, k, "outer"), len = count(info, 2, k, "len"), inner = count(info, 3, k, "inner");
  const float* dOut = f32(info, 0, k, "dOut", prod(info, k, {outer, inner}));
  float* dx = f32(info, 4, k, "dx", prod(info, k, {outer, len, inner}));
  reduceSumBackward(dOut, outer, len, inner, dx, (float)real(info, 5, k, "scale"));
  return info.Env().Undefined();
}

// copy2d(src, srcOff, srcStride, dst, dstOff, dstStride, rows, cols, accumulate)
Napi::Value Copy2d(const Napi::CallbackInfo& info) {
  const char* k = "copy2d";
  long srcOff = count(info, 1, k, "srcOff"), srcStride = count(info, 2, k, "srcStride");
  long dstOff = count(info, 4, k, "dstOff"), dstStride = count(info, 5, k, "dstStride");
  long rows = count(info, 6, k, "rows"), cols = count(info, 7, k, "cols");
  bool empty = rows == 0 || cols == 0;
  // Last element touched + 1: off + (rows−1)·stride + cols.
  size_t srcNeed = empty ? 0 : (size_t)srcOff + prod(info, k, {rows - 1, srcStride}) + (size_t)cols;
  size_t dstNeed = empty ? 0 : (size_t)dstOff + prod(info, k, {rows - 1, dstStride}) + (size_t)cols;
  float* src = f32(info, 0, k, "src", srcNeed);
  float* dst = f32(info, 3, k, "dst", dstNeed);
  if (!empty) copy2d(src + srcOff, srcStride, dst + dstOff, dstStride, rows, cols, flag(info, 8));
  return info.Env().Undefined();
}

// sumSquares(x, n) -> number
Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  const char* k = "sumSquares";
  long n = count(info, 1, k, "n");
  return Napi::Number::New(info.Env(), sumSquares(f32(info, 0, k, "x", n), n));
}

// dot(x, y, n) -> number
Napi::Value Dot(const Napi::CallbackInfo& info) {
  const char* k = "dot";
  long n = count(info, 2, k, "n");
  return Napi::Number::New(info.Env(), dot(f32(info, 0, k, "x", n), f32(info, 1, k, "y", n), n));
}

// xs: an array of m Float32Arrays of at least n floats each.
std::vector<float*> vectorsArg(const Napi::CallbackInfo& info, size_t i, const char* k, long n) {
  if (!info[i].IsArray()) fail(info.Env(), k, "xs must be an array of Float32Arrays");
  auto arr = info[i].As<Napi::Array>();
  std::vector<float*> xs(arr.Length());
  for (uint32_t a = 0; a < arr.Length(); ++a) {
    Napi::Value v = arr.Get(a);
    std::string name = "xs[" + std::to_string(a) + "]";
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      fail(info.Env(), k, name + " must be a Float32Array");
    auto x = v.As<Napi::Float32Array>();
    if ((long)x.ElementLength() < n) fail(info.Env(), k, lenMsg(name.c_str(), x.ElementLength(), (size_t)n));
    xs[a] = x.Data();
  }
  return xs;
}

// The (xs, n, run) arguments of gram and combineRuns: run >= 1 floats per run, `runs` of them.
struct Runs {
  long n, run, runs, m;
  std::vector<float*> xs;
};
Runs runsArgs(const Napi::CallbackInfo& info, const char* k) {
  Runs r;
  r.n = count(info, 1, k, "n");
  r.run = count(info, 2, k, "run");
  if (r.run < 1) fail(info.Env(), k, "run must be at least 1");
  r.runs = (r.n + r.run - 1) / r.run;
  r.xs = vectorsArg(info, 0, k, r.n);
  r.m = (long)r.xs.size();
  return r;
}

// gram(xs, n, run, out): out a Float64Array of at least runs·m·m
Napi::Value Gram(const Napi::CallbackInfo& info) {
  const char* k = "gram";
  Runs r = runsArgs(info, k);
  double* out = typedArg<double, napi_float64_array>(info, 3, k, "out", prod(info, k, {r.runs, r.m, r.m}), false, "Float64Array");
  gram(r.xs.data(), r.m, r.n, r.run, out);
  return info.Env().Undefined();
}

// combineRuns(xs, n, run, coef): coef a Float64Array of at least runs·m
Napi::Value CombineRuns(const Napi::CallbackInfo& info) {
  const char* k = "combineRuns";
  Runs r = runsArgs(info, k);
  double* coef = typedArg<double, napi_float64_array>(info, 3, k, "coef", prod(info, k, {r.runs, r.m}), false, "Float64Array");
  combineRuns(r.xs.data(), r.m, r.n, r.run, coef);
  return info.Env().Undefined();
}

// softmax(x, outer, len, inner, out, log)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const char* k = "softmax";
  long outer = count(info, 1, k, "outer"), len = count(info, 2, k, "len"), inner = count(info, 3, k, "inner");
  size_t n = prod(info, k, {outer, len, inner});
  softmax(f32(info, 0, k, "x", n), outer, len, inner, f32(info, 4, k, "out", n), flag(info, 5));
  return info.Env().Undefined();
}

// softmaxBackward(y, dy, outer, len, inner, dx, log)
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  const char* k = "softmaxBackward";
  long outer = count(info, 2, k, "outer"), len = count(info, 3, k, "len"), inner = count(info, 4, k, "inner");
  size_t n = prod(info, k, {outer, len, inner});
  softmaxBackward(f32(info, 0, k, "y", n), f32(info, 1, k, "dy", n), outer, len, inner, f32(info, 5, k, "dx", n),
                  flag(info, 6));
  return info.Env().Undefined();
}

// Segment layout: offsets (argument offIdx) over the rows of the [rows, d] buffer in argument
// rowsIdx.
struct Segs {
  const int32_t* off;
  long S, rows;
};
Segs segsArg(const Napi::CallbackInfo& info, const char* k, size_t rowsIdx, const char* name, long d, size_t offIdx) {
  Segs s;
  s.rows = segmentRows(info, rowsIdx, k, name, d, offIdx, &s.off, &s.S);
  return s;
}

// segmentSoftmax(x, d, offsets, out, log)
Napi::Value SegmentSoftmax(const Napi::CallbackInfo& info) {
  const char* k = "segmentSoftmax";
  long d = count(info, 1, k, "d");
  Segs s = segsArg(info, k, 0, "x", d, 2);
  size_t n = prod(info, k, {s.rows, d});
  segmentSoftmax(f32(info, 0, k, "x", n), d, s.off, s.S, f32(info, 3, k, "out", n), flag(info, 4));
  return info.Env().Undefined();
}

// segmentSoftmaxBackward(y, dy, d, offsets, dx, log)
Napi::Value SegmentSoftmaxBackward(const Napi::CallbackInfo& info) {
  const char* k = "segmentSoftmaxBackward";
  long d = count(info, 2, k, "d");
  Segs s = segsArg(info, k, 0, "y", d, 3);
  size_t n = prod(info, k, {s.rows, d});
  segmentSoftmaxBackward(f32(info, 0, k, "y", n), f32(info, 1, k, "dy", n), d, s.off, s.S, f32(info, 4, k, "dx", n),
                         flag(info, 5));
  return info.Env().Undefined();
}

// segmentSum(x, d, offsets, out, mean)
Napi::Value SegmentSum(const Napi::CallbackInfo& info) {
  const char* k = "segmentSum";
  long d = count(info, 1, k, "d");
  Segs s = segsArg(info, k, 0, "x", d, 2);
  segmentSum(f32(info, 0, k, "x", prod(info, k, {s.rows, d})), d, s.off, s.S,
             f32(info, 3, k, "out", prod(info, k, {s.S, d})), flag(info, 4));
  return info.Env().Undefined();
}

// segmentSumBackward(dOut, d, offsets, dx, mean)
Napi::Value SegmentSumBackward(const Napi::CallbackInfo& info) {
  const char* k = "segmentSumBackward";
  long d = count(info, 1, k, "d");
  Segs s = segsArg(info, k, 3, "dx", d, 2);
  segmentSumBackward(f32(info, 0, k, "dOut", prod(info, k, {s.S, d})), d, s.off, s.S,
                     f32(info, 3, k, "dx", prod(info, k, {s.rows, d})), flag(info, 4));
  return info.Env().Undefined();
}

// pairDiff(z, pi, pj, out, nPairs)
Napi::Value PairDiff(const Napi::CallbackInfo& info) {
  const char* k = "pairDiff";
  long np = count(info, 4, k, "nPairs");
  const float* z = f32(info, 0, k, "z", 0);
  pairDiff(z, lengthOf(info, 0), i32(info, 1, k, "pi", np), i32(info, 2, k, "pj", np), f32(info, 3, k, "out", np), np);
  return info.Env().Undefined();
}

// pairDiffBackward(dOut, pi, pj, dz, nPairs)
Napi::Value PairDiffBackward(const Napi::CallbackInfo& info) {
  const char* k = "pairDiffBackward";
  long np = count(info, 4, k, "nPairs");
  float* dz = f32(info, 3, k, "dz", 0);
  pairDiffBackward(f32(info, 0, k, "dOut", np), i32(info, 1, k, "pi", np), i32(info, 2, k, "pj", np), dz,
                   lengthOf(info, 3), np);
  return info.Env().Undefined();
}

// bceWithLogits(z, y, w, n, dz) -> loss
Napi::Value BceWithLogits(const Napi::CallbackInfo& info) {
  const char* k = "bceWithLogits";
  long n = count(info, 3, k, "n");
  double loss = bceWithLogits(f32(info, 0, k, "z", n), f32(info, 1, k, "y", n), f32opt(info, 2, k, "w", n), n,
                              f32(info, 4, k, "dz", n));
  return Napi::Number::New(info.Env(), loss);
}

// layerNorm(x, rows, d, gamma, beta, eps, out, mean, rstd)
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  const char* k = "layerNorm";
  long rows = count(info, 1, k, "rows"), d = count(info, 2, k, "d");
  size_t n = prod(info, k, {rows, d});
  layerNorm(f32(info, 0, k, "x", n), rows, d, f32(info, 3, k, "gamma", d), f32(info, 4, k, "beta", d),
            (float)real(info, 5, k, "eps"), f32(info, 6, k, "out", n), f32(info, 7, k, "mean", rows),
            f32(info, 8, k, "rstd", rows));
  return info.Env().Undefined();
}

// layerNormBackward(x, dy, rows, d, gamma, mean, rstd, dx, dgamma, dbeta)
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  const char* k = "layerNormBackward";
  long rows = count(info, 2, k, "rows"), d = count(info, 3, k, "d");
  size_t n = prod(info, k, {rows, d});
  layerNormBackward(f32(info, 0, k, "x", n), f32(info, 1, k, "dy", n), rows, d, f32(info, 4, k, "gamma", d),
                    f32(info, 5, k, "mean", rows), f32(info, 6, k, "rstd", rows), f32opt(info, 7, k, "dx", n),
                    f32opt(info, 8, k, "dgamma", d), f32opt(info, 9, k, "dbeta", d));
  return info.Env().Undefined();
}

// batchNormTrain(x, rows, d, gamma, beta, eps, momentum, runMean, runVar, out, mean, rstd)
Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  const char* k = "batchNormTrain";
  long rows = count(info, 1, k, "rows"), d = count(info, 2, k, "d");
  // As in PyTorch: the unbiased running variance needs at least 2 rows.
  if (rows < 2)
    fail(info.Env(), k, "training needs more than 1 row per column, got rows=" + std::to_string(rows) +
                            " (d=" + std::to_string(d) + ")");
  size_t n = prod(info, k, {rows, d});
  batchNormTrain(f32(info, 0, k, "x", n), rows, d, f32(info, 3, k, "gamma", d), f32(info, 4, k, "beta", d),
                 (float)real(info, 5, k, "eps"), (float)real(info, 6, k, "momentum"), f32(info, 7, k, "runMean", d),
                 f32(info, 8, k, "runVar", d), f32(info, 9, k, "out", n), f32(info, 10, k, "mean", d),
                 f32(info, 11, k, "rstd", d));
  return info.Env().Undefined();
}

// batchNormBackward(x, dy, rows, d, gamma, mean, rstd, dx, dgamma, dbeta)
Napi::Value BatchNormBackward(const Napi::CallbackInfo& info) {
  const char* k = "batchNormBackward";
  long rows = count(info, 2, k, "rows"), d = count(info, 3, k, "d");
  size_t n = prod(info, k, {rows, d});
  batchNormBackward(f32(info, 0, k, "x", n), f32(info, 1, k, "dy", n), rows, d, f32(info, 4, k, "gamma", d),
                    f32(info, 5, k, "mean", d), f32(info, 6, k, "rstd", d), f32opt(info, 7, k, "dx", n),
                    f32opt(info, 8, k, "dgamma", d), f32opt(info, 9, k, "dbeta", d));
  return info.Env().Undefined();
}

// JavaScript ToUint32 (what `seed >>> 0` does in dropoutUniform).
uint32_t toUint32(double v) {
  if (!std::isfinite(v)) return 0;
  double m = std::fmod(std::trunc(v), 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return (uint32_t)m;
}

// dropout(x, n, p, seed, mask, out)
Napi::Value Dropout(const Napi::CallbackInfo& info) {
  const char* k = "dropout";
  long n = count(info, 1, k, "n");
  double p = real(info, 2, k, "p");
  if (!(p >= 0 && p <= 1)) fail(info.Env(), k, "p must be in [0, 1], got " + fmtNum(p));
  uint32_t seed = toUint32(real(info, 3, k, "seed"));
  dropout(f32(info, 0, k, "x", n), n, p, seed, f32(info, 4, k, "mask", n), f32(info, 5, k, "out", n));
  return info.Env().Undefined();
}

}  // namespace

void registerReduce(Napi::Env env, Napi::Object exports) {
  exportFn<ReduceSum>(env, exports, "reduceSum");
  exportFn<ReduceSumBackward>(env, exports, "reduceSumBackward");
  exportFn<Copy2d>(env, exports, "copy2d");
  exportFn<SumSquares>(env, exports, "sumSquares");
  exportFn<Dot>(env, exports, "dot");
  exportFn<Gram>(env, exports, "gram");
  exportFn<CombineRuns>(env, exports, "combineRuns");
  exportFn<Softmax>(env, exports, "softmax");
  exportFn<SoftmaxBackward>(env, exports, "softmaxBackward");
  exportFn<SegmentSoftmax>(env, exports, "segmentSoftmax");
  exportFn<SegmentSoftmaxBackward>(env, exports, "segmentSoftmaxBackward");
  exportFn<SegmentSum>(env, exports, "segmentSum");
  exportFn<SegmentSumBackward>(env, exports, "segmentSumBackward");
  exportFn<PairDiff>(env, exports, "pairDiff");
  exportFn<PairDiffBackward>(env, exports, "pairDiffBackward");
  exportFn<BceWithLogits>(env, exports, "bceWithLogits");
  exportFn<LayerNorm>(env, exports, "layerNorm");
  exportFn<LayerNormBackward>(env, exports, "layerNormBackward");
  exportFn<BatchNormTrain>(env, exports, "batchNormTrain");
  exportFn<BatchNormBackward>(env, exports, "batchNormBackward");
  exportFn<Dropout>(env, exports, "dropout");
}

}  // namespace ctr
