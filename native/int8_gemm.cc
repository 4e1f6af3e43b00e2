// Int8 dense layer for inference (see int8_gemm.h): an AVX-512 VNNI path (vpdpbusd: uint8 ×
// int8, four products summed into each int32 lane) and a portable path over the same packed
// layout. Both quantise rows and dequantise with the same float32 operations in the same order,
// so they agree bit for bit.
#include "int8_gemm.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <vector>

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593, as in gemm.cc
#endif
#include <immintrin.h>
#endif

#include "reduced_gemm.h"
#include "simd.h"

namespace ctr {
namespace {

using namespace reduced;

inline int padK(int K) { return (K + 3) & ~3; }

// The one rounding both paths use: round half to even (the default rounding mode, which
// vcvtps2dq also uses).
inline int roundEven(float x) { return (int)std::nearbyint(x); }

// Row quantisation parameters from the row's range (shared by both paths, hence identical).
struct RowParams {
  float scale, inv;
  int32_t zp;
};
inline RowParams rowParams(float lo, float hi, bool finite) {
  if (!finite) return {std::numeric_limits<float>::quiet_NaN(), 0.0f, 0};
  if (hi == lo) return {1.0f, 0.0f, 0};
  float range = hi - lo;
  float inv = 255.0f / range;
  return {range / 255.0f, inv, std::min(255, std::max(0, roundEven(-lo * inv)))};
}

inline uint8_t quantOne(float x, const RowParams& p) {
  return (uint8_t)std::min(255, std::max(0, roundEven(x * p.inv) + p.zp));
}

// Dequantise + bias of one output: the same float ops, in the same order, in both paths.
inline float dequantOne(int32_t acc, int32_t zp, int32_t cs, float xs, float ws, float b) {
  float t = (float)(acc - zp * cs);
  t = t * xs;
  t = t * ws;
  return t + b;
}

void quantizeRowPortable(const float* x, int K, uint8_t* q, int ldq, float* scale, int32_t* zp) {
  float lo = 0.0f, hi = 0.0f, probe = 0.0f;
  for (int k = 0; k < K; ++k) {
    lo = std::min(lo, x[k]);
    hi = std::max(hi, x[k]);
    probe += x[k] * 0.0f;  // NaN iff some x is NaN or infinite
  }
  RowParams p = rowParams(lo, hi, probe == 0.0f);
  *scale = p.scale;
  *zp = p.zp;
  for (int k = 0; k < K; ++k) q[k] = quantOne(x[k], p);
  for (int k = K; k < ldq; ++k) q[k] = 0;
}

// Portable tile: rows [0, mr) x panels [0, nv) over the packed layout, in plain integer C++
// (compiled per ISA level for speed; integer sums are exact, so that never changes a result).
CTR_INLINE void tilePortableBody(const uint8_t* A, long lda, int Kp, const int8_t* B, long panelStride, int mr, int nv,
                                 int32_t* acc /* [mr][nv*PANEL] */) {
  const int w = nv * PANEL;
  std::fill(acc, acc + mr * w, 0);
  for (int g = 0; g < Kp / 4; ++g)
    for (int v = 0; v < nv; ++v) {
      const int8_t* b = B + v * panelStride + (long)g * 4 * PANEL;
      for (int r = 0; r < mr; ++r) {
        const int32_t a0 = A[r * lda + 4 * g], a1 = A[r * lda + 4 * g + 1], a2 = A[r * lda + 4 * g + 2], a3 = A[r * lda + 4 * g + 3];
        int32_t* c = acc + r * w + v * PANEL;
        for (int j = 0; j < PANEL; ++j) c[j] += a0 * b[4 * j] + a1 * b[4 * j + 1] + a2 * b[4 * j + 2] + a3 * b[4 * j + 3];
      }
    }
}
CTR_MULTIVERSION(tilePortable, (const uint8_t* A, long lda, int Kp, const int8_t* B, long panelStride, int mr, int nv, int32_t* acc),
                 (A, lda, Kp, B, panelStride, mr, nv, acc))

struct Problem {
  const float* X;
  int M, K, N;
  const int8_t* packed;
  const float* wScale;
  const int32_t* colSum;
  const float* bias;
  float* Y;
  Act act;
  float param;
};

void epiloguePortable(const Problem& P, const int32_t* acc, int w, int i0, int mr, int j0, int cols,
                      const float* xs, const int32_t* zp) {
  for (int r = 0; r < mr; ++r) {
    float* y = P.Y + (long)(i0 + r) * P.N + j0;
    for (int j = 0; j < cols; ++j) {
      float v = dequantOne(acc[r * w + j], zp[r], P.colSum[j0 + j], xs[r], P.wScale[j0 + j], P.bias ? P.bias[j0 + j] : 0.0f);
      // 0 > v ? 0 : v is vmaxps(0, v): NaN passes through, −0 stays −0, in both paths.
      y[j] = P.act == Act::Relu ? (0.0f > v ? 0.0f : v) : v;
    }
    applyActivation(y, cols, P.act, P.param);
  }
}

struct Scratch {
  std::vector<uint8_t> q;
  std::vector<float> scale;
  std::vector<int32_t> zp;
  std::vector<int32_t> acc;
};

void blockPortable(const Problem& P, int i0, int i1, Scratch& s) {
  const int Kp = padK(P.K), np = panels(P.N);
  const long panelStride = (long)Kp * PANEL;
  for (int i = i0; i < i1; ++i)
    quantizeRowPortable(P.X + (long)i * P.K, P.K, s.q.data() + (long)(i - i0) * Kp, Kp, &s.scale[i - i0], &s.zp[i - i0]);
  for (int p0 = 0; p0 < np; p0 += NV) {
    int nv = std::min(NV, np - p0);
    int j0 = p0 * PANEL, cols = std::min(nv * PANEL, P.N - j0);
    for (int r0 = i0; r0 < i1; r0 += MR) {
      int mr = std::min(MR, i1 - r0);
      tilePortable(s.q.data() + (long)(r0 - i0) * Kp, Kp, Kp, P.packed + p0 * panelStride, panelStride, mr, nv, s.acc.data());
      epiloguePortable(P, s.acc.data(), nv * PANEL, r0, mr, j0, cols, &s.scale[r0 - i0], &s.zp[r0 - i0]);
    }
  }
}

#if defined(__x86_64__)
#define VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

VNNI_TARGET void quantizeRowVnni(const float* x, int K, uint8_t* q, int ldq, float* scale, int32_t* zp) {
  __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps(), probe = _mm512_setzero_ps();
  const __m512 zero = _mm512_setzero_ps();
  for (int k = 0; k < K; k += 16) {
    __mmask16 m = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
    __m512 v = _mm512_maskz_loadu_ps(m, x + k);
    lo = _mm512_min_ps(lo, v);
    hi = _mm512_max_ps(hi, v);
    probe = _mm512_add_ps(probe, _mm512_mul_ps(v, zero));
  }
  // min / max are exact in any order; the probe is NaN iff a lane saw NaN or ±Inf.
  float lof = _mm512_reduce_min_ps(lo), hif = _mm512_reduce_max_ps(hi);
  bool finite = _mm512_cmp_ps_mask(probe, zero, _CMP_EQ_OQ) == 0xFFFF;
  RowParams p = rowParams(lof, hif, finite);
  *scale = p.scale;
  *zp = p.zp;
  const __m512 inv = _mm512_set1_ps(p.inv);
  const __m512i zpv = _mm512_set1_epi32(p.zp), z = _mm512_setzero_si512(), top = _mm512_set1_epi32(255);
  for (int k = 0; k < K; k += 16) {
    int cnt = std::min(16, K - k);
    __mmask16 m = cnt == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cnt) - 1);
    __m512i r = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + k), inv));
    r = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(r, zpv), z), top);
    _mm_mask_storeu_epi8(q + k, m, _mm512_cvtepi32_epi8(r));
  }
  for (int k = K; k < ldq; ++k) q[k] = 0;
}

