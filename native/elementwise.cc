// Elementwise kernels: unary functions and their backward, numpy-broadcast binary ops and
// their reducing backward, affine / axpy / axpby / fill. Elementwise work is split in fixed chunks;
// each element is computed independently, so results never depend on the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "fastmath.h"
#include "kernels.h"
#include "simd.h"
#include "threadpool.h"

namespace ctr {
namespace {

constexpr long kGrain = 32768;

// softplus(x) = max(x,0) + log1p(exp(-|x|)): no overflow for large |x|.
CTR_INLINE float softplusf(float x) { return std::max(x, 0.0f) + std::log1p(expApprox(-std::fabs(x))); }

// SmeLU(beta): 0 below -beta, quadratic (x+beta)^2/(4 beta) in between, identity above beta.
// beta <= 0 degenerates to ReLU.
CTR_INLINE float smeluf(float x, float beta) {
  if (x <= -beta) return 0.0f;
  if (x >= beta) return x;
  return (x + beta) * (x + beta) / (4.0f * beta);
}
CTR_INLINE float smeluGrad(float x, float beta) {
  if (x <= -beta) return 0.0f;
  if (x >= beta) return 1.0f;
  return (x + beta) / (2.0f * beta);
}

CTR_INLINE void unaryChunkBody(UnaryOp op, const float* x, float* out, long n, float param) {
  switch (op) {
    // x <= 0 rather than x > 0: NaN passes through (as in PyTorch) instead of becoming 0.
    case UnaryOp::Relu: for (long i = 0; i < n; ++i) out[i] = x[i] <= 0 ? 0.0f : x[i]; break;
    case UnaryOp::Sigmoid: for (long i = 0; i < n; ++i) out[i] = sigmoidApprox(x[i]); break;
    case UnaryOp::Tanh: for (long i = 0; i < n; ++i) out[i] = tanhApprox(x[i]); break;
    case UnaryOp::Softplus: for (long i = 0; i < n; ++i) out[i] = softplusf(x[i]); break;
    case UnaryOp::Smelu: for (long i = 0; i < n; ++i) out[i] = smeluf(x[i], param); break;
    case UnaryOp::Exp: for (long i = 0; i < n; ++i) out[i] = expApprox(x[i]); break;
    case UnaryOp::Log: for (long i = 0; i < n; ++i) out[i] = std::log(x[i]); break;
    case UnaryOp::Neg: for (long i = 0; i < n; ++i) out[i] = -x[i]; break;
    case UnaryOp::Abs: for (long i = 0; i < n; ++i) out[i] = std::fabs(x[i]); break;
    case UnaryOp::Sqrt: for (long i = 0; i < n; ++i) out[i] = std::sqrt(x[i]); break;
    case UnaryOp::Square: for (long i = 0; i < n; ++i) out[i] = x[i] * x[i]; break;
  }
}
CTR_MULTIVERSION(unaryChunk, (UnaryOp op, const float* x, float* out, long n, float param), (op, x, out, n, param))

CTR_INLINE void unaryBackwardChunkBody(UnaryOp op, const float* x, const float* y, const float* dy, float* dx, long n,
                                  float param) {
  switch (op) {
    case UnaryOp::Relu: for (long i = 0; i < n; ++i) dx[i] += x[i] > 0 ? dy[i] : 0.0f; break;
    case UnaryOp::Sigmoid: for (long i = 0; i < n; ++i) dx[i] += dy[i] * (y[i] * (1.0f - y[i])); break;
    case UnaryOp::Tanh: for (long i = 0; i < n; ++i) dx[i] += dy[i] * (1.0f - y[i] * y[i]); break;
    case UnaryOp::Softplus: for (long i = 0; i < n; ++i) dx[i] += dy[i] * sigmoidApprox(x[i]); break;
    case UnaryOp::Smelu: for (long i = 0; i < n; ++i) dx[i] += dy[i] * smeluGrad(x[i], param); break;
    case UnaryOp::Exp: for (long i = 0; i < n; ++i) dx[i] += dy[i] * y[i]; break;
    case UnaryOp::Log: for (long i = 0; i < n; ++i) dx[i] += dy[i] / x[i]; break;
    case UnaryOp::Neg: for (long i = 0; i < n; ++i) dx[i] -= dy[i]; break;
    case UnaryOp::Abs:
      for (long i = 0; i < n; ++i) dx[i] += x[i] > 0 ? dy[i] : (x[i] < 0 ? -dy[i] : 0.0f);
      break;
    case UnaryOp::Sqrt: for (long i = 0; i < n; ++i) dx[i] += dy[i] * 0.5f / y[i]; break;
    case UnaryOp::Square: for (long i = 0; i < n; ++i) dx[i] += dy[i] * 2.0f * x[i]; break;
  }
}
CTR_MULTIVERSION(unaryBackwardChunk,
                 (UnaryOp op, const float* x, const float* y, const float* dy, float* dx, long n, float param),
                 (op, x, y, dy, dx, n, param))

// ---------------------------------------------------------------- broadcasting

// Broadcast iteration space with unit dims dropped and mergeable neighbours collapsed; the
// innermost dim has operand strides 0 or 1.
struct Bcast {
  int nd = 0;
  long shape[kMaxDims];
  long sa[kMaxDims];
  long sb[kMaxDims];
  long rows = 1;  // product of all dims but the innermost
  long inner = 1;
};

Bcast makeBcast(const long* aShape, const long* bShape, const long* outShape, int nd) {
  long fa[kMaxDims], fb[kMaxDims];
  long ra = 1, rb = 1;
  for (int i = nd - 1; i >= 0; --i) {
    fa[i] = aShape[i] == 1 ? 0 : ra;
    fb[i] = bShape[i] == 1 ? 0 : rb;
    ra *= aShape[i];
    rb *= bShape[i];
  }
  Bcast c;
  for (int i = 0; i < nd; ++i) {
    if (outShape[i] == 1) continue;
    int k = c.nd - 1;
    if (k >= 0 && c.sa[k] == fa[i] * outShape[i] && c.sb[k] == fb[i] * outShape[i]) {
      c.shape[k] *= outShape[i];
      c.sa[k] = fa[i];
      c.sb[k] = fb[i];
    } else {
      c.shape[c.nd] = outShape[i];
      c.sa[c.nd] = fa[i];
      c.sb[c.nd] = fb[i];
      ++c.nd;
    }
  }
  if (c.nd == 0) {  // every dim is 1: a single element
    c.shape[0] = 1;
    c.sa[0] = c.sb[0] = 0;
    c.nd = 1;
  }
  c.inner = c.shape[c.nd - 1];
  for (int i = 0; i < c.nd - 1; ++i) c.rows *= c.shape[i];
  return c;
}

// Walks the outer (row) index space of a Bcast from a starting row, tracking operand offsets.
struct RowCursor {
  const Bcast& c;
  long idx[kMaxDims] = {};
  long oa = 0, ob = 0;
  RowCursor(const Bcast& bc, long row) : c(bc) {
    for (int i = c.nd - 2; i >= 0; --i) {
      idx[i] = row % c.shape[i];
      row /= c.shape[i];
      oa += idx[i] * c.sa[i];
      ob += idx[i] * c.sb[i];
    }
  }
  void next() {
    for (int i = c.nd - 2; i >= 0; --i) {
      oa += c.sa[i];
      ob += c.sb[i];
      if (++idx[i] < c.shape[i]) return;
      oa -= c.sa[i] * c.shape[i];
      ob -= c.sb[i] * c.shape[i];
      idx[i] = 0;
    }
  }
};

template <BinaryOp OP>
CTR_INLINE float apply(float a, float b) {
  if (OP == BinaryOp::Add) return a + b;
  if (OP == BinaryOp::Sub) return a - b;
  if (OP == BinaryOp::Mul) return a * b;
  return a / b;
}

// One innermost run, specialised on operand strides so that every case vectorises.
template <BinaryOp OP>
CTR_INLINE void binaryRunBody(const float* a, long sa, const float* b, long sb, float* out, long n) {
  if (sa == 1 && sb == 1) {
    for (long k = 0; k < n; ++k) out[k] = apply<OP>(a[k], b[k]);
  } else if (sa == 1) {
    float bv = b[0];
    for (long k = 0; k < n; ++k) out[k] = apply<OP>(a[k], bv);
  } else if (sb == 1) {
    float av = a[0];
    for (long k = 0; k < n; ++k) out[k] = apply<OP>(av, b[k]);
  } else {
    float v = apply<OP>(a[0], b[0]);
    for (long k = 0; k < n; ++k) out[k] = v;
  }
}

template <BinaryOp OP>
CTR_INLINE void binaryRowsBody(const Bcast* c, const float* a, const float* b, float* out, long r0, long r1) {
  RowCursor cur(*c, r0);
  long L = c->inner;
  for (long r = r0; r < r1; ++r, cur.next())
    binaryRunBody<OP>(a + cur.oa, c->sa[c->nd - 1], b + cur.ob, c->sb[c->nd - 1], out + r * L, L);
}
CTR_INLINE void binaryRowsAnyBody(BinaryOp op, const Bcast* c, const float* a, const float* b, float* out, long r0,
                                  long r1) {
  switch (op) {
    case BinaryOp::Add: binaryRowsBody<BinaryOp::Add>(c, a, b, out, r0, r1); break;
    case BinaryOp::Sub: binaryRowsBody<BinaryOp::Sub>(c, a, b, out, r0, r1); break;
    case BinaryOp::Mul: binaryRowsBody<BinaryOp::Mul>(c, a, b, out, r0, r1); break;
    case BinaryOp::Div: binaryRowsBody<BinaryOp::Div>(c, a, b, out, r0, r1); break;
  }
}
CTR_MULTIVERSION(binaryRowsAny,
                 (BinaryOp op, const Bcast* c, const float* a, const float* b, float* out, long r0, long r1),
                 (op, c, a, b, out, r0, r1))

// Gradient term of one output element for operand a (A) or b, in float64 like the reference
// (products of two floats are then exact).
template <BinaryOp OP, bool A>
CTR_INLINE double gradTerm(float g, float a, float b) {
  if (OP == BinaryOp::Add) return g;
  if (OP == BinaryOp::Sub) return A ? (double)g : -(double)g;
  if (OP == BinaryOp::Mul) return A ? (double)g * b : (double)g * a;
  return A ? (double)g / b : -((double)g * a) / ((double)b * b);
}

// Output rows [r0, r1): when DIRECT the operand has the output's shape and grad[k] takes its
// own term; otherwise terms are summed into the float64 array acc, indexed like the operand.
template <BinaryOp OP, bool A, bool DIRECT>
void gradRows(const Bcast& c, const float* a, const float* b, const float* dOut, float* grad, double* acc, long r0,
              long r1) {
  const long L = c.inner, sa = c.sa[c.nd - 1], sb = c.sb[c.nd - 1], s = A ? sa : sb;
  RowCursor cur(c, r0);
  for (long r = r0; r < r1; ++r, cur.next()) {
    const float* g = dOut + r * L;
    const float* ap = a + cur.oa;
    const float* bp = b + cur.ob;
    if (DIRECT) {
      float* dst = grad + r * L;
      for (long k = 0; k < L; ++k) dst[k] = (float)((double)dst[k] + gradTerm<OP, A>(g[k], ap[k * sa], bp[k * sb]));
    } else {
      double* dst = acc + (A ? cur.oa : cur.ob);
      for (long k = 0; k < L; ++k) dst[k * s] += gradTerm<OP, A>(g[k], ap[k * sa], bp[k * sb]);
    }
  }
}

template <bool A, bool DIRECT>
void gradRowsAny(BinaryOp op, const Bcast& c, const float* a, const float* b, const float* dOut, float* grad,
                 double* acc, long r0, long r1) {
  switch (op) {
    case BinaryOp::Add: gradRows<BinaryOp::Add, A, DIRECT>(c, a, b, dOut, grad, acc, r0, r1); break;
    case BinaryOp::Sub: gradRows<BinaryOp::Sub, A, DIRECT>(c, a, b, dOut, grad, acc, r0, r1); break;
    case BinaryOp::Mul: gradRows<BinaryOp::Mul, A, DIRECT>(c, a, b, dOut, grad, acc, r0, r1); break;
    case BinaryOp::Div: gradRows<BinaryOp::Div, A, DIRECT>(c, a, b, dOut, grad, acc, r0, r1); break;
  }
}

// Accumulates the gradient of one operand. With the output's shape, each output element has
// its own slot: parallel, direct. Otherwise output rows are split into fixed chunks (count
// from the sizes only) summing into per-chunk float64 partials, combined in chunk order and
// then added to the gradient: parallel, and independent of the thread count.
template <bool A>
void binaryGrad(BinaryOp op, const Bcast& c, const float* a, const float* b, const float* dOut, float* grad,
                long gradSize, long outSize) {
  const long L = c.inner, rows = c.rows;
  if (gradSize == outSize) {
    parallelFor(rows, std::max(1L, kGrain / L),
                [&](long r0, long r1) { gradRowsAny<A, true>(op, c, a, b, dOut, grad, nullptr, r0, r1); });
    return;
  }
  long chunks = std::min((rows * L + kGrain - 1) / kGrain, 64L);
  chunks = std::max(1L, std::min(chunks, (1L << 22) / gradSize));  // partials ≤ 32 MB
  long chunkRows = (rows + chunks - 1) / chunks;
  chunks = (rows + chunkRows - 1) / chunkRows;
  std::vector<double> part((size_t)(chunks * gradSize), 0.0);
  parallelFor(chunks, 1, [&](long c0, long c1) {
    for (long ch = c0; ch < c1; ++ch)
      gradRowsAny<A, false>(op, c, a, b, dOut, nullptr, part.data() + ch * gradSize, ch * chunkRows,
                            std::min(rows, (ch + 1) * chunkRows));
  });
  for (long i = 0; i < gradSize; ++i) {
    double t = 0;
    for (long ch = 0; ch < chunks; ++ch) t += part[(size_t)(ch * gradSize + i)];
    grad[i] = (float)((double)grad[i] + t);
  }
}

long product(const long* shape, int nd) {
  long p = 1;
  for (int i = 0; i < nd; ++i) p *= shape[i];
  return p;
}

CTR_INLINE void affineChunkBody(const float* x, float* out, long n, float a, float b) {
  for (long i = 0; i < n; ++i) out[i] = a * x[i] + b;
}
CTR_MULTIVERSION(affineChunk, (const float* x, float* out, long n, float a, float b), (x, out, n, a, b))

CTR_INLINE void axpyChunkBody(long n, float a, const float* x, float* y) {
  for (long i = 0; i < n; ++i) y[i] += a * x[i];
}
CTR_MULTIVERSION(axpyChunk, (long n, float a, const float* x, float* y), (n, a, x, y))

CTR_INLINE void axpbyChunkBody(long n, float a, const float* x, float b, float* y) {
  for (long i = 0; i < n; ++i) y[i] = a * x[i] + b * y[i];
}
CTR_MULTIVERSION(axpbyChunk, (long n, float a, const float* x, float b, float* y), (n, a, x, b, y))

CTR_INLINE void combine2Body(float* x0, const float* x1, long n, double c0, double c1) {
  for (long i = 0; i < n; ++i) x0[i] = (float)(c0 * (double)x0[i] + c1 * (double)x1[i]);
}
CTR_MULTIVERSION(combine2, (float* x0, const float* x1, long n, double c0, double c1), (x0, x1, n, c0, c1))

// Elements [i0, i1) of run r's combination (all in one run).
void combineSpan(float* const* xs, long m, long i0, long i1, const double* c) {
  if (m == 1) {
    for (long i = i0; i < i1; ++i) xs[0][i] = (float)(c[0] * (double)xs[0][i]);
    return;
  }
  if (m == 2) return combine2(xs[0] + i0, xs[1] + i0, i1 - i0, c[0], c[1]);
  for (long i = i0; i < i1; ++i) {
    double v = c[0] * (double)xs[0][i];
    for (long a = 1; a < m; ++a) v += c[a] * (double)xs[a][i];
    xs[0][i] = (float)v;
  }
}

}  // namespace

void combineRuns(float* const* xs, long m, long n, long run, const double* coef) {
  if (m == 0) return;
  parallelFor(n, kGrain, [&](long i0, long i1) {
    for (long i = i0; i < i1;) {
      long r = i / run, e = std::min(i1, (r + 1) * run);
      combineSpan(xs, m, i, e, coef + r * m);
      i = e;
    }
  });
}

void unary(UnaryOp op, const float* x, float* out, long n, float param) {
  parallelFor(n, kGrain, [&](long i0, long i1) { unaryChunk(op, x + i0, out + i0, i1 - i0, param); });
}

void unaryBackward(UnaryOp op, const float* x, const float* y, const float* dy, float* dx, long n, float param) {
  parallelFor(n, kGrain,
              [&](long i0, long i1) { unaryBackwardChunk(op, x + i0, y + i0, dy + i0, dx + i0, i1 - i0, param); });
}

void binary(BinaryOp op, const float* a, const long* aShape, const float* b, const long* bShape, float* out,
            const long* outShape, int nd) {
  if (product(outShape, nd) == 0) return;
  Bcast c = makeBcast(aShape, bShape, outShape, nd);
  parallelFor(c.rows, std::max(1L, kGrain / c.inner),
              [&](long r0, long r1) { binaryRowsAny(op, &c, a, b, out, r0, r1); });
}

void binaryBackward(BinaryOp op, const float* a, const long* aShape, const float* b, const long* bShape,
                    const float* dOut, const long* outShape, int nd, float* da, float* db) {
  long outSize = product(outShape, nd);
  if (outSize == 0) return;
  Bcast c = makeBcast(aShape, bShape, outShape, nd);
  if (da) binaryGrad<true>(op, c, a, b, dOut, da, product(aShape, nd), outSize);
  if (db) binaryGrad<false>(op, c, a, b, dOut, db, product(bShape, nd), outSize);
}

void affine(const float* x, float* out, long n, float a, float b) {
  parallelFor(n, kGrain, [&](long i0, long i1) { affineChunk(x + i0, out + i0, i1 - i0, a, b); });
}

void axpy(long n, float a, const float* x, float* y) {
  parallelFor(n, kGrain, [&](long i0, long i1) { axpyChunk(i1 - i0, a, x + i0, y + i0); });
}

void axpby(long n, float a, const float* x, float b, float* y) {
  parallelFor(n, kGrain, [&](long i0, long i1) { axpbyChunk(i1 - i0, a, x + i0, b, y + i0); });
}

void fill(float* x, long n, float value) {
  parallelFor(n, kGrain, [&](long i0, long i1) { std::fill(x + i0, x + i1, value); });
}

}  // namespace ctr
