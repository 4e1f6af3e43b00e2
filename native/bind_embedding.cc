// Bindings: sparse embeddings (lookup, bag, backward) and the dense / sparse optimiser steps.
#include <algorithm>

#include "bind_util.h"

namespace ctr {
namespace {

// embeddingLookup(table, numRows, dim, ids, n, out)
Napi::Value EmbeddingLookup(const Napi::CallbackInfo& info) {
  const char* k = "embeddingLookup";
  long numRows = count(info, 1, k, "numRows"), dim = count(info, 2, k, "dim"), n = count(info, 4, k, "n");
  embeddingLookup(f32(info, 0, k, "table", prod(info, k, {numRows, dim})), numRows, dim, i32(info, 3, k, "ids", n), n,
                  f32(info, 5, k, "out", prod(info, k, {n, dim})));
  return info.Env().Undefined();
}

// embeddingBag(table, numRows, dim, ids, offsets, wts, mean, out); the bags cover all of ids.
Napi::Value EmbeddingBag(const Napi::CallbackInfo& info) {
  const char* k = "embeddingBag";
  long numRows = count(info, 1, k, "numRows"), dim = count(info, 2, k, "dim");
  const int32_t* ids = i32(info, 3, k, "ids", 0);
  long n = lengthOf(info, 3);
  const int32_t* off;
  long S = offsetsArg(info, 4, k, n, &off);
  embeddingBag(f32(info, 0, k, "table", prod(info, k, {numRows, dim})), numRows, dim, ids, off, S,
               f32opt(info, 5, k, "wts", n), flag(info, 6), f32(info, 7, k, "out", prod(info, k, {S, dim})));
  return info.Env().Undefined();
}

// embeddingBackward(ids, n, dOut, dim, numRows, offsets, wts, mean, uniqueRows, rowGrads) -> U
Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  const char* k = "embeddingBackward";
  long n = count(info, 1, k, "n"), dim = count(info, 3, k, "dim"), numRows = count(info, 4, k, "numRows");
  const int32_t* ids = i32(info, 0, k, "ids", n);
  const int32_t* off = nullptr;
  long S = 0;
  if (!info[5].IsNull() && !info[5].IsUndefined()) S = offsetsArg(info, 5, k, n, &off);
  const float* dOut = f32(info, 2, k, "dOut", prod(info, k, {off ? S : n, dim}));
  // Capacity: U (≤ n) rows are needed, known only after sorting; the kernel checks it.
  int32_t* uniqueRows = i32(info, 8, k, "uniqueRows", 0);
  float* rowGrads = f32(info, 9, k, "rowGrads", 0);
  long capacity = lengthOf(info, 8);
  if (dim > 0) capacity = std::min(capacity, lengthOf(info, 9) / dim);
  long U = embeddingBackward(ids, n, dOut, dim, numRows, off, S, f32opt(info, 6, k, "wts", n), flag(info, 7),
                             uniqueRows, rowGrads, capacity);
  return Napi::Number::New(info.Env(), (double)U);
}

// sgdStep(p, g, mom, n, lr, momentum, dampening, nesterov, weightDecay, firstStep)
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  const char* k = "sgdStep";
  long n = count(info, 3, k, "n");
  double momentum = real(info, 5, k, "momentum"), dampening = real(info, 6, k, "dampening");
  float* mom = f32opt(info, 2, k, "mom", n);
  bool nesterov = flag(info, 7);
  if (momentum != 0 && !mom)
    fail(info.Env(), k, "momentum=" + fmtNum(momentum) + " needs a momentum buffer (n=" + std::to_string(n) + ")");
  if (nesterov && (momentum <= 0 || dampening != 0))
    fail(info.Env(), k, "Nesterov momentum requires momentum > 0 and dampening = 0, got momentum=" +
                            fmtNum(momentum) + ", dampening=" + fmtNum(dampening));
  sgdStep(f32(info, 0, k, "p", n), f32(info, 1, k, "g", n), mom, n, (float)real(info, 4, k, "lr"), (float)momentum,
          (float)dampening, nesterov, (float)real(info, 8, k, "weightDecay"), flag(info, 9));
  return info.Env().Undefined();
}

// adagradStep(p, g, acc, n, lr, eps, weightDecay)
Napi::Value AdagradStep(const Napi::CallbackInfo& info) {
  const char* k = "adagradStep";
  long n = count(info, 3, k, "n");
  adagradStep(f32(info, 0, k, "p", n), f32(info, 1, k, "g", n), f32(info, 2, k, "acc", n), n,
              (float)real(info, 4, k, "lr"), (float)real(info, 5, k, "eps"), (float)real(info, 6, k, "weightDecay"));
  return info.Env().Undefined();
}

