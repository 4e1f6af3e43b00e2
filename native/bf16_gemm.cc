// Bf16 dense layer for inference (see bf16_gemm.h): an AVX-512 BF16 path (vcvtneps2bf16 for the
// input rows, vdpbf16ps for the products) and a portable path that replays those instructions'
// rounding and flushing step by step over the same packed layout.
#include "bf16_gemm.h"

#include <cmath>
#include <cstring>
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

inline int padK(int K) { return (K + 1) & ~1; }

inline uint32_t bitsOf(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
inline float fromBf16(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

// vcvtneps2bf16 on one value.
inline uint16_t toBf16(float x) {
  uint32_t u = bitsOf(x);
  if ((u & 0x7F800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);            // ±0, denormal → ±0
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x0040u);   // NaN → quiet NaN
  return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);                     // nearest-even
}

// acc + p as one vdpbf16ps step: the exact sum (p, a product of two bf16, is exact in double)
// rounded to float32's 24 bits as if the exponent were unbounded, then flushed to ±0 when below
// FLT_MIN. Measured on the instruction: a denormal product is not flushed before the add
// (FLT_MIN + 2⁻¹⁴⁰ stays above FLT_MIN), and FLT_MIN − 2⁻¹⁵⁰ becomes 0, not FLT_MIN.
// The double sum is exact unless the exponents are more than ~30 apart, and then both roundings
// give the larger operand, so rounding it once more to float32 matches rounding the exact sum.
inline float dotStep(float acc, double p) {
  double s = (double)acc + p;
  if (std::fabs(s) < 0x1p-100) {
    float r = (float)(s * 0x1p64);  // scaled into float32's normal range: rounds to 24 bits
    return std::fabs(r) < 0x1p-62f ? std::copysign(0.0f, r) : r * 0x1p-64f;
  }
  return (float)s;
}

void roundRowPortable(const float* x, int K, uint16_t* out, int ldo) {
  for (int k = 0; k < K; ++k) out[k] = toBf16(x[k]);
  for (int k = K; k < ldo; ++k) out[k] = 0;
}

struct Problem {
  const float* X;
  int M, K, N;
  const uint16_t* packed;
  const float* bias;
  float* Y;
  Act act;
  float param;
};

struct Scratch {
  std::vector<uint16_t> a;
  std::vector<float> acc;
};

// Portable tile: rows [0, mr) x panels [0, nv), the vdpbf16ps steps per lane.
CTR_INLINE void tilePortableBody(const uint16_t* A, long lda, int Kp, const uint16_t* B, long panelStride, int mr, int nv,
                                 float* acc /* [mr][nv*PANEL] */) {
  const int w = nv * PANEL;
  std::fill(acc, acc + mr * w, 0.0f);
  for (int g = 0; g < Kp / 2; ++g)
    for (int v = 0; v < nv; ++v) {
      const uint16_t* b = B + v * panelStride + (long)g * 2 * PANEL;
      for (int r = 0; r < mr; ++r) {
        const double a0 = fromBf16(A[r * lda + 2 * g]), a1 = fromBf16(A[r * lda + 2 * g + 1]);
        float* c = acc + r * w + v * PANEL;
        for (int j = 0; j < PANEL; ++j) c[j] = dotStep(dotStep(c[j], a1 * fromBf16(b[2 * j + 1])), a0 * fromBf16(b[2 * j]));
      }
    }
}
CTR_MULTIVERSION(tilePortable, (const uint16_t* A, long lda, int Kp, const uint16_t* B, long panelStride, int mr, int nv, float* acc),
                 (A, lda, Kp, B, panelStride, mr, nv, acc))

void epiloguePortable(const Problem& P, const float* acc, int w, int i0, int mr, int j0, int cols) {
  for (int r = 0; r < mr; ++r) {
    float* y = P.Y + (long)(i0 + r) * P.N + j0;
    for (int j = 0; j < cols; ++j) {
      float v = acc[r * w + j] + (P.bias ? P.bias[j0 + j] : 0.0f);
      // 0 > v ? 0 : v is vmaxps(0, v): NaN passes through, −0 stays −0, in both paths.
      y[j] = P.act == Act::Relu ? (0.0f > v ? 0.0f : v) : v;
    }
    applyActivation(y, cols, P.act, P.param);
  }
}

void blockPortable(const Problem& P, int i0, int i1, Scratch& s) {
  const int Kp = padK(P.K), np = panels(P.N);
  const long panelStride = (long)Kp * PANEL;
  for (int i = i0; i < i1; ++i) roundRowPortable(P.X + (long)i * P.K, P.K, s.a.data() + (long)(i - i0) * Kp, Kp);
  for (int p0 = 0; p0 < np; p0 += NV) {
    int nv = std::min(NV, np - p0);
    int j0 = p0 * PANEL, cols = std::min(nv * PANEL, P.N - j0);
    for (int r0 = i0; r0 < i1; r0 += MR) {
      int mr = std::min(MR, i1 - r0);
      tilePortable(s.a.data() + (long)(r0 - i0) * Kp, Kp, Kp, P.packed + p0 * panelStride, panelStride, mr, nv, s.acc.data());
      epiloguePortable(P, s.acc.data(), nv * PANEL, r0, mr, j0, cols);
    }
  }
}

#if defined(__x86_64__)
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

BF16_TARGET void roundRowBf16(const float* x, int K, uint16_t* out, int ldo) {
  for (int k = 0; k < K; k += 16) {
    __mmask16 m = tailMask(K - k);
    __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + k));
    __m256i hi;
    std::memcpy(&hi, &h, sizeof hi);
    _mm256_mask_storeu_epi16(out + k, m, hi);
  }
  for (int k = K; k < ldo; ++k) out[k] = 0;
}

