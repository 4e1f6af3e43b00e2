// Softmax / log-softmax over the middle axis of [outer, len, inner] and over row segments,
// their backward, segment sum/mean and RankNet pair differences. Every output element is
// produced by exactly one task with a fixed summation order (float64 accumulators), so results
// do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "fastmath.h"
#include "kernels.h"
#include "simd.h"
#include "threadpool.h"

namespace ctr {
namespace {

constexpr long kWork = 32768;  // target elements per parallel task
constexpr long kCols = 256;    // column block for the strided (inner > 1) case

// Softmax over the len rows of one contiguous vector (inner == 1). The max and the float64
// sum use 8 fixed lanes (vectorisable; the max is order-free, the sum's order is fixed).
CTR_INLINE void softmaxVecBody(const float* x, long len, float* out, bool log) {
  if (len == 0) return;
  float lm[8];
  for (int k = 0; k < 8; ++k) lm[k] = -std::numeric_limits<float>::infinity();
  long a = 0;
  for (; a + 8 <= len; a += 8)
    for (int k = 0; k < 8; ++k) lm[k] = std::max(lm[k], x[a + k]);
  for (int k = 0; a < len; ++a, ++k) lm[k] = std::max(lm[k], x[a]);
  float mx = lm[0];
  for (int k = 1; k < 8; ++k) mx = std::max(mx, lm[k]);
  for (a = 0; a < len; ++a) out[a] = expApprox(x[a] - mx);
  double ls[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (a = 0; a + 8 <= len; a += 8)
    for (int k = 0; k < 8; ++k) ls[k] += out[a + k];
  for (int k = 0; a < len; ++a, ++k) ls[k] += out[a];
  double sum = ((ls[0] + ls[1]) + (ls[2] + ls[3])) + ((ls[4] + ls[5]) + (ls[6] + ls[7]));
  if (log) {
    float lse = (float)std::log(sum);
    for (a = 0; a < len; ++a) out[a] = (x[a] - mx) - lse;
  } else {
    float s = (float)sum;
    for (a = 0; a < len; ++a) out[a] /= s;
  }
}
CTR_MULTIVERSION(softmaxVec, (const float* x, long len, float* out, bool log), (x, len, out, log))

// Softmax over rows, per column, for columns [i0, i0+w) of a [len, inner] block; mx and sum
// are scratch arrays of w entries. Loops run along columns, so they vectorise across them.
CTR_INLINE void softmaxColsBody(const float* x, long len, long inner, long i0, long w, float* out, bool log, float* mx,
                                double* sum) {
  if (len == 0) return;
  for (long i = 0; i < w; ++i) {
    mx[i] = -std::numeric_limits<float>::infinity();
    sum[i] = 0.0;
  }
  for (long a = 0; a < len; ++a) {
    const float* r = x + a * inner + i0;
    for (long i = 0; i < w; ++i) mx[i] = std::max(mx[i], r[i]);
  }
  for (long a = 0; a < len; ++a) {
    const float* r = x + a * inner + i0;
    float* o = out + a * inner + i0;
    for (long i = 0; i < w; ++i) o[i] = expApprox(r[i] - mx[i]);
    for (long i = 0; i < w; ++i) sum[i] += o[i];
  }
  for (long a = 0; a < len; ++a) {
    const float* r = x + a * inner + i0;
    float* o = out + a * inner + i0;
    if (log)
      for (long i = 0; i < w; ++i) o[i] = (r[i] - mx[i]) - (float)std::log(sum[i]);
    else
      for (long i = 0; i < w; ++i) o[i] /= (float)sum[i];
  }
}
CTR_MULTIVERSION(softmaxCols,
                 (const float* x, long len, long inner, long i0, long w, float* out, bool log, float* mx, double* sum),
                 (x, len, inner, i0, w, out, log, mx, sum))

// Backward for columns [i0, i0+w) of a [len, inner] block (dot: scratch of w entries):
//   softmax:     dx += y ⊙ (dy − Σ dy⊙y)
//   log-softmax: dx += dy − exp(y) · Σ dy
CTR_INLINE void softmaxBackColsBody(const float* y, const float* dy, long len, long inner, long i0, long w, float* dx,
                                    bool log, double* dot) {
  if (len == 0) return;
  for (long i = 0; i < w; ++i) dot[i] = 0.0;
  for (long a = 0; a < len; ++a) {
    const float* yr = y + a * inner + i0;
    const float* gr = dy + a * inner + i0;
    if (log)
      for (long i = 0; i < w; ++i) dot[i] += gr[i];
    else
      for (long i = 0; i < w; ++i) dot[i] += (double)gr[i] * yr[i];
  }
  for (long a = 0; a < len; ++a) {
    const float* yr = y + a * inner + i0;
    const float* gr = dy + a * inner + i0;
    float* d = dx + a * inner + i0;
    if (log)
      for (long i = 0; i < w; ++i) d[i] += gr[i] - expApprox(yr[i]) * (float)dot[i];
    else
      for (long i = 0; i < w; ++i) d[i] += yr[i] * (gr[i] - (float)dot[i]);
  }
}
CTR_MULTIVERSION(softmaxBackCols,
                 (const float* y, const float* dy, long len, long inner, long i0, long w, float* dx, bool log,
                  double* dot),
                 (y, dy, len, inner, i0, w, dx, log, dot))

// Per-thread scratch for the column kernels (grown on demand; used only inside one task).
struct ColScratch {
  std::vector<float> mx;
  std::vector<double> sum;
  void reserve(long w) {
    if ((long)mx.size() < w) {
      mx.resize((size_t)w);
      sum.resize((size_t)w);
    }
  }
};
ColScratch& colScratch(long w) {
  thread_local ColScratch s;
  s.reserve(w);
  return s;
}

// Runs fn(block, i0, w) for every (outer block, column block) of a [outer, len, inner] view.
template <typename F>
void forBlocks(long outer, long len, long inner, F fn) {
  long cb = (inner + kCols - 1) / kCols;
  long work = std::max(1L, len * std::min(inner, kCols));
  parallelFor(outer * cb, std::max(1L, kWork / work), [&](long t0, long t1) {
    for (long t = t0; t < t1; ++t) fn(t / cb, (t % cb) * kCols, std::min(kCols, inner - (t % cb) * kCols));
  });
}

// Runs fn(s) for every segment; the grain depends only on the sizes.
template <typename F>
void forSegments(const int32_t* offsets, long nseg, long d, F fn) {
  long rows = offsets[nseg];
  long perSeg = std::max(1L, rows * d / std::max(1L, nseg));
  parallelFor(nseg, std::max(1L, kWork / perSeg), [&](long s0, long s1) {
    for (long s = s0; s < s1; ++s) fn(s, (long)offsets[s], (long)(offsets[s + 1] - offsets[s]));
  });
}

}  // namespace

void softmax(const float* x, long outer, long len, long inner, float* out, bool log) {
  if (len == 0) return;  // no elements (outer × inner may then be huge and unbacked)
  if (inner == 1) {
    parallelFor(outer, std::max(1L, kWork / std::max(1L, len)), [&](long o0, long o1) {
      for (long o = o0; o < o1; ++o) softmaxVec(x + o * len, len, out + o * len, log);
    });
    return;
  }
  forBlocks(outer, len, inner, [&](long o, long i0, long w) {
    ColScratch& s = colScratch(w);
    softmaxCols(x + o * len * inner, len, inner, i0, w, out + o * len * inner, log, s.mx.data(), s.sum.data());
  });
}

void softmaxBackward(const float* y, const float* dy, long outer, long len, long inner, float* dx, bool log) {
  if (len == 0) return;
  forBlocks(outer, len, inner, [&](long o, long i0, long w) {
    long base = o * len * inner;
    softmaxBackCols(y + base, dy + base, len, inner, i0, w, dx + base, log, colScratch(w).sum.data());
  });
}

void segmentSoftmax(const float* x, long d, const int32_t* offsets, long nseg, float* out, bool log) {
  forSegments(offsets, nseg, d, [&](long, long r0, long len) {
    if (d == 1) {
      softmaxVec(x + r0, len, out + r0, log);
    } else {
      ColScratch& s = colScratch(d);
      softmaxCols(x + r0 * d, len, d, 0, d, out + r0 * d, log, s.mx.data(), s.sum.data());
    }
  });
}

void segmentSoftmaxBackward(const float* y, const float* dy, long d, const int32_t* offsets, long nseg, float* dx,
                            bool log) {
  forSegments(offsets, nseg, d, [&](long, long r0, long len) {
    softmaxBackCols(y + r0 * d, dy + r0 * d, len, d, 0, d, dx + r0 * d, log, colScratch(d).sum.data());
  });
}

void segmentSum(const float* x, long d, const int32_t* offsets, long nseg, float* out, bool mean) {
  forSegments(offsets, nseg, d, [&](long s, long r0, long len) {
    thread_local std::vector<double> acc;
    acc.assign((size_t)d, 0.0);
    for (long r = r0; r < r0 + len; ++r)
      for (long k = 0; k < d; ++k) acc[(size_t)k] += x[r * d + k];
    double scale = mean && len > 0 ? 1.0 / (double)len : 1.0;
    for (long k = 0; k < d; ++k) out[s * d + k] = (float)(acc[(size_t)k] * scale);
  });
}

void segmentSumBackward(const float* dOut, long d, const int32_t* offsets, long nseg, float* dx, bool mean) {
  forSegments(offsets, nseg, d, [&](long s, long r0, long len) {
    float scale = mean && len > 0 ? (float)(1.0 / (double)len) : 1.0f;
    const float* g = dOut + s * d;
    for (long r = r0; r < r0 + len; ++r)
      for (long k = 0; k < d; ++k) dx[r * d + k] += g[k] * scale;
  });
}

static void checkPairs(const char* kernel, const int32_t* pi, const int32_t* pj, long nz, long nPairs) {
  for (long p = 0; p < nPairs; ++p) {
    if (pi[p] < 0 || pi[p] >= nz || pj[p] < 0 || pj[p] >= nz)
      throw KernelError(kernel, "pair " + std::to_string(p) + " = (" + std::to_string(pi[p]) + ", " +
                                    std::to_string(pj[p]) + ") is outside [0, " + std::to_string(nz) + ")");
  }
}

void pairDiff(const float* z, long nz, const int32_t* pi, const int32_t* pj, float* out, long nPairs) {
  checkPairs("pairDiff", pi, pj, nz, nPairs);
  parallelFor(nPairs, kWork, [&](long p0, long p1) {
    for (long p = p0; p < p1; ++p) out[p] = z[pi[p]] - z[pj[p]];
  });
}

// Sequential: pairs scatter into shared slots and must be applied in pair order.
void pairDiffBackward(const float* dOut, const int32_t* pi, const int32_t* pj, float* dz, long nz, long nPairs) {
  checkPairs("pairDiffBackward", pi, pj, nz, nPairs);
  for (long p = 0; p < nPairs; ++p) {
    dz[pi[p]] += dOut[p];
    dz[pj[p]] -= dOut[p];
  }
}

}  // namespace ctr