// Register tile: rows [0, MRt) x NVt panels; vpdpbusd takes 4 uint8 of A (one broadcast int32)
// against 4 int8 per column of B.
template <int MRt, int NVt>
VNNI_TARGET void tileVnni(const Problem& P, const uint8_t* A, long lda, int Kp, const int8_t* B, long panelStride,
                          int i0, int j0, const float* xs, const int32_t* zp) {
  // Fully unrolled so that GCC keeps the accumulators in registers (it spills them otherwise).
  __m512i acc[MRt][NVt];
#pragma GCC unroll 8
  for (int r = 0; r < MRt; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NVt; ++v) acc[r][v] = _mm512_setzero_si512();
  for (int g = 0; g < Kp / 4; ++g) {
    __m512i b[NVt];
#pragma GCC unroll 4
    for (int v = 0; v < NVt; ++v) b[v] = _mm512_loadu_si512(B + v * panelStride + (long)g * 4 * PANEL);
#pragma GCC unroll 8
    for (int r = 0; r < MRt; ++r) {
      int32_t a4;
      std::memcpy(&a4, A + r * lda + 4 * g, 4);
      __m512i a = _mm512_set1_epi32(a4);
#pragma GCC unroll 4
      for (int v = 0; v < NVt; ++v) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], a, b[v]);
    }
  }
  // The epilogue indexes the tile at run time (column tails); reading it from an explicit copy
  // keeps that indexing from pinning the accumulators to memory inside the loop above.
  alignas(64) int32_t tile[MRt][NVt * PANEL];
