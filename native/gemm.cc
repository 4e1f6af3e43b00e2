// Placeholder portable GEMM; replaced by the tuned kernel.
#include "gemm.h"

#include <cmath>

#include "threadpool.h"

namespace ctr {

static inline float applyAct(float v, Act act, float param) {
  switch (act) {
    case Act::Relu: return v > 0 ? v : 0;
    case Act::Sigmoid: return 1.0f / (1.0f + std::exp(-v));
    case Act::Tanh: return std::tanh(v);
    case Act::Smelu: return v <= -param ? 0.0f : (v >= param ? v : (v + param) * (v + param) / (4 * param));
    default: return v;
  }
}

void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc) {
  parallelFor(M, 16, [&](long i0, long i1) {
    for (long i = i0; i < i1; ++i) {
      for (int j = 0; j < N; ++j) {
        float s = 0;
        for (int k = 0; k < K; ++k) {
          float a = transA ? A[(long)k * lda + i] : A[i * lda + k];
          float b = transB ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
          s += a * b;
        }
        float* c = &C[i * ldc + j];
        *c = beta == 0 ? alpha * s : alpha * s + beta * *c;
      }
    }
  });
}

void linearForward(const float* X, const float* W, const float* bias, float* Y, int M, int K, int N, Act act,
                   float param) {
  sgemm(false, false, M, N, K, 1.0f, X, K, W, N, 0.0f, Y, N);
  for (long i = 0; i < (long)M; ++i)
    for (int j = 0; j < N; ++j) Y[i * N + j] = applyAct(Y[i * N + j] + (bias ? bias[j] : 0.0f), act, param);
}

const char* gemmKernelName() { return "portable"; }

}  // namespace ctr
