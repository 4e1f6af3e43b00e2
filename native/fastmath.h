// Vectorisable exp / sigmoid / tanh for bulk kernels. libm's expf and tanhf are scalar calls
// (5-15 ns per element); these use only +, ×, /, comparisons and bit casts, so GCC vectorises
// them in every ISA variant, and with -ffp-contract=off every variant rounds identically
// (results do not depend on the CPU). Accuracy: a few ulp, Cephes polynomials.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "simd.h"

namespace ctr {

// e^x. Overflow gives +inf; results below FLT_MIN flush to 0 (x < -87.34, absolute error
// < 1.2e-38); NaN propagates.
CTR_INLINE float expApprox(float x) {
  const float hi = 88.7228391f, lo = -87.3365448f;
  float xc = x == x ? std::min(std::max(x, lo), hi) : 0.0f;
  // n = round(x / ln 2) by the 1.5·2^23 trick (|x / ln 2| < 2^22); r = x − n ln 2 in two parts.
  float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = (p * r * r + r) + 1.0f;
  // p · 2^n with n in [−126, 128]: build 2^(n−1) · 2 for n > 0 so the exponent stays normal.
  int32_t ni = (int32_t)n;
  int32_t m = ni > 0 ? ni - 1 : ni;
  float scale = __builtin_bit_cast(float, (m + 127) << 23);
  float res = p * scale * (ni > 0 ? 2.0f : 1.0f);
  res = x > hi ? INFINITY : res;
  res = x < lo ? 0.0f : res;
  return x == x ? res : x;
}

// σ(x) = 1/(1+e^−x), taking exp of −|x| only so nothing overflows.
CTR_INLINE float sigmoidApprox(float x) {
  float e = expApprox(-std::fabs(x));
  float s = 1.0f / (1.0f + e);
  return x >= 0 ? s : e * s;
}

// tanh: odd polynomial for |x| < 0.625 (where 1 − 2/(e^2x + 1) would cancel), else that form.
CTR_INLINE float tanhApprox(float x) {
  float z = x * x;
  float small = -5.70498872745e-3f;
  small = small * z + 2.06390887954e-2f;
  small = small * z - 5.37397155531e-2f;
  small = small * z + 1.33314422036e-1f;
  small = small * z - 3.33332819422e-1f;
  small = small * z * x + x;
  float ax = std::fabs(x);
  float big = std::copysign(1.0f - 2.0f / (expApprox(2.0f * ax) + 1.0f), x);
  return ax < 0.625f ? small : big;
}

}  // namespace ctr
