// Reduced-precision (bf16) dense layer for inference: weights rounded to bf16 once at load and
// packed, activations rounded to bf16 per call, products summed in float32 as AVX-512 BF16's
// vdpbf16ps sums them, bias + activation in the epilogue.
//
// The arithmetic is that instruction's, specified exactly so that a portable path reproduces it
// bit for bit (and any thread count gives the same bits):
//   round(x)  float32 → bf16 round-to-nearest-even; a denormal becomes ±0, a NaN a quiet NaN
//             (vcvtneps2bf16);
//   for k-pairs g = 0, 1, … (K padded to even with zeros), per output:
//             acc = step(acc, x[2g+1]·w[2g+1]);  acc = step(acc, x[2g]·w[2g])
//             where step(a, p) rounds the exact a + p to nearest-even at 24 significant bits
//             (exponent unbounded), then flushes a result below FLT_MIN to zero of its sign
//             (the products are never rounded or flushed on their own);
//   y = act(acc + bias).
// The step's rounding and flushing were measured on an AMD EPYC (family 26, Zen 5); Intel's manual
// only says "DAZ, FTZ, RNE". test/native/bf16.test.ts checks the instruction against the portable
// path on inputs that expose each choice, so a CPU that does otherwise fails it rather than
// silently giving other bits.
#pragma once
#include <cstdint>

#include "gemm.h"

namespace ctr {

// uint16 elements of the packed weights: 16-column panels (N rounded up to 16), each holding K
// rounded up to 2 in pairs of consecutive k per column (the vdpbf16ps operand order).
long bf16PackedSize(int K, int N);

// W [K, N] (row-major) → bf16, packed (bf16PackedSize elements).
void bf16PackWeights(const float* W, int K, int N, uint16_t* packed);

// X [M, K] → bf16 [M, K] with the rounding the layer applies to its input (the active path's).
void bf16RoundRows(const float* X, int M, int K, uint16_t* out);

// Y[M,N] = act(Σ bf16(X)·W + bias) as above. bias may be null.
void bf16LinearForward(const float* X, int M, int K, int N, const uint16_t* packed, const float* bias, float* Y,
                       Act act, float param);

// "avx512bf16" or "portable": the path bf16LinearForward takes.
const char* bf16KernelName();
// Forces "avx512bf16" / "portable", or "auto" (the ISA path when the CPU has AVX-512 BF16,
// unless CTRKIT_BF16_KERNEL=portable); false when the CPU lacks the path.
bool bf16ForceKernel(const char* name);

}  // namespace ctr
