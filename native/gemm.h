// Single-precision GEMM with runtime CPU dispatch (AVX-512 / AVX2+FMA / portable).
#pragma once

namespace ctr {

enum class Act { None = 0, Relu = 1, Sigmoid = 2, Tanh = 3, Smelu = 4 };

// Row-major C[M,N] = alpha * op(A) * op(B) + beta * C with leading dimensions lda, ldb, ldc.
// beta == 0 ignores C's previous contents. Parallel over output tiles on the ThreadPool; the
// K reduction order is fixed, so results do not depend on the thread count.
void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc);

// Fused dense layer: Y[M,N] = act(X[M,K] · W[K,N] + bias[N]) (bias may be null), applied in the
// GEMM epilogue while the tile is hot.
void linearForward(const float* X, const float* W, const float* bias, float* Y, int M, int K, int N, Act act,
                   float param);

// Name of the kernel family chosen at runtime: "avx512", "avx2" or "portable".
const char* gemmKernelName();

}  // namespace ctr