// Register tile: rows [0, MRt) x NVt panels; vdpbf16ps takes one broadcast pair of A (32 bits)
// against a pair per column of B.
template <int MRt, int NVt>
BF16_TARGET void tileBf16(const Problem& P, const uint16_t* A, long lda, int Kp, const uint16_t* B, long panelStride,
                          int i0, int j0) {
  // Fully unrolled so that GCC keeps the accumulators in registers (it spills them otherwise).
  __m512 acc[MRt][NVt];
#pragma GCC unroll 8
  for (int r = 0; r < MRt; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NVt; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int g = 0; g < Kp / 2; ++g) {
    __m512bh b[NVt];
#pragma GCC unroll 4
    for (int v = 0; v < NVt; ++v) b[v] = (__m512bh)_mm512_loadu_si512(B + v * panelStride + (long)g * 2 * PANEL);
#pragma GCC unroll 8
    for (int r = 0; r < MRt; ++r) {
      int32_t a2;
      std::memcpy(&a2, A + r * lda + 2 * g, 4);
      __m512bh a = (__m512bh)_mm512_set1_epi32(a2);
#pragma GCC unroll 4
      for (int v = 0; v < NVt; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], a, b[v]);
    }
  }
  alignas(64) float tile[MRt][NVt * PANEL];
#pragma GCC unroll 8
  for (int r = 0; r < MRt; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NVt; ++v) _mm512_store_ps(&tile[r][v * PANEL], acc[r][v]);
  const __m512 zero = _mm512_setzero_ps();
  const int rowCols = std::min(NVt * PANEL, P.N - j0);
  for (int r = 0; r < MRt; ++r) {
    float* y = P.Y + (long)(i0 + r) * P.N + j0;
    for (int c = 0; c < rowCols; c += PANEL) {
      __mmask16 m = tailMask(rowCols - c);
      __m512 t = _mm512_add_ps(_mm512_load_ps(&tile[r][c]), P.bias ? _mm512_maskz_loadu_ps(m, P.bias + j0 + c) : zero);
      if (P.act == Act::Relu) t = _mm512_max_ps(zero, t);
      _mm512_mask_storeu_ps(y + c, m, t);
    }
    applyActivation(y, rowCols, P.act, P.param);
  }
}

