// Bf16 dense layer for inference (see bf16_gemm.h): an AVX-512 BF16 path (vcvtneps2bf16 for the
// input rows, vdpbf16ps for the products) and a portable path that replays those instructions'
// rounding and flushing step by step over the same packed layout.
#include "bf16_gemm.h"

#include <cmath>
#include <cstring>

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593, as in gemm.cc
#endif
#include <immintrin.h>
#endif

#define CTR_REDUCED_ISA_TARGET "avx512f,avx512bw,avx512vl,avx512dq,avx512bf16"
#include "reduced_gemm.h"

namespace ctr {
namespace {

using namespace reduced;

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

#if defined(__x86_64__)
CTR_REDUCED_ISA void roundRowBf16(const float* x, int K, uint16_t* out, int ldo) {
  for (int k = 0; k < K; k += 16) {
    __mmask16 m = tailMask(K - k);
    __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + k));
    __m256i hi;
    std::memcpy(&hi, &h, sizeof hi);
    _mm256_mask_storeu_epi16(out + k, m, hi);
  }
  for (int k = K; k < ldo; ++k) out[k] = 0;
}
#endif

bool cpuHasBf16() { return CTR_CPU_HAS_AVX512_WITH("avx512bf16"); }

// The bf16 layer for reduced_gemm.h's driver: pairs of k per 32-bit lane, float32 accumulators,
// nothing to dequantise.
struct Bf16 : Elements<uint16_t, uint16_t, float, 2> {
  struct Weights {
    const uint16_t* packed;
  };
  struct Row {};

  static KernelSwitch& kernel() {
    static KernelSwitch k("CTRKIT_BF16_KERNEL", "avx512bf16", cpuHasBf16);
    return k;
  }

  static Row prepareRowPortable(const float* x, int K, uint16_t* out, int ld) {
    roundRowPortable(x, K, out, ld);
    return {};
  }
  struct Lanes {
    double a0, a1;
  };
  CTR_INLINE Lanes lanes(const uint16_t* a) { return {fromBf16(a[0]), fromBf16(a[1])}; }
  // The vdpbf16ps steps of one lane: the odd k first.
  CTR_INLINE float step(float c, const Lanes& a, const uint16_t* b) {
    return dotStep(dotStep(c, a.a1 * fromBf16(b[1])), a.a0 * fromBf16(b[0]));
  }
  CTR_INLINE float dequant(const Weights&, const Row&, float acc, int) { return acc; }

#if defined(__x86_64__)
  using VAcc = __m512;
  struct VRow {};
  CTR_REDUCED_ISA static Row prepareRowIsa(const float* x, int K, uint16_t* out, int ld) {
    roundRowBf16(x, K, out, ld);
    return {};
  }
  CTR_REDUCED_ISA CTR_INLINE __m512 vzero() { return _mm512_setzero_ps(); }
  CTR_REDUCED_ISA CTR_INLINE __m512 vdot(__m512 acc, __m512i a, __m512i b) { return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b); }
  CTR_REDUCED_ISA CTR_INLINE void vstore(float* p, __m512 v) { _mm512_store_ps(p, v); }
  CTR_REDUCED_ISA CTR_INLINE VRow vrow(const Row&) { return {}; }
  CTR_REDUCED_ISA CTR_INLINE __m512 vdequant(const Weights&, const VRow&, const float* acc, int, __mmask16) { return _mm512_load_ps(acc); }
#endif
};

}  // namespace

long bf16PackedSize(int K, int N) { return packedSize<Bf16::KG>(K, N); }

void bf16PackWeights(const float* W, int K, int N, uint16_t* packed) { packWeights<Bf16::KG>(W, K, N, packed, toBf16); }

void bf16RoundRows(const float* X, int M, int K, uint16_t* out) {
  prepareRows<Bf16>(X, M, K, out, K, [](long, Bf16::Row) {});
}

void bf16LinearForward(const float* X, int M, int K, int N, const uint16_t* packed, const float* bias, float* Y,
                       Act act, float param) {
  linearForward(Problem<Bf16>{X, M, K, N, {packed}, bias, Y, act, param});
}

const char* bf16KernelName() { return Bf16::kernel().name(); }

bool bf16ForceKernel(const char* name) { return Bf16::kernel().force(name); }

}  // namespace ctr
