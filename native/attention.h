// DIN's one-hidden-layer target attention, fused (native/attention.cc; the contract is the
// `targetAttention` kernels' in src/backend/kernels.ts). Pointers and sizes are checked by the binding.
#pragma once
#include <cstdint>

#include "gemm.h"

namespace ctr {

void targetAttention(const float* eb, const float* et, const int32_t* offsets, long S, const float* W1,
                     const float* b1, const float* w2, float b2, long d, long h, Act act, float param, float* pooled);
// Accumulates; any gradient pointer may be null.
void targetAttentionBackward(const float* eb, const float* et, const int32_t* offsets, long S, const float* W1,
                             const float* b1, const float* w2, float b2, long d, long h, Act act, float param,
                             const float* dPooled, float* deb, float* det, float* dW1, float* db1, float* dw2,
                             float* db2);

}  // namespace ctr
