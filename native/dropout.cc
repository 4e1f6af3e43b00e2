// Inverted dropout driven by a counter-based hash of (seed, index): the mask of element i does
// not depend on thread count or on how the work is split, and it matches `dropoutUniform` in
// src/backend/kernels.ts bit for bit.
#include "kernels.h"
#include "threadpool.h"

namespace ctr {

// Same 32-bit mix as dropoutUniform (Math.imul is a wrapping 32-bit multiply).
static inline double dropoutUniform(uint32_t seed, uint32_t i) {
  uint32_t h = (seed * 0x9e3779b1u) ^ (i * 0x85ebca6bu);
  h ^= h >> 16;
  h *= 0x7feb352du;
  h ^= h >> 15;
  h *= 0x846ca68bu;
  h ^= h >> 16;
  return (double)(h >> 8) / 16777216.0;
}

void dropout(const float* x, long n, double p, uint32_t seed, float* mask, float* out) {
  const float scale = p < 1 ? (float)(1.0 / (1.0 - p)) : 0.0f;  // p = 1: 0, not 0·Inf = NaN
  parallelFor(n, 32768, [&](long i0, long i1) {
    for (long i = i0; i < i1; ++i) {
      float m = dropoutUniform(seed, (uint32_t)i) >= p ? scale : 0.0f;
      mask[i] = m;
      out[i] = x[i] * m;
    }
  });
}

}  // namespace ctr
