// Single-precision GEMM with runtime CPU dispatch (AVX-512 / AVX2+FMA / portable).
#pragma once

#include <functional>
#include <string>

namespace ctr {

enum class Act { None = 0, Relu = 1, Sigmoid = 2, Tanh = 3, Smelu = 4 };

// Row-major C[M,N] = alpha * op(A) * op(B) + beta * C with leading dimensions lda, ldb, ldc.
// beta == 0 ignores C's previous contents. Parallel over output tiles on the ThreadPool; the
// K reduction order is fixed, so results do not depend on the thread count.
void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc);

// Fused dense layer: Y[M,N] = act(X[M,K] · W[K,N] + bias[N]) (bias may be null), applied in the
// GEMM epilogue while the tile is hot. param is SmeLU's beta; beta <= 0 degenerates to relu (its
// limit), in forward and backward alike.
// packedW (may be null) is W pre-packed by gemmPackB, packedFloats long: the GEMM then skips
// packing W and reads X in place (so Y must not overlap X), with the same bits; a pack made under
// another blocking (setGemmBlocking since), or shorter than its header says, is ignored.
void linearForward(const float* X, const float* W, const float* bias, float* Y, int M, int K, int N, Act act,
                   float param, const float* packedW = nullptr, long packedFloats = 0);

// Constant weights W[K,N] packed once into the GEMM's B panels for the blocking in use, for
// inference: at serving batch sizes (100 rows) packing W and X took a sixth of a dense layer's
// time. alloc(n) returns the n floats (a header included) to pack into: size and layout come
// from one blocking snapshot, whatever setGemmBlocking does meanwhile.
void gemmPackB(const float* W, int K, int N, const std::function<float*(long)>& alloc);

// Fused dense layer backward from the layer OUTPUT Y[M,N] and dY[M,N]: dZ = dY ⊙ act'(Y)
// (written to the scratch dZ[M,N]; with Act::None dY is used directly and dZ is untouched), then
// ACCUMULATES dX[M,K] += dZ·Wᵀ, dW[K,N] += Xᵀ·dZ, db[N] += column sums of dZ. dX, dW and db may
// be null. Column sums use a fixed row-chunk order, so they do not depend on the thread count.
// `overwrite` (bits 1 dX, 2 dW, 4 db) marks outputs whose contents are stale: those are SET, never
// read (a fresh gradient buffer needs no zero pass and no read), with the same bits as
// accumulating into zeros.
void linearBackward(const float* X, const float* W, const float* Y, const float* dY, float* dZ, float* dX, float* dW,
                    float* db, int M, int K, int N, Act act, float param, int overwrite = 0);

// DCN-v2 cross layer: out[M,D] = x0 ⊙ (A[M,K] · W[K,D] + b[D]) + x, the update applied in the
// GEMM epilogue while each tile is hot. z (may be null, e.g. at inference) receives A·W + b for
// backward. Same bits as linearForward followed by the elementwise mul and add.
// packedW as for linearForward (out and z must not overlap A).
void crossForward(const float* A, const float* W, const float* b, const float* x0, const float* x, float* out,
                  float* z, int M, int K, int D, const float* packedW = nullptr, long packedFloats = 0);

// Its backward from dOut: dZ = dOut ⊙ x0 (scratch [M,D], overwritten), and ACCUMULATES dx += dOut,
// dx0 += dOut ⊙ z, dA += dZ·Wᵀ, dW += Aᵀ·dZ, db += column sums of dZ (each may be null; dx and
// dx0 may alias, as may dx and dA). Same bits as the unfused ops' backward.
void crossBackward(const float* A, const float* W, const float* z, const float* x0, const float* dOut, float* dZ,
                   float* dA, float* dW, float* db, float* dx0, float* dx, int M, int K, int D);

// out[i] = dy[i] * act'(y[i]) with the derivative taken from the activation's output y.
void activationBackward(Act act, const float* y, const float* dy, float* out, long n, float param);

// The fused layers' activation in place over n floats, and dy ⊙ act'(y) from the output y
// (out may be dy), on the calling thread: for kernels that fuse a layer themselves.
void activationRows(float* y, long n, Act act, float param);
void activationGradRows(const float* y, const float* dy, float* out, long n, Act act, float param);

// Name of the kernel family chosen at runtime: "avx512", "avx2" or "portable".
const char* gemmKernelName();

// GEMM blocking: the micro-kernel and the cache blocks. Only kc changes results (it fixes where
// the K sum is split into blocks); the rest changes speed alone. Sizes in floats.
struct GemmBlocking {
  std::string kernel;  // "<isa>-<MR>x<NR>": avx512-6x64, avx512-14x32, avx2-6x16, avx2-4x24, portable-4x8
  int kc = 0;          // K block (a K is split into ceil(K / kc) near-equal blocks)
  int mc = 0;          // rows of A per task before the task grid is refined
  long packA = 0, packB = 0;  // caps on the packed A / B blocks
  std::string source;  // "rule", "table (<uarch>)", "tuned (<file>)", "CTRKIT_GEMM_BLOCKING" or "set"
};

// What cpuInfo() implies: the rule (KC x 256 B <= L2 / 4, MC x KC x 4 B <= L2 / 2, packed B <=
// max(4 MiB, the L3 per core), packed A twice that) with per-micro-architecture overrides from
// measurements (gemm.cc's TABLE).
GemmBlocking gemmDefaultBlocking();
// The blocking at startup: the default, then the tuned choice cached in gemmTuneFile() (unless
// CTRKIT_GEMM_TUNE=0), then CTRKIT_GEMM_BLOCKING (throws std::invalid_argument if malformed).
GemmBlocking gemmStartBlocking();
// The blocking in use (the startup one until setGemmBlocking).
GemmBlocking gemmBlocking();
// Where `npm run bench -- gemm-tune` caches its choice for this CPU (per vendor, family, model,
// stepping and L2 size): $XDG_CACHE_HOME or ~/.cache, /ctrkit/gemm-<signature>.json.
std::string gemmTuneFile();
// Replaces it (tests, tuning); throws std::invalid_argument for an unknown or unsupported
// kernel or sizes out of range. Safe while GEMMs run on other threads: each GEMM (and each
// gemmPackB) uses the blocking in use when it started, from start to end.
void setGemmBlocking(const GemmBlocking& b);

}  // namespace ctr
