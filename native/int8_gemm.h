// Reduced-precision (int8) dense layer for inference: weights quantised per output column
// (symmetric int8, once at load), activations per row at call time (asymmetric uint8 with a
// zero point), int32 accumulation, dequantisation + bias + activation in the epilogue.
//
// Every step is specified exactly (float32 operations in a fixed order, round-half-even), and
// integer accumulation is exact, so the VNNI and the portable path, and any thread count, give
// the same bits.
#pragma once
#include <cstdint>

#include "gemm.h"

namespace ctr {

// K beyond this could overflow the int32 accumulator (255 · 127 · K < 2³¹).
constexpr long kInt8MaxK = 65536;

// Bytes of the packed weight layout: 16-column panels (N rounded up to 16), each holding
// K rounded up to 4 in groups of 4 consecutive k per column (the vpdpbusd operand order).
long int8PackedBytes(int K, int N);

// Per output column j: scale[j] = max_k |W[k,j]| / 127 (1 for an all-zero column) and
// Q[k,j] = clamp(round_half_even(W[k,j] / scale[j]), -127, 127). Q is row-major [K,N].
void int8QuantizeWeights(const float* W, int K, int N, int8_t* Q, float* scale);

// Packs Q [K,N] into `packed` (int8PackedBytes) and writes colSum[j] = Σ_k Q[k,j].
void int8PackWeights(const int8_t* Q, int K, int N, int8_t* packed, int32_t* colSum);

// Per row i of X [M,K]: lo = min(0, min x), hi = max(0, max x); scale = (hi − lo) / 255,
// inv = 255 / (hi − lo), zp = round(−lo · inv), q = clamp(round(x · inv) + zp, 0, 255) (an
// all-zero row: scale 1, zp 0). A row holding NaN or ±Inf gets scale NaN, so its outputs are NaN.
// Xq is [M, ldq] with ldq ≥ K (zero-padded past K).
void int8QuantizeRows(const float* X, int M, int K, uint8_t* Xq, long ldq, float* scale, int32_t* zp);

// Y[M,N] = act(((float)(Σ_k Xq·Q − zp·colSum[j]) · xScale[i]) · wScale[j] + bias[j]), the
// activations quantised by int8QuantizeRows. bias may be null.
void int8LinearForward(const float* X, int M, int K, int N, const int8_t* packed, const float* wScale,
                       const int32_t* colSum, const float* bias, float* Y, Act act, float param);

// "vnni" (AVX-512 VNNI) or "portable": the path int8LinearForward takes.
const char* int8KernelName();
// Forces a path ("vnni", "portable") or restores the automatic choice ("auto": VNNI when the CPU
// has it, unless CTRKIT_INT8_KERNEL=portable); a path the CPU lacks is refused. Returns false when refused. Tests compare the paths with it.
bool int8ForceKernel(const char* name);

}  // namespace ctr