double stepArg(const Napi::CallbackInfo& info, size_t i, const char* k) {
  long step = count(info, i, k, "step");
  if (step < 1) fail(info.Env(), k, "step is 1-based, got 0");
  return (double)step;
}

// adamStep(p, g, m, v, n, lr, beta1, beta2, eps, weightDecay, decoupled, step)
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  const char* k = "adamStep";
  long n = count(info, 4, k, "n");
  adamStep(f32(info, 0, k, "p", n), f32(info, 1, k, "g", n), f32(info, 2, k, "m", n), f32(info, 3, k, "v", n), n,
           (float)real(info, 5, k, "lr"), (float)real(info, 6, k, "beta1"), (float)real(info, 7, k, "beta2"),
           (float)real(info, 8, k, "eps"), (float)real(info, 9, k, "weightDecay"), flag(info, 10),
           stepArg(info, 11, k));
  return info.Env().Undefined();
}

// sparseSgd(table, dim, rows, rowGrads, U, lr)
Napi::Value SparseSgd(const Napi::CallbackInfo& info) {
  const char* k = "sparseSgd";
  long dim = count(info, 1, k, "dim"), U = count(info, 4, k, "U");
  long numRows = tableRows(info, 0, k, dim);
  sparseSgd(f32(info, 0, k, "table", 0), numRows, dim, i32(info, 2, k, "rows", U),
            f32(info, 3, k, "rowGrads", prod(info, k, {U, dim})), U, (float)real(info, 5, k, "lr"));
  return info.Env().Undefined();
}

// sparseAdagrad(table, dim, acc, rows, rowGrads, U, lr, eps, rowwise)
Napi::Value SparseAdagrad(const Napi::CallbackInfo& info) {
  const char* k = "sparseAdagrad";
  long dim = count(info, 1, k, "dim"), U = count(info, 5, k, "U");
  long numRows = tableRows(info, 0, k, dim);
  bool rowwise = flag(info, 8);
  float* acc = f32(info, 2, k, "acc", rowwise ? (size_t)numRows : prod(info, k, {numRows, dim}));
  sparseAdagrad(f32(info, 0, k, "table", 0), numRows, dim, acc, i32(info, 3, k, "rows", U),
                f32(info, 4, k, "rowGrads", prod(info, k, {U, dim})), U, (float)real(info, 6, k, "lr"),
                (float)real(info, 7, k, "eps"), rowwise);
  return info.Env().Undefined();
}

// sparseAdam(table, dim, m, v, rows, rowGrads, U, lr, beta1, beta2, eps, step)
Napi::Value SparseAdam(const Napi::CallbackInfo& info) {
  const char* k = "sparseAdam";
  long dim = count(info, 1, k, "dim"), U = count(info, 6, k, "U");
  long numRows = tableRows(info, 0, k, dim);
  size_t size = prod(info, k, {numRows, dim});
  sparseAdam(f32(info, 0, k, "table", 0), numRows, dim, f32(info, 2, k, "m", size), f32(info, 3, k, "v", size),
             i32(info, 4, k, "rows", U), f32(info, 5, k, "rowGrads", prod(info, k, {U, dim})), U,
             (float)real(info, 7, k, "lr"), (float)real(info, 8, k, "beta1"), (float)real(info, 9, k, "beta2"),
             (float)real(info, 10, k, "eps"), stepArg(info, 11, k));
  return info.Env().Undefined();
}

}  // namespace

void registerEmbedding(Napi::Env env, Napi::Object exports) {
  exportFn<EmbeddingLookup>(env, exports, "embeddingLookup");
  exportFn<EmbeddingBag>(env, exports, "embeddingBag");
  exportFn<EmbeddingBackward>(env, exports, "embeddingBackward");
  exportFn<SgdStep>(env, exports, "sgdStep");
  exportFn<AdagradStep>(env, exports, "adagradStep");
  exportFn<AdamStep>(env, exports, "adamStep");
  exportFn<SparseSgd>(env, exports, "sparseSgd");
  exportFn<SparseAdagrad>(env, exports, "sparseAdagrad");
  exportFn<SparseAdam>(env, exports, "sparseAdam");
}

}  // namespace ctr
