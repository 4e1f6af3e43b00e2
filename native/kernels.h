// C++ kernels behind the `Kernels` interface (src/backend/kernels.ts), GEMM excluded.
// Pointers are trusted: the bindings have already checked every buffer length against the
// sizes. Data-dependent checks (ids, offsets contents, NaN in losses) throw KernelError from the
// calling thread, never from a pool worker.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ctr {

struct KernelError : std::runtime_error {
  KernelError(const char* kernel, const std::string& msg) : std::runtime_error(std::string(kernel) + ": " + msg) {}
};

// A number as JavaScript would print it in the common cases (NaN, Infinity, integers, short
// decimals), so native and reference error messages read the same.
std::string fmtNum(double v);

// ---------------------------------------------------------------- elementwise
enum class UnaryOp { Relu, Sigmoid, Tanh, Softplus, Smelu, Exp, Log, Neg, Abs, Sqrt, Square };
enum class BinaryOp { Add, Sub, Mul, Div };
constexpr int kMaxDims = 8;

void unary(UnaryOp op, const float* x, float* out, long n, float param);
void unaryBackward(UnaryOp op, const float* x, const float* y, const float* dy, float* dx, long n, float param);
// Shapes are already right-aligned to `nd` dims (leading 1s added) and validated as broadcastable.
void binary(BinaryOp op, const float* a, const long* aShape, const float* b, const long* bShape, float* out,
            const long* outShape, int nd);
void binaryBackward(BinaryOp op, const float* a, const long* aShape, const float* b, const long* bShape,
                    const float* dOut, const long* outShape, int nd, float* da, float* db);
void affine(const float* x, float* out, long n, float a, float b);
void axpy(long n, float a, const float* x, float* y);
void axpby(long n, float a, const float* x, float b, float* y);
void fill(float* x, long n, float value);

// ---------------------------------------------------------------- reductions / layout
void reduceSum(const float* x, long outer, long len, long inner, float* out, float scale);
void reduceSumBackward(const float* dOut, long outer, long len, long inner, float* dx, float scale);
// rows, cols >= 1; src and dst may overlap (then copied serially in element order).
void copy2d(const float* src, long srcStride, float* dst, long dstStride, long rows, long cols, bool accumulate);
double sumSquares(const float* x, long n);
double dot(const float* x, const float* y, long n);
// For each run r of `run` floats (the last may be shorter; run >= 1), the Gram matrix of the m
// vectors' run r: out[r·m·m + a·m + b] += Σ xs[a][i]·xs[b][i] over the run. Each entry is dot()'s
// value over that run bit for bit, from one sweep over the m vectors of n floats.
void gram(const float* const* xs, long m, long n, long run, double* out);
// xs[0][i] = Σₐ coef[r·m + a]·xs[a][i], r = i / run: in double, a in order, rounded once.
void combineRuns(float* const* xs, long m, long n, long run, const double* coef);

// ---------------------------------------------------------------- softmax / segments / pairs
void softmax(const float* x, long outer, long len, long inner, float* out, bool log);
void softmaxBackward(const float* y, const float* dy, long outer, long len, long inner, float* dx, bool log);
// offsets: nseg+1 validated entries (0 .. rows, non-decreasing).
void segmentSoftmax(const float* x, long d, const int32_t* offsets, long nseg, float* out, bool log);
void segmentSoftmaxBackward(const float* y, const float* dy, long d, const int32_t* offsets, long nseg, float* dx,
                            bool log);
void segmentSum(const float* x, long d, const int32_t* offsets, long nseg, float* out, bool mean);
void segmentSumBackward(const float* dOut, long d, const int32_t* offsets, long nseg, float* dx, bool mean);
// Pair indices are checked against nz here (throws naming the pair).
void pairDiff(const float* z, long nz, const int32_t* pi, const int32_t* pj, float* out, long nPairs);
void pairDiffBackward(const float* dOut, const int32_t* pi, const int32_t* pj, float* dz, long nz, long nPairs);

// ---------------------------------------------------------------- losses
double bceWithLogits(const float* z, const float* y, const float* w, long n, float* dz);

// ---------------------------------------------------------------- normalisation / dropout
void layerNorm(const float* x, long rows, long d, const float* gamma, const float* beta, float eps, float* out,
               float* mean, float* rstd);
void layerNormBackward(const float* x, const float* dy, long rows, long d, const float* gamma, const float* mean,
                       const float* rstd, float* dx, float* dgamma, float* dbeta);
void batchNormTrain(const float* x, long rows, long d, const float* gamma, const float* beta, float eps,
                    float momentum, float* runMean, float* runVar, float* out, float* mean, float* rstd);
void batchNormBackward(const float* x, const float* dy, long rows, long d, const float* gamma, const float* mean,
                       const float* rstd, float* dx, float* dgamma, float* dbeta);
void dropout(const float* x, long n, double p, uint32_t seed, float* mask, float* out);

// ---------------------------------------------------------------- sparse embeddings
void embeddingLookup(const float* table, long numRows, long dim, const int32_t* ids, long n, float* out);
// offsets: nbags+1 validated entries ending at the number of ids.
void embeddingBag(const float* table, long numRows, long dim, const int32_t* ids, const int32_t* offsets,
                  long nbags, const float* wts, bool mean, float* out);
long embeddingBackward(const int32_t* ids, long n, const float* dOut, long dim, long numRows,
                       const int32_t* offsets, long nbags, const float* wts, bool mean, int32_t* uniqueRows,
                       float* rowGrads, long capacity);  // capacity: rows uniqueRows/rowGrads can hold

// ---------------------------------------------------------------- optimisers
void sgdStep(float* p, const float* g, float* mom, long n, float lr, float momentum, float dampening, bool nesterov,
             float weightDecay, bool firstStep);
void adagradStep(float* p, const float* g, float* acc, long n, float lr, float eps, float weightDecay);
void adamStep(float* p, const float* g, float* m, float* v, long n, float lr, float beta1, float beta2, float eps,
              float weightDecay, bool decoupled, double step);
// Row indices are checked against numRows here (throws naming the row and its position).
void sparseSgd(float* table, long numRows, long dim, const int32_t* rows, const float* rowGrads, long U, float lr);
void sparseAdagrad(float* table, long numRows, long dim, float* acc, const int32_t* rows, const float* rowGrads,
                   long U, float lr, float eps, bool rowwise);
void sparseAdam(float* table, long numRows, long dim, float* m, float* v, const int32_t* rows,
                const float* rowGrads, long U, float lr, float beta1, float beta2, float eps, double step);

}  // namespace ctr