#pragma GCC unroll 8
  for (int r = 0; r < MRt; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NVt; ++v) _mm512_store_si512(&tile[r][v * PANEL], acc[r][v]);
  const __m512 zero = _mm512_setzero_ps();
  const int rowCols = std::min(NVt * PANEL, P.N - j0);
  for (int r = 0; r < MRt; ++r) {
    float* y = P.Y + (long)(i0 + r) * P.N + j0;
    const __m512i zpv = _mm512_set1_epi32(zp[r]);
    const __m512 xsv = _mm512_set1_ps(xs[r]);
    for (int c = 0; c < rowCols; c += PANEL) {
      int cnt = std::min(PANEL, rowCols - c);
      __mmask16 m = cnt == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cnt) - 1);
      int j = j0 + c;
      __m512i cs = _mm512_maskz_loadu_epi32(m, P.colSum + j);
      __m512 t = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_load_si512(&tile[r][c]), _mm512_mullo_epi32(zpv, cs)));
      t = _mm512_mul_ps(t, xsv);
      t = _mm512_mul_ps(t, _mm512_maskz_loadu_ps(m, P.wScale + j));
      t = _mm512_add_ps(t, P.bias ? _mm512_maskz_loadu_ps(m, P.bias + j) : zero);
      if (P.act == Act::Relu) t = _mm512_max_ps(zero, t);
      _mm512_mask_storeu_ps(y + c, m, t);
    }
    applyActivation(y, rowCols, P.act, P.param);
  }
}

template <int NVt>
VNNI_TARGET void tileRowsVnni(int mr, const Problem& P, const uint8_t* A, long lda, int Kp, const int8_t* B,
                              long ps, int i0, int j0, const float* xs, const int32_t* zp) {
  switch (mr) {
    case 6: return tileVnni<6, NVt>(P, A, lda, Kp, B, ps, i0, j0, xs, zp);
    case 5: return tileVnni<5, NVt>(P, A, lda, Kp, B, ps, i0, j0, xs, zp);
    case 4: return tileVnni<4, NVt>(P, A, lda, Kp, B, ps, i0, j0, xs, zp);
    case 3: return tileVnni<3, NVt>(P, A, lda, Kp, B, ps, i0, j0, xs, zp);
    case 2: return tileVnni<2, NVt>(P, A, lda, Kp, B, ps, i0, j0, xs, zp);
    default: return tileVnni<1, NVt>(P, A, lda, Kp, B, ps, i0, j0, xs, zp);
  }
}

