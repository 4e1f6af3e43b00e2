// OpenBLAS loaded at runtime (dlopen), only for benchmarking ctrkit's GEMM against it: the
// addon has no link-time BLAS dependency and works where the library is absent.
#pragma once
#include <dlfcn.h>

namespace ctr {

struct Blas {
  // cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
  void (*sgemm)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int) =
      nullptr;
  void (*setThreads)(int) = nullptr;
  bool ok() const { return sgemm != nullptr; }
};

// Loaded once; ok() is false when libopenblas.so.0 or its symbols are missing.
inline const Blas& blas() {
  static const Blas b = [] {
    Blas r;
    void* h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) return r;
    r.sgemm = reinterpret_cast<decltype(r.sgemm)>(dlsym(h, "cblas_sgemm"));
    r.setThreads = reinterpret_cast<decltype(r.setThreads)>(dlsym(h, "openblas_set_num_threads"));
    if (!r.setThreads) r.sgemm = nullptr;
    return r;
  }();
  return b;
}

// Row-major C = alpha * op(A) * op(B) + beta * C with packed leading dimensions.
inline void blasGemm(const Blas& b, bool ta, bool tb, int M, int N, int K, float alpha, const float* A,
                     const float* B, float beta, float* C) {
  constexpr int RowMajor = 101, NoTrans = 111, Trans = 112;
  b.sgemm(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, M, N, K, alpha, A, ta ? M : K, B, tb ? K : N, beta,
          C, N);
}

}  // namespace ctr