template <int NVt>
BF16_TARGET void tileRowsBf16(int mr, const Problem& P, const uint16_t* A, long lda, int Kp, const uint16_t* B, long ps,
                              int i0, int j0) {
  switch (mr) {
    case 6: return tileBf16<6, NVt>(P, A, lda, Kp, B, ps, i0, j0);
    case 5: return tileBf16<5, NVt>(P, A, lda, Kp, B, ps, i0, j0);
    case 4: return tileBf16<4, NVt>(P, A, lda, Kp, B, ps, i0, j0);
    case 3: return tileBf16<3, NVt>(P, A, lda, Kp, B, ps, i0, j0);
    case 2: return tileBf16<2, NVt>(P, A, lda, Kp, B, ps, i0, j0);
    default: return tileBf16<1, NVt>(P, A, lda, Kp, B, ps, i0, j0);
  }
}

BF16_TARGET void blockBf16(const Problem& P, int i0, int i1, Scratch& s) {
  const int Kp = padK(P.K), np = panels(P.N);
  const long ps = (long)Kp * PANEL;
  for (int i = i0; i < i1; ++i) roundRowBf16(P.X + (long)i * P.K, P.K, s.a.data() + (long)(i - i0) * Kp, Kp);
  // Column groups outside, row tiles inside: the group's B panels stay in L1/L2 while every
  // row tile of the block streams past them.
  for (int p0 = 0; p0 < np; p0 += NV) {
    int nv = std::min(NV, np - p0);
    const uint16_t* B = P.packed + p0 * ps;
    for (int r0 = i0; r0 < i1; r0 += MR) {
      int mr = std::min(MR, i1 - r0);
      const uint16_t* A = s.a.data() + (long)(r0 - i0) * Kp;
      int j0 = p0 * PANEL;
      switch (nv) {
        case 4: tileRowsBf16<4>(mr, P, A, Kp, Kp, B, ps, r0, j0); break;
        case 3: tileRowsBf16<3>(mr, P, A, Kp, Kp, B, ps, r0, j0); break;
        case 2: tileRowsBf16<2>(mr, P, A, Kp, Kp, B, ps, r0, j0); break;
        default: tileRowsBf16<1>(mr, P, A, Kp, Kp, B, ps, r0, j0); break;
      }
    }
  }
}
#undef BF16_TARGET
#endif  // __x86_64__

bool cpuHasBf16() { return CTR_CPU_HAS_AVX512_WITH("avx512bf16"); }

KernelSwitch& kernel() {
  static KernelSwitch k("CTRKIT_BF16_KERNEL", "avx512bf16", cpuHasBf16);
  return k;
}

}  // namespace

long bf16PackedSize(int K, int N) { return (long)padK(K) * panels(N) * PANEL; }

void bf16PackWeights(const float* W, int K, int N, uint16_t* packed) {
  const int Kp = padK(K);
  std::memset(packed, 0, (size_t)bf16PackedSize(K, N) * sizeof(uint16_t));
  for (long k = 0; k < K; ++k)
    for (int j = 0; j < N; ++j)
      packed[(long)(j / PANEL) * Kp * PANEL + (k / 2) * 2 * PANEL + (j % PANEL) * 2 + k % 2] = toBf16(W[k * N + j]);
}

void bf16RoundRows(const float* X, int M, int K, uint16_t* out) {
  for (long i = 0; i < M; ++i) {
#if defined(__x86_64__)
    if (kernel().fast()) {
      roundRowBf16(X + i * K, K, out + i * K, K);
      continue;
    }
#endif
    roundRowPortable(X + i * K, K, out + i * K, K);
  }
}

void bf16LinearForward(const float* X, int M, int K, int N, const uint16_t* packed, const float* bias, float* Y,
                       Act act, float param) {
  if (M <= 0 || N <= 0) return;
  Problem P{X, M, K, N, packed, bias, Y, act, param};
  const bool isa = kernel().fast();
  const int Kp = padK(K);
  forRowBlocks(M, [&](int, int i0, int i1) {
    thread_local Scratch s;
    s.a.resize((size_t)ROW_BLOCK * Kp);
    s.acc.resize((size_t)MR * NV * PANEL);
#if defined(__x86_64__)
    if (isa) return blockBf16(P, i0, i1, s);
#endif
    blockPortable(P, i0, i1, s);
  });
}

const char* bf16KernelName() { return kernel().name(); }

bool bf16ForceKernel(const char* name) { return kernel().force(name); }

}  // namespace ctr
