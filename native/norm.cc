// Layer norm (per row) and training-mode batch norm (per column), with backward. Statistics
// are float64. Column sums over rows use fixed row chunks whose partials are combined in
// chunk order, so results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"
#include "simd.h"
#include "threadpool.h"

namespace ctr {
namespace {

constexpr long kRowChunk = 256;

// Two per-column sums over all rows in double: f(r, p1, p2) adds row r's terms into the
// partial arrays p1[d], p2[d] of its fixed row chunk (and may do per-row work on the side);
// partials are combined in chunk order into s1, s2.
template <typename F>
void columnSums2(long rows, long d, F f, std::vector<double>& s1, std::vector<double>& s2) {
  long chunks = (rows + kRowChunk - 1) / kRowChunk;
  std::vector<double> part((size_t)(chunks * 2 * d), 0.0);
  parallelFor(chunks, 1, [&](long c0, long c1) {
    for (long c = c0; c < c1; ++c) {
      double* p1 = &part[(size_t)(c * 2 * d)];
      double* p2 = p1 + d;
      for (long r = c * kRowChunk, e = std::min(rows, (c + 1) * kRowChunk); r < e; ++r) f(r, p1, p2);
    }
  });
  s1.assign((size_t)d, 0.0);
  s2.assign((size_t)d, 0.0);
  for (long c = 0; c < chunks; ++c)
    for (long k = 0; k < d; ++k) {
      s1[(size_t)k] += part[(size_t)(c * 2 * d + k)];
      s2[(size_t)k] += part[(size_t)(c * 2 * d + d + k)];
    }
}

// Σ (x[k] − shift)^pow (pow 1 or 2) over one row in double, with 8 fixed lanes: vectorisable
// and the same association for every call.
template <int POW>
CTR_INLINE double rowSum(const float* x, long d, double shift) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  long k = 0;
  for (; k + 8 <= d; k += 8)
    for (int l = 0; l < 8; ++l) {
      double c = (double)x[k + l] - shift;
      acc[l] += POW == 1 ? c : c * c;
    }
  for (int l = 0; k < d; ++k, ++l) {
    double c = (double)x[k] - shift;
    acc[l] += POW == 1 ? c : c * c;
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

CTR_INLINE void layerNormRowsBody(const float* x, long d, const float* gamma, const float* beta, float eps, float* out,
                                  float* mean, float* rstd, long r0, long r1) {
  for (long r = r0; r < r1; ++r) {
    const float* xr = x + r * d;
    double mu = rowSum<1>(xr, d, 0.0) / (double)d;
    double var = rowSum<2>(xr, d, mu) / (double)d;
    float m = (float)mu, rs = (float)(1.0 / std::sqrt(var + (double)eps));
    mean[r] = m;
    rstd[r] = rs;
    float* o = out + r * d;
    for (long k = 0; k < d; ++k) o[k] = (xr[k] - m) * rs * gamma[k] + beta[k];
  }
}
CTR_MULTIVERSION(layerNormRows,
                 (const float* x, long d, const float* gamma, const float* beta, float eps, float* out, float* mean,
                  float* rstd, long r0, long r1),
                 (x, d, gamma, beta, eps, out, mean, rstd, r0, r1))

}  // namespace

void layerNorm(const float* x, long rows, long d, const float* gamma, const float* beta, float eps, float* out,
               float* mean, float* rstd) {
  if (d == 0) return;
  parallelFor(rows, std::max(1L, 16384 / d),
              [&](long r0, long r1) { layerNormRows(x, d, gamma, beta, eps, out, mean, rstd, r0, r1); });
}

void layerNormBackward(const float* x, const float* dy, long rows, long d, const float* gamma, const float* mean,
                       const float* rstd, float* dx, float* dgamma, float* dbeta) {
  if (d == 0) return;
  std::vector<double> sg, sb;
  columnSums2(
      rows, d,
      [&](long r, double* pg, double* pb) {
        const float* xr = x + r * d;
        const float* g = dy + r * d;
        float m = mean[r], rs = rstd[r];
        double sumG = 0, sumGX = 0;
        for (long k = 0; k < d; ++k) {
          float xh = (xr[k] - m) * rs;
          pg[k] += (double)g[k] * xh;
          pb[k] += g[k];
          double gk = (double)g[k] * gamma[k];
          sumG += gk;
          sumGX += gk * xh;
        }
        if (!dx) return;
        float mg = (float)(sumG / (double)d), mgx = (float)(sumGX / (double)d);
        float* o = dx + r * d;
        for (long k = 0; k < d; ++k) {
          float xh = (xr[k] - m) * rs;
          o[k] += rs * (g[k] * gamma[k] - mg - xh * mgx);
        }
      },
      sg, sb);
  for (long k = 0; k < d; ++k) {
    if (dgamma) dgamma[k] += (float)sg[(size_t)k];
    if (dbeta) dbeta[k] += (float)sb[(size_t)k];
  }
}

void batchNormTrain(const float* x, long rows, long d, const float* gamma, const float* beta, float eps,
                    float momentum, float* runMean, float* runVar, float* out, float* mean, float* rstd) {
  if (rows == 0 || d == 0) return;
  std::vector<double> s, unused, sq;
  columnSums2(
      rows, d,
      [&](long r, double* p, double*) {
        for (long k = 0; k < d; ++k) p[k] += x[r * d + k];
      },
      s, unused);
  std::vector<double> mu((size_t)d);
  for (long k = 0; k < d; ++k) mu[(size_t)k] = s[(size_t)k] / (double)rows;
  columnSums2(
      rows, d,
      [&](long r, double* p, double*) {
        for (long k = 0; k < d; ++k) {
          double c = (double)x[r * d + k] - mu[(size_t)k];
          p[k] += c * c;
        }
      },
      sq, unused);
  for (long k = 0; k < d; ++k) {
    double var = sq[(size_t)k] / (double)rows;
    double unbiased = rows > 1 ? sq[(size_t)k] / (double)(rows - 1) : var;
    mean[k] = (float)mu[(size_t)k];
    rstd[k] = (float)(1.0 / std::sqrt(var + (double)eps));
    runMean[k] = (1.0f - momentum) * runMean[k] + momentum * (float)mu[(size_t)k];
    runVar[k] = (1.0f - momentum) * runVar[k] + momentum * (float)unbiased;
  }
  parallelFor(rows, std::max(1L, 16384 / d), [&](long r0, long r1) {
    for (long r = r0; r < r1; ++r)
      for (long k = 0; k < d; ++k) out[r * d + k] = (x[r * d + k] - mean[k]) * rstd[k] * gamma[k] + beta[k];
  });
}

void batchNormBackward(const float* x, const float* dy, long rows, long d, const float* gamma, const float* mean,
                       const float* rstd, float* dx, float* dgamma, float* dbeta) {
  if (rows == 0 || d == 0) return;
  std::vector<double> sdy, sdyx;
  columnSums2(
      rows, d,
      [&](long r, double* p1, double* p2) {
        for (long k = 0; k < d; ++k) {
          float g = dy[r * d + k];
          p1[k] += g;
          p2[k] += (double)g * ((x[r * d + k] - mean[k]) * rstd[k]);
        }
      },
      sdy, sdyx);
  for (long k = 0; k < d; ++k) {
    if (dbeta) dbeta[k] += (float)sdy[(size_t)k];
    if (dgamma) dgamma[k] += (float)sdyx[(size_t)k];
  }
  if (!dx) return;
  std::vector<float> a((size_t)d), b((size_t)d), c((size_t)d);
  // dx = gamma·rstd/N · (N·dy − Σdy − x̂·Σ(dy·x̂))
  for (long k = 0; k < d; ++k) {
    a[(size_t)k] = gamma[k] * rstd[k];
    b[(size_t)k] = (float)(sdy[(size_t)k] / (double)rows);
    c[(size_t)k] = (float)(sdyx[(size_t)k] / (double)rows);
  }
  parallelFor(rows, std::max(1L, 16384 / d), [&](long r0, long r1) {
    for (long r = r0; r < r1; ++r)
      for (long k = 0; k < d; ++k) {
        float xh = (x[r * d + k] - mean[k]) * rstd[k];
        dx[r * d + k] += a[(size_t)k] * (dy[r * d + k] - b[(size_t)k] - xh * c[(size_t)k]);
      }
  });
}

}  // namespace ctr