VNNI_TARGET void blockVnni(const Problem& P, int i0, int i1, Scratch& s) {
  const int Kp = padK(P.K), np = panels(P.N);
  const long ps = (long)Kp * PANEL;
  for (int i = i0; i < i1; ++i)
    quantizeRowVnni(P.X + (long)i * P.K, P.K, s.q.data() + (long)(i - i0) * Kp, Kp, &s.scale[i - i0], &s.zp[i - i0]);
  // Column groups outside, row tiles inside: the group's B panels (Kp x 64 bytes) stay in L1/L2
  // while every row tile of the block streams past them.
  for (int p0 = 0; p0 < np; p0 += NV) {
    int nv = std::min(NV, np - p0);
    const int8_t* B = P.packed + p0 * ps;
    for (int r0 = i0; r0 < i1; r0 += MR) {
      int mr = std::min(MR, i1 - r0);
      const uint8_t* A = s.q.data() + (long)(r0 - i0) * Kp;
      const float* xs = &s.scale[r0 - i0];
      const int32_t* zp = &s.zp[r0 - i0];
      int j0 = p0 * PANEL;
      switch (nv) {
        case 4: tileRowsVnni<4>(mr, P, A, Kp, Kp, B, ps, r0, j0, xs, zp); break;
        case 3: tileRowsVnni<3>(mr, P, A, Kp, Kp, B, ps, r0, j0, xs, zp); break;
        case 2: tileRowsVnni<2>(mr, P, A, Kp, Kp, B, ps, r0, j0, xs, zp); break;
        default: tileRowsVnni<1>(mr, P, A, Kp, Kp, B, ps, r0, j0, xs, zp); break;
      }
    }
  }
}
#undef VNNI_TARGET
#endif  // __x86_64__

bool cpuHasVnni() { return CTR_CPU_HAS_AVX512_WITH("avx512vnni"); }

KernelSwitch& kernel() {
  static KernelSwitch k("CTRKIT_INT8_KERNEL", "vnni", cpuHasVnni);
  return k;
}

}  // namespace

long int8PackedBytes(int K, int N) { return (long)padK(K) * panels(N) * PANEL; }

void int8QuantizeWeights(const float* W, int K, int N, int8_t* Q, float* scale) {
  std::vector<float> amax(N, 0.0f);
  for (long k = 0; k < K; ++k)
    for (int j = 0; j < N; ++j) amax[j] = std::max(amax[j], std::fabs(W[k * N + j]));
  for (int j = 0; j < N; ++j) scale[j] = amax[j] > 0.0f ? amax[j] / 127.0f : 1.0f;
  for (long k = 0; k < K; ++k)
    for (int j = 0; j < N; ++j) Q[k * N + j] = (int8_t)std::min(127, std::max(-127, roundEven(W[k * N + j] / scale[j])));
}

void int8PackWeights(const int8_t* Q, int K, int N, int8_t* packed, int32_t* colSum) {
  const int Kp = padK(K);
  std::memset(packed, 0, (size_t)int8PackedBytes(K, N));
  std::fill(colSum, colSum + N, 0);
  for (long k = 0; k < K; ++k)
    for (int j = 0; j < N; ++j) {
      int p = j / PANEL, c = j % PANEL;
      packed[(long)p * Kp * PANEL + (k / 4) * 4 * PANEL + c * 4 + k % 4] = Q[k * N + j];
      colSum[j] += Q[k * N + j];
    }
}

void int8QuantizeRows(const float* X, int M, int K, uint8_t* Xq, long ldq, float* scale, int32_t* zp) {
  for (long i = 0; i < M; ++i) {
#if defined(__x86_64__)
    if (kernel().fast()) {
      quantizeRowVnni(X + i * K, K, Xq + i * ldq, (int)ldq, scale + i, zp + i);
      continue;
    }
#endif
    quantizeRowPortable(X + i * K, K, Xq + i * ldq, (int)ldq, scale + i, zp + i);
  }
}

void int8LinearForward(const float* X, int M, int K, int N, const int8_t* packed, const float* wScale,
                       const int32_t* colSum, const float* bias, float* Y, Act act, float param) {
  if (M <= 0 || N <= 0) return;
  if (K > kInt8MaxK) throw KernelError("int8LinearForward", "K = " + std::to_string(K) + " exceeds " + std::to_string(kInt8MaxK));
  Problem P{X, M, K, N, packed, wScale, colSum, bias, Y, act, param};
  const bool vnni = kernel().fast();
  const int Kp = padK(K);
  forRowBlocks(M, [&](int, int i0, int i1) {
    thread_local Scratch s;
    s.q.resize((size_t)ROW_BLOCK * Kp);
    s.scale.resize(ROW_BLOCK);
    s.zp.resize(ROW_BLOCK);
    s.acc.resize((size_t)MR * NV * PANEL);
#if defined(__x86_64__)
    if (vnni) return blockVnni(P, i0, i1, s);
#endif
    blockPortable(P, i0, i1, s);
  });
}

const char* int8KernelName() { return kernel().name(); }

bool int8ForceKernel(const char* name) { return kernel().force(name); }

}  // namespace ctr
