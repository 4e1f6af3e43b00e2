// Int8 dense layer for inference (see int8_gemm.h): an AVX-512 VNNI path (vpdpbusd: uint8 ×
// int8, four products summed into each int32 lane) and a portable path over the same packed
// layout. Both quantise rows and dequantise with the same float32 operations in the same order,
// so they agree bit for bit.
#include "int8_gemm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593, as in gemm.cc
#endif
#include <immintrin.h>
#endif

#define CTR_REDUCED_ISA_TARGET "avx512f,avx512bw,avx512vl,avx512dq,avx512vnni"
#include "reduced_gemm.h"

namespace ctr {
namespace {

using namespace reduced;

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

#if defined(__x86_64__)
CTR_REDUCED_ISA void quantizeRowVnni(const float* x, int K, uint8_t* q, int ldq, float* scale, int32_t* zp) {
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

#endif  // __x86_64__

bool cpuHasVnni() { return CTR_CPU_HAS_AVX512_WITH("avx512vnni"); }

// The int8 layer for reduced_gemm.h's driver: four k per 32-bit lane, int32 accumulators,
// dequantised per row and column before the bias.
struct Int8 : Elements<uint8_t, int8_t, int32_t, 4> {
  struct Weights {
    const int8_t* packed;
    const float* scale;
    const int32_t* colSum;
  };
  struct Row {
    float scale;
    int32_t zp;
  };

  static KernelSwitch& kernel() {
    static KernelSwitch k("CTRKIT_INT8_KERNEL", "vnni", cpuHasVnni);
    return k;
  }

  static Row prepareRowPortable(const float* x, int K, uint8_t* q, int ld) {
    Row r;
    quantizeRowPortable(x, K, q, ld, &r.scale, &r.zp);
    return r;
  }
  struct Lanes {
    int32_t a0, a1, a2, a3;
  };
  CTR_INLINE Lanes lanes(const uint8_t* a) { return {a[0], a[1], a[2], a[3]}; }
  CTR_INLINE int32_t step(int32_t c, const Lanes& a, const int8_t* b) { return c + (a.a0 * b[0] + a.a1 * b[1] + a.a2 * b[2] + a.a3 * b[3]); }
  // The same float ops, in the same order, as vdequant.
  CTR_INLINE float dequant(const Weights& w, const Row& r, int32_t acc, int j) {
    float t = (float)(acc - r.zp * w.colSum[j]);
    t = t * r.scale;
    return t * w.scale[j];
  }

#if defined(__x86_64__)
  using VAcc = __m512i;
  struct VRow {
    __m512i zp;
    __m512 scale;
  };
  CTR_REDUCED_ISA static Row prepareRowIsa(const float* x, int K, uint8_t* q, int ld) {
    Row r;
    quantizeRowVnni(x, K, q, ld, &r.scale, &r.zp);
    return r;
  }
  CTR_REDUCED_ISA CTR_INLINE __m512i vzero() { return _mm512_setzero_si512(); }
  CTR_REDUCED_ISA CTR_INLINE __m512i vdot(__m512i acc, __m512i a, __m512i b) { return _mm512_dpbusd_epi32(acc, a, b); }
  CTR_REDUCED_ISA CTR_INLINE void vstore(int32_t* p, __m512i v) { _mm512_store_si512(p, v); }
  CTR_REDUCED_ISA CTR_INLINE VRow vrow(const Row& r) { return {_mm512_set1_epi32(r.zp), _mm512_set1_ps(r.scale)}; }
  CTR_REDUCED_ISA CTR_INLINE __m512 vdequant(const Weights& w, const VRow& r, const int32_t* acc, int j, __mmask16 m) {
    __m512i cs = _mm512_maskz_loadu_epi32(m, w.colSum + j);
    __m512 t = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_load_si512(acc), _mm512_mullo_epi32(r.zp, cs)));
    t = _mm512_mul_ps(t, r.scale);
    return _mm512_mul_ps(t, _mm512_maskz_loadu_ps(m, w.scale + j));
  }
#endif
};

}  // namespace

long int8PackedBytes(int K, int N) { return packedSize<Int8::KG>(K, N); }

void int8QuantizeWeights(const float* W, int K, int N, int8_t* Q, float* scale) {
  std::vector<float> amax(N, 0.0f);
  for (long k = 0; k < K; ++k)
    for (int j = 0; j < N; ++j) amax[j] = std::max(amax[j], std::fabs(W[k * N + j]));
  for (int j = 0; j < N; ++j) scale[j] = amax[j] > 0.0f ? amax[j] / 127.0f : 1.0f;
  for (long k = 0; k < K; ++k)
    for (int j = 0; j < N; ++j) Q[k * N + j] = (int8_t)std::min(127, std::max(-127, roundEven(W[k * N + j] / scale[j])));
}

void int8PackWeights(const int8_t* Q, int K, int N, int8_t* packed, int32_t* colSum) {
  packWeights<Int8::KG>(Q, K, N, packed, [](int8_t q) { return q; });
  std::fill(colSum, colSum + N, 0);
  for (long k = 0; k < K; ++k)
    for (int j = 0; j < N; ++j) colSum[j] += Q[k * N + j];
}

void int8QuantizeRows(const float* X, int M, int K, uint8_t* Xq, long ldq, float* scale, int32_t* zp) {
  prepareRows<Int8>(X, M, K, Xq, ldq, [&](long i, Int8::Row r) {
    scale[i] = r.scale;
    zp[i] = r.zp;
  });
}

void int8LinearForward(const float* X, int M, int K, int N, const int8_t* packed, const float* wScale,
                       const int32_t* colSum, const float* bias, float* Y, Act act, float param) {
  if (M <= 0 || N <= 0) return;
  if (K > kInt8MaxK) throw KernelError("int8LinearForward", "K = " + std::to_string(K) + " exceeds " + std::to_string(kInt8MaxK));
  linearForward(Problem<Int8>{X, M, K, N, {packed, wScale, colSum}, bias, Y, act, param});
}

const char* int8KernelName() { return Int8::kernel().name(); }

bool int8ForceKernel(const char* name) { return Int8::kernel().force(name); }

}  // namespace ctr
