// Optimiser updates with PyTorch semantics: dense SGD / Adagrad / Adam(W) over n elements and
// sparse SGD / Adagrad (row-wise or element-wise) / lazy Adam (SparseAdam) over the touched
// rows of an embedding table. Every element's update is independent, so any chunking gives the same bits.
#include <algorithm>
#include <cmath>

#include "kernels.h"
#include "simd.h"
#include "threadpool.h"

namespace ctr {
namespace {

constexpr long kGrain = 16384;

CTR_INLINE void sgdChunkBody(float* p, const float* g, float* mom, long n, float lr, float momentum, float dampening,
                        bool nesterov, float wd, bool first) {
  if (!mom || momentum == 0.0f) {
    for (long i = 0; i < n; ++i) p[i] -= lr * (g[i] + wd * p[i]);
    return;
  }
  for (long i = 0; i < n; ++i) {
    float d = g[i] + wd * p[i];
    float b = first ? d : momentum * mom[i] + (1.0f - dampening) * d;  // buffer starts at g
    mom[i] = b;
    p[i] -= lr * (nesterov ? d + momentum * b : b);
  }
}
CTR_MULTIVERSION(sgdChunk,
                 (float* p, const float* g, float* mom, long n, float lr, float momentum, float dampening,
                  bool nesterov, float wd, bool first),
                 (p, g, mom, n, lr, momentum, dampening, nesterov, wd, first))

CTR_INLINE void adagradChunkBody(float* p, const float* g, float* acc, long n, float lr, float eps, float wd) {
  for (long i = 0; i < n; ++i) {
    float d = g[i] + wd * p[i];
    acc[i] += d * d;
    p[i] -= lr * d / (std::sqrt(acc[i]) + eps);
  }
}
CTR_MULTIVERSION(adagradChunk, (float* p, const float* g, float* acc, long n, float lr, float eps, float wd),
                 (p, g, acc, n, lr, eps, wd))

// Adam core on n contiguous elements: p −= stepSize · m / (√v / sqrtBc2 + eps),
// stepSize = lr / (1 − β1^t), sqrtBc2 = √(1 − β2^t). decay: AdamW shrink factor (1 for none);
// wd: L2 term added to the gradient (0 for none).
CTR_INLINE void adamChunkBody(float* p, const float* g, float* m, float* v, long n, float b1, float b2, float eps,
                         float stepSize, float sqrtBc2, float decay, float wd) {
  for (long i = 0; i < n; ++i) {
    float pi = p[i] * decay;
    float d = g[i] + wd * pi;
    float mi = b1 * m[i] + (1.0f - b1) * d;
    float vi = b2 * v[i] + (1.0f - b2) * d * d;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - stepSize * mi / (std::sqrt(vi) / sqrtBc2 + eps);
  }
}
CTR_MULTIVERSION(adamChunk,
                 (float* p, const float* g, float* m, float* v, long n, float b1, float b2, float eps, float stepSize,
                  float sqrtBc2, float decay, float wd),
                 (p, g, m, v, n, b1, b2, eps, stepSize, sqrtBc2, decay, wd))

CTR_INLINE void rowAdagradBody(float* p, const float* g, float* acc, long dim, float lr, float eps) {
  for (long k = 0; k < dim; ++k) {
    acc[k] += g[k] * g[k];
    p[k] -= lr * g[k] / (std::sqrt(acc[k]) + eps);
  }
}
CTR_MULTIVERSION(rowAdagrad, (float* p, const float* g, float* acc, long dim, float lr, float eps),
                 (p, g, acc, dim, lr, eps))

// Checks row indices and returns whether they are strictly ascending (hence distinct): only
// then may rows be updated in parallel; otherwise they are applied in order, one by one.
bool checkRows(const char* kernel, const int32_t* rows, long U, long numRows) {
  bool ascending = true;
  for (long u = 0; u < U; ++u) {
    if (rows[u] < 0 || rows[u] >= numRows)
      throw KernelError(kernel, "row " + std::to_string(rows[u]) + " at position " + std::to_string(u) +
                                    " is outside [0, " + std::to_string(numRows) + ")");
    if (u > 0 && rows[u] <= rows[u - 1]) ascending = false;
  }
  return ascending;
}

// Runs fn(u, rows[u]) for every touched row. Rows are scattered over a large table, so the
// table row (and the row of one optimiser state array, `state` with `stride` floats per row)
// kAhead rows ahead is prefetched for writing.
constexpr long kAhead = 16;
template <typename F>
void forRows(const char* kernel, const int32_t* rows, long U, long numRows, long dim, const float* table,
             const float* state, long stride, F fn) {
  auto range = [&](long u0, long u1) {
    for (long u = u0; u < u1; ++u) {
      if (u + kAhead < u1) {
        long ra = rows[u + kAhead];
        __builtin_prefetch(table + ra * dim, 1);
        if (state) __builtin_prefetch(state + ra * stride, 1);
      }
      fn(u, (long)rows[u]);
    }
  };
  if (checkRows(kernel, rows, U, numRows))
    parallelFor(U, std::max(1L, kGrain / std::max(1L, dim)), range);
  else
    range(0, U);
}

// torch.optim.SparseAdam: eps is added to √v unscaled and both bias corrections fold into the
// step size lr·√bc2/bc1 (dense Adam divides √v by √bc2 before adding eps).
CTR_INLINE void sparseAdamRowBody(float* p, const float* g, float* m, float* v, long dim, float b1, float b2,
                                  float eps, float stepSize) {
  for (long k = 0; k < dim; ++k) {
    float mi = m[k] + (g[k] - m[k]) * (1.0f - b1);
    float vi = v[k] + (g[k] * g[k] - v[k]) * (1.0f - b2);
    m[k] = mi;
    v[k] = vi;
    p[k] -= stepSize * mi / (std::sqrt(vi) + eps);
  }
}
CTR_MULTIVERSION(sparseAdamRow,
                 (float* p, const float* g, float* m, float* v, long dim, float b1, float b2, float eps,
                  float stepSize),
                 (p, g, m, v, dim, b1, b2, eps, stepSize))

}  // namespace

void sgdStep(float* p, const float* g, float* mom, long n, float lr, float momentum, float dampening, bool nesterov,
             float weightDecay, bool firstStep) {
  parallelFor(n, kGrain, [&](long i0, long i1) {
    sgdChunk(p + i0, g + i0, mom ? mom + i0 : nullptr, i1 - i0, lr, momentum, dampening, nesterov, weightDecay,
             firstStep);
  });
}

void adagradStep(float* p, const float* g, float* acc, long n, float lr, float eps, float weightDecay) {
  parallelFor(n, kGrain,
              [&](long i0, long i1) { adagradChunk(p + i0, g + i0, acc + i0, i1 - i0, lr, eps, weightDecay); });
}

void adamStep(float* p, const float* g, float* m, float* v, long n, float lr, float beta1, float beta2, float eps,
              float weightDecay, bool decoupled, double step) {
  float stepSize = (float)((double)lr / (1.0 - std::pow((double)beta1, step)));
  float sqrtBc2 = (float)std::sqrt(1.0 - std::pow((double)beta2, step));
  float decay = decoupled ? 1.0f - lr * weightDecay : 1.0f;
  float wd = decoupled ? 0.0f : weightDecay;
  parallelFor(n, kGrain, [&](long i0, long i1) {
    adamChunk(p + i0, g + i0, m + i0, v + i0, i1 - i0, beta1, beta2, eps, stepSize, sqrtBc2, decay, wd);
  });
}

void sparseSgd(float* table, long numRows, long dim, const int32_t* rows, const float* rowGrads, long U, float lr) {
  forRows("sparseSgd", rows, U, numRows, dim, table, nullptr, 0, [&](long u, long r) {
    float* p = table + r * dim;
    const float* g = rowGrads + u * dim;
    for (long k = 0; k < dim; ++k) p[k] -= lr * g[k];
  });
}

void sparseAdagrad(float* table, long numRows, long dim, float* acc, const int32_t* rows, const float* rowGrads,
                   long U, float lr, float eps, bool rowwise) {
  forRows("sparseAdagrad", rows, U, numRows, dim, table, acc, rowwise ? 1 : dim, [&](long u, long r) {
    float* p = table + r * dim;
    const float* g = rowGrads + u * dim;
    if (!rowwise) {
      rowAdagrad(p, g, acc + r * dim, dim, lr, eps);
      return;
    }
    double sq = 0;
    for (long k = 0; k < dim; ++k) sq += (double)g[k] * g[k];
    acc[r] += (float)(sq / (double)dim);
    float scale = lr / (std::sqrt(acc[r]) + eps);
    for (long k = 0; k < dim; ++k) p[k] -= scale * g[k];
  });
}

void sparseAdam(float* table, long numRows, long dim, float* m, float* v, const int32_t* rows,
                const float* rowGrads, long U, float lr, float beta1, float beta2, float eps, double step) {
  float stepSize = (float)((double)lr * std::sqrt(1.0 - std::pow((double)beta2, step)) /
                           (1.0 - std::pow((double)beta1, step)));
  forRows("sparseAdam", rows, U, numRows, dim, table, m, dim, [&](long u, long r) {
    sparseAdamRow(table + r * dim, rowGrads + u * dim, m + r * dim, v + r * dim, dim, beta1, beta2, eps, stepSize);
  });
}

}  // namespace ctr
