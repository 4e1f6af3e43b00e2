// Reductions and layout: reduceSum over the middle axis of [outer, len, inner] (+ backward),
// strided 2-D copies, sum of squares, dot products and Gram matrices. Sums run in float64 over a fixed decomposition
// (8 interleaved lanes inside fixed-size chunks, chunks combined in order), so results depend
// only on the sizes, never on the thread count or the ISA.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels.h"
#include "simd.h"
#include "threadpool.h"

namespace ctr {
namespace {

constexpr long kChunk = 65536;  // elements per partial sum of a long reduction

// Σ f(x[i]) in double with 8 independent lanes (vectorisable, fixed association).
template <typename F>
double laneSum(const float* x, long n, F f) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  long i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += f((double)x[i + k]);
  for (int k = 0; i < n; ++i, ++k) acc[k] += f((double)x[i]);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Σ over a long contiguous range: fixed chunks in parallel, partials combined in chunk order.
// Σ x[i]·y[i] in double, with laneSum's lanes and association.
double laneDot(const float* x, const float* y, long n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  long i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += (double)x[i + k] * (double)y[i + k];
  for (int k = 0; i < n; ++i, ++k) acc[k] += (double)x[i] * (double)y[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Gram lanes: acc[p·8 + k] is lane k of pair p (pairs a <= b, row by row) over elements
// i ≡ k (mod 8) of [0, n8), n8 a multiple of 8, accumulated in increasing i as laneDot does, so
// every pair ends with laneDot's lanes bit for bit. For a few vectors, all pairs advance together
// in registers (one read of each vector, compiled per ISA like the elementwise kernels: each lane
// is the same scalar double multiply and add whatever the vector width, -ffp-contract=off).
template <int M>
CTR_INLINE void gramLanesFixed(const float* const* xs, long n8, double* acc) {
  constexpr int P = M * (M + 1) / 2;
  double l[P][8];
  for (int p = 0; p < P; ++p)
    for (int k = 0; k < 8; ++k) l[p][k] = acc[p * 8 + k];
  for (long i = 0; i < n8; i += 8) {
    double v[M][8];
    for (int a = 0; a < M; ++a)
      for (int k = 0; k < 8; ++k) v[a][k] = (double)xs[a][i + k];
    int p = 0;
    for (int a = 0; a < M; ++a)
      for (int b = a; b < M; ++b, ++p)
        for (int k = 0; k < 8; ++k) l[p][k] += v[a][k] * v[b][k];
  }
  for (int p = 0; p < P; ++p)
    for (int k = 0; k < 8; ++k) acc[p * 8 + k] = l[p][k];
}
CTR_INLINE void gramLanes2Body(const float* const* xs, long n8, double* acc) { gramLanesFixed<2>(xs, n8, acc); }
CTR_INLINE void gramLanes3Body(const float* const* xs, long n8, double* acc) { gramLanesFixed<3>(xs, n8, acc); }
CTR_INLINE void gramLanes4Body(const float* const* xs, long n8, double* acc) { gramLanesFixed<4>(xs, n8, acc); }
CTR_MULTIVERSION(gramLanes2, (const float* const* xs, long n8, double* acc), (xs, n8, acc))
CTR_MULTIVERSION(gramLanes3, (const float* const* xs, long n8, double* acc), (xs, n8, acc))
CTR_MULTIVERSION(gramLanes4, (const float* const* xs, long n8, double* acc), (xs, n8, acc))

// More vectors: pair by pair over blocks that stay in L1 (a multiple of the 8 lanes).
constexpr long kGramBlock = 512;
void gramLanesAny(const float* const* xs, long m, long n8, double* acc) {
  for (long s = 0; s < n8; s += kGramBlock) {
    long e = std::min(n8, s + kGramBlock);
    double* lanes = acc;
    for (long a = 0; a < m; ++a)
      for (long b = a; b < m; ++b, lanes += 8) {
        const float* x = xs[a];
        const float* y = xs[b];
        for (long i = s; i < e; i += 8)
          for (int k = 0; k < 8; ++k) lanes[k] += (double)x[i + k] * (double)y[i + k];
      }
  }
}

// part[p] = laneDot(xs[a], xs[b], n) for every pair p = (a, b), bit for bit, in one sweep;
// acc: scratch of 8 doubles per pair.
void laneGram(const float* const* xs, long m, long n, double* part, std::vector<double>& acc) {
  long pairs = m * (m + 1) / 2;
  acc.assign((size_t)pairs * 8, 0.0);
  long n8 = n - n % 8;
  if (m == 2) gramLanes2(xs, n8, acc.data());
  else if (m == 3) gramLanes3(xs, n8, acc.data());
  else if (m == 4) gramLanes4(xs, n8, acc.data());
  else gramLanesAny(xs, m, n8, acc.data());
  for (long a = 0, p = 0; a < m; ++a)
    for (long b = a; b < m; ++b, ++p) {
      double* lanes = acc.data() + p * 8;
      for (long i = n8, k = 0; i < n; ++i, ++k) lanes[k] += (double)xs[a][i] * (double)xs[b][i];
      part[p] = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    }
}

template <typename F>
double chunkedSum(const float* x, long n, F f) {
  long chunks = (n + kChunk - 1) / kChunk;
  if (chunks <= 1) return laneSum(x, n, f);
  std::vector<double> part((size_t)chunks);
  parallelFor(chunks, 1, [&](long c0, long c1) {
    for (long c = c0; c < c1; ++c) part[(size_t)c] = laneSum(x + c * kChunk, std::min(kChunk, n - c * kChunk), f);
  });
  double s = 0;
  for (double p : part) s += p;
  return s;
}

}  // namespace

void reduceSum(const float* x, long outer, long len, long inner, float* out, float scale) {
  if (outer * inner == 0) return;
  if (inner == 1) {
    if (outer == 1) {
      out[0] = (float)(scale * chunkedSum(x, len, [](double v) { return v; }));
      return;
    }
    parallelFor(outer, std::max(1L, kChunk / std::max(1L, len)), [&](long o0, long o1) {
      for (long o = o0; o < o1; ++o) out[o] = (float)(scale * laneSum(x + o * len, len, [](double v) { return v; }));
    });
    return;
  }
  // inner > 1: accumulate whole rows of `inner` in double, a in increasing order.
  const long grainI = 1024;
  long iBlocks = (inner + grainI - 1) / grainI;
  parallelFor(outer * iBlocks, std::max(1L, kChunk / std::max(1L, len * std::min(inner, grainI))),
              [&](long t0, long t1) {
                std::vector<double> acc((size_t)std::min(inner, grainI));
                for (long t = t0; t < t1; ++t) {
                  long o = t / iBlocks, i0 = (t % iBlocks) * grainI, w = std::min(grainI, inner - i0);
                  std::fill(acc.begin(), acc.begin() + w, 0.0);
                  const float* base = x + o * len * inner + i0;
                  for (long a = 0; a < len; ++a) {
                    const float* row = base + a * inner;
                    for (long i = 0; i < w; ++i) acc[(size_t)i] += row[i];
                  }
                  for (long i = 0; i < w; ++i) out[o * inner + i0 + i] = (float)(scale * acc[(size_t)i]);
                }
              });
}

void reduceSumBackward(const float* dOut, long outer, long len, long inner, float* dx, float scale) {
  long rows = outer * len;
  parallelFor(rows, std::max(1L, kChunk / std::max(1L, inner)), [&](long r0, long r1) {
    for (long r = r0; r < r1; ++r) {
      const float* g = dOut + (r / len) * inner;
      float* d = dx + r * inner;
      for (long i = 0; i < inner; ++i) d[i] += scale * g[i];
    }
  });
}

void copy2d(const float* src, long srcStride, float* dst, long dstStride, long rows, long cols, bool accumulate) {
  // Overlapping source and destination (or destination rows overlapping each other) make the
  // result depend on element order: run the reference's forward element loop, serially.
  auto s0 = (uintptr_t)src, s1 = (uintptr_t)(src + (rows - 1) * srcStride + cols);
  auto d0 = (uintptr_t)dst, d1 = (uintptr_t)(dst + (rows - 1) * dstStride + cols);
  if ((s0 < d1 && d0 < s1) || dstStride < cols) {
    for (long r = 0; r < rows; ++r)
      for (long c = 0; c < cols; ++c) {
        float v = src[r * srcStride + c];
        if (accumulate)
          dst[r * dstStride + c] += v;
        else
          dst[r * dstStride + c] = v;
      }
    return;
  }
  parallelFor(rows, std::max(1L, kChunk / std::max(1L, cols)), [&](long r0, long r1) {
    for (long r = r0; r < r1; ++r) {
      const float* s = src + r * srcStride;
      float* d = dst + r * dstStride;
      if (accumulate)
        for (long c = 0; c < cols; ++c) d[c] += s[c];
      else
        std::copy(s, s + cols, d);
    }
  });
}

double sumSquares(const float* x, long n) { return chunkedSum(x, n, [](double v) { return v * v; }); }

double dot(const float* x, const float* y, long n) {
  long chunks = (n + kChunk - 1) / kChunk;
  if (chunks <= 1) return laneDot(x, y, n);
  std::vector<double> part((size_t)chunks);
  parallelFor(chunks, 1, [&](long c0, long c1) {
    for (long c = c0; c < c1; ++c) part[(size_t)c] = laneDot(x + c * kChunk, y + c * kChunk, std::min(kChunk, n - c * kChunk));
  });
  double s = 0;
  for (double p : part) s += p;
  return s;
}

// Adds pair p's value to the symmetric m × m matrix at out.
static void addPairs(const double* part, long m, double* out) {
  for (long a = 0, p = 0; a < m; ++a)
    for (long b = a; b < m; ++b, ++p) {
      out[a * m + b] += part[p];
      if (b != a) out[b * m + a] += part[p];
    }
}

// One run longer than kChunk: its chunks in parallel, combined in order as dot() does.
static void longRunGram(const float* const* xs, long m, long n, double* out) {
  long pairs = m * (m + 1) / 2;
  long chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> part((size_t)(chunks * pairs));
  parallelFor(chunks, 1, [&](long c0, long c1) {
    std::vector<const float*> at((size_t)m);
    std::vector<double> acc;
    for (long c = c0; c < c1; ++c) {
      for (long a = 0; a < m; ++a) at[(size_t)a] = xs[a] + c * kChunk;
      laneGram(at.data(), m, std::min(kChunk, n - c * kChunk), part.data() + c * pairs, acc);
    }
  });
  std::vector<double> sum((size_t)pairs, 0.0);
  for (long p = 0; p < pairs; ++p)
    for (long c = 0; c < chunks; ++c) sum[(size_t)p] += part[(size_t)(c * pairs + p)];
  addPairs(sum.data(), m, out);
}

void gram(const float* const* xs, long m, long n, long run, double* out) {
  if (m == 0 || n == 0) return;
  long runs = (n + run - 1) / run;
  std::vector<const float*> at((size_t)m);
  if (run > kChunk) {
    for (long r = 0; r < runs; ++r) {
      for (long a = 0; a < m; ++a) at[(size_t)a] = xs[a] + r * run;
      longRunGram(at.data(), m, std::min(run, n - r * run), out + r * m * m);
    }
    return;
  }
  // Runs of at most one chunk: each is laneDot's single chunk (dot() returns it as it is).
  long pairs = m * (m + 1) / 2;
  parallelFor(runs, std::max(1L, kChunk / run), [&](long r0, long r1) {
    std::vector<const float*> at((size_t)m);
    std::vector<double> acc, part((size_t)pairs);
    for (long r = r0; r < r1; ++r) {
      for (long a = 0; a < m; ++a) at[(size_t)a] = xs[a] + r * run;
      laneGram(at.data(), m, std::min(run, n - r * run), part.data(), acc);
      addPairs(part.data(), m, out + r * m * m);
    }
  });
}

}  // namespace ctr
