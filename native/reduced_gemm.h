// The loop structure of the reduced-precision inference layers (int8_gemm.cc, bf16_gemm.cc): the
// packed weight layout, the fixed row blocking that makes results independent of the thread
// count, the register tiles, the epilogue (bias, activation) and the switch between the ISA path
// and the portable one. A layer is a policy type that supplies only what is its own: element
// types, how an input row is prepared (rounded or quantised), the dot-product step (portable and
// ISA) and what turns an accumulator into a float before the bias:
//
//   Elements<AType, BType, Acc, KG> as a base: prepared input, packed weight and accumulator
//                                 elements, and the consecutive k per column in one 32-bit lane
//   struct Weights;               the packed weights (member `packed`) and any per-column data
//   struct Row;                   what preparing a row yields for its epilogue (quantisation scale…)
//   static KernelSwitch& kernel();
//   static Row prepareRowPortable(const float* x, int K, AType* out, int ld);
//   struct Lanes;  static Lanes lanes(const AType* a);        // one row's lane group, loaded once
//   static Acc step(Acc c, const Lanes& a, const BType* b);  // that group against one column's
//   static float dequant(const Weights&, const Row&, Acc acc, int j);
//   x86-64, compiled for CTR_REDUCED_ISA_TARGET (declare them CTR_REDUCED_ISA):
//   using VAcc; struct VRow;      accumulator vector, per-row epilogue constants
//   static Row prepareRowIsa(const float* x, int K, AType* out, int ld);
//   static VAcc vzero();  static VAcc vdot(VAcc acc, __m512i a, __m512i b);  static void vstore(Acc*, VAcc);
//   static VRow vrow(const Row&);  static __m512 vdequant(const Weights&, const VRow&, const Acc* acc, int j, __mmask16 m);
//
// GCC compiles a template for the target of its definition, not of its instantiation, so a layer
// defines CTR_REDUCED_ISA_TARGET (its ISA path's target string) before including this header, and
// the templates sit in an unnamed namespace: each layer's file gets its own copy for its own ISA.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "gemm.h"
#include "kernels.h"
#include "simd.h"
#include "threadpool.h"

#if defined(__x86_64__)
#ifndef CTR_REDUCED_ISA_TARGET
#error "define CTR_REDUCED_ISA_TARGET (the ISA path's target attribute string) before including reduced_gemm.h"
#endif
#define CTR_REDUCED_ISA __attribute__((target(CTR_REDUCED_ISA_TARGET)))
#endif

namespace ctr {
namespace reduced {
namespace {

constexpr int PANEL = 16;      // output columns per packed panel (one zmm of 32-bit lanes)
constexpr int MR = 6;          // rows per register tile
constexpr int NV = 4;          // panels per register tile: 6 x 4 accumulators + 4 B + 1 broadcast
constexpr int ROW_BLOCK = 48;  // rows per task; fixed, so tasks never depend on the thread count

inline int panels(int N) { return (N + PANEL - 1) / PANEL; }
inline unsigned short tailMask(int cnt) { return cnt >= 16 ? (unsigned short)0xFFFF : (unsigned short)((1u << cnt) - 1); }

// K rounded up to whole lane groups of KG.
template <int KG>
inline int padK(int K) { return (K + KG - 1) / KG * KG; }

// Elements of the packed layout: 16-column panels (N rounded up to 16), each holding K rounded up
// to KG in groups of KG consecutive k per column (the dot-product instructions' operand order).
template <int KG>
inline long packedSize(int K, int N) { return (long)padK<KG>(K) * panels(N) * PANEL; }

// Packs W [K, N] (row-major) as elem(W[k, j]) into `packed` (packedSize<KG> elements).
template <int KG, class T, class S, class F>
void packWeights(const S* W, int K, int N, T* packed, F elem) {
  const int Kp = padK<KG>(K);
  std::memset(packed, 0, (size_t)packedSize<KG>(K, N) * sizeof(T));
  for (long k = 0; k < K; ++k)
    for (int j = 0; j < N; ++j)
      packed[(long)(j / PANEL) * Kp * PANEL + (k / KG) * KG * PANEL + (j % PANEL) * KG + k % KG] = elem(W[k * N + j]);
}

// Activation of a finished output row segment. Relu is inline in the epilogues; the others use
// the elementwise kernels (the same call in every path).
inline void applyActivation(float* y, int n, Act act, float param) {
  switch (act) {
    case Act::Sigmoid: unary(UnaryOp::Sigmoid, y, y, n, param); break;
    case Act::Tanh: unary(UnaryOp::Tanh, y, y, n, param); break;
    case Act::Smelu: unary(UnaryOp::Smelu, y, y, n, param); break;
    default: break;
  }
}

// AVX-512 F/BW/VL/DQ plus `feature` (a __builtin_cpu_supports name, which must be a literal).
#if defined(__x86_64__)
#define CTR_CPU_HAS_AVX512_WITH(feature)                                                              \
  (__builtin_cpu_init(), __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && \
                             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&   \
                             __builtin_cpu_supports(feature))
#else
#define CTR_CPU_HAS_AVX512_WITH(feature) false
#endif

// block(t, i0, i1) for each ROW_BLOCK of [0, M), on the pool when there is more than one.
template <class F>
void forRowBlocks(int M, F&& block) {
  auto run = [&](int t) { block(t, t * ROW_BLOCK, std::min(M, (t + 1) * ROW_BLOCK)); };
  int tasks = (M + ROW_BLOCK - 1) / ROW_BLOCK;
  if (tasks == 1)
    run(0);
  else
    ThreadPool::instance().run(tasks, run);
}

// The path a layer takes: the ISA path (`fast`) when the CPU has it, unless the environment
// variable says "portable"; tests force either one to compare them.
class KernelSwitch {
 public:
  KernelSwitch(const char* env, const char* fast, bool (*cpuHas)()) : env_(env), fast_(fast), cpuHas_(cpuHas), on_(autoChoice()) {}
  bool fast() const { return on_.load(); }
  const char* name() const { return on_.load() ? fast_ : "portable"; }
  // "auto", "portable" or the fast path's name; false (and no change) when the CPU lacks it.
  bool force(const std::string& n) {
    if (n == "auto") on_.store(autoChoice());
    else if (n == "portable") on_.store(false);
    else if (n == fast_ && cpuHas_()) on_.store(true);
    else return false;
    return true;
  }

 private:
  bool autoChoice() const {
    const char* v = std::getenv(env_);
    return !(v && std::string(v) == "portable") && cpuHas_();
  }
  const char* env_;
  const char* fast_;
  bool (*cpuHas_)();
  std::atomic<bool> on_;
};

// A policy's element types and lane group (see the top of this file).
template <class A, class B, class C, int kg>
struct Elements {
  using AType = A;
  using BType = B;
  using Acc = C;
  static constexpr int KG = kg;
};

// One call of a layer: Y[M, N] = act(dequant(Σ prepared(X)·W) + bias); bias may be null.
template <class P>
struct Problem {
  const float* X;
  int M, K, N;
  typename P::Weights w;
  const float* bias;
  float* Y;
  Act act;
  float param;
};

// A task's prepared rows and their epilogue data, and the portable path's accumulator tile;
// per thread, reused across calls.
template <class P>
struct Scratch {
  std::vector<typename P::AType> a;
  std::vector<typename P::Row> rows;
  std::vector<typename P::Acc> acc;
};

// y = relu(v) as vmaxps(0, v): NaN passes through, −0 stays −0, in both paths.
inline float reluLikeMaxps(float v) { return 0.0f > v ? 0.0f : v; }

// The portable path: the policy's step per lane, compiled per ISA level for speed (each step is
// specified exactly, so that never changes a result).
template <class P>
struct PortablePath {
  using A = typename P::AType;
  using B = typename P::BType;
  using Acc = typename P::Acc;

  // Tile rows [0, mr) x panels [0, nv) into acc [mr][nv*PANEL].
  CTR_INLINE void tileBody(const A* a, long lda, int Kp, const B* b0, long panelStride, int mr, int nv, Acc* acc) {
    const int w = nv * PANEL;
    std::fill(acc, acc + mr * w, Acc(0));
    for (int g = 0; g < Kp / P::KG; ++g)
      for (int v = 0; v < nv; ++v) {
        const B* b = b0 + v * panelStride + (long)g * P::KG * PANEL;
        for (int r = 0; r < mr; ++r) {
          // Loaded before the loop: a uint8 A may alias the stores to c, which would keep GCC
          // from hoisting the loads itself.
          const typename P::Lanes ar = P::lanes(a + r * lda + P::KG * g);
          Acc* c = acc + r * w + v * PANEL;
          for (int j = 0; j < PANEL; ++j) c[j] = P::step(c[j], ar, b + P::KG * j);
        }
      }
  }
  CTR_MULTIVERSION(tile, (const A* a, long lda, int Kp, const B* b0, long panelStride, int mr, int nv, Acc* acc),
                   (a, lda, Kp, b0, panelStride, mr, nv, acc))

  static typename P::Row prepareRow(const float* x, int K, A* out, int ld) { return P::prepareRowPortable(x, K, out, ld); }

  static void tiles(const Problem<P>& Pr, int mr, int nv, const A* a, int Kp, const B* b, long panelStride, int i0, int j0,
                    const typename P::Row* rows, Scratch<P>& s) {
    tile(a, Kp, Kp, b, panelStride, mr, nv, s.acc.data());
    const int w = nv * PANEL, cols = std::min(w, Pr.N - j0);
    for (int r = 0; r < mr; ++r) {
      float* y = Pr.Y + (long)(i0 + r) * Pr.N + j0;
      for (int j = 0; j < cols; ++j) {
        float v = P::dequant(Pr.w, rows[r], s.acc[r * w + j], j0 + j) + (Pr.bias ? Pr.bias[j0 + j] : 0.0f);
        y[j] = Pr.act == Act::Relu ? reluLikeMaxps(v) : v;
      }
      applyActivation(y, cols, Pr.act, Pr.param);
    }
  }
};

// Prepares the block's rows [i0, i1), then runs Path's tiles over it: column groups outside, row
// tiles inside, so that a group's B panels stay in L1/L2 while every row tile streams past them.
template <class P, class Path>
CTR_INLINE void block(const Problem<P>& Pr, int i0, int i1, Scratch<P>& s) {
  const int Kp = padK<P::KG>(Pr.K), np = panels(Pr.N);
  const long ps = (long)Kp * PANEL;
  for (int i = i0; i < i1; ++i) s.rows[i - i0] = Path::prepareRow(Pr.X + (long)i * Pr.K, Pr.K, s.a.data() + (long)(i - i0) * Kp, Kp);
  for (int p0 = 0; p0 < np; p0 += NV) {
    int nv = std::min(NV, np - p0);
    for (int r0 = i0; r0 < i1; r0 += MR)
      Path::tiles(Pr, std::min(MR, i1 - r0), nv, s.a.data() + (long)(r0 - i0) * Kp, Kp, Pr.w.packed + p0 * ps, ps, r0,
                  p0 * PANEL, &s.rows[r0 - i0], s);
  }
}

#if defined(__x86_64__)
template <class P>
struct IsaPath {
  using A = typename P::AType;
  using B = typename P::BType;
  using Acc = typename P::Acc;
  using VAcc = typename P::VAcc;

  // Register tile: rows [0, MRt) x NVt panels; the dot-product instruction takes one broadcast
  // lane group of A (32 bits) against a lane group per column of B.
  template <int MRt, int NVt>
  CTR_REDUCED_ISA static void tile(const Problem<P>& Pr, const A* a, long lda, int Kp, const B* b0, long panelStride, int i0,
                                   int j0, const typename P::Row* rows) {
    // Fully unrolled so that GCC keeps the accumulators in registers (it spills them otherwise).
    VAcc acc[MRt][NVt];
#pragma GCC unroll 8
    for (int r = 0; r < MRt; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NVt; ++v) acc[r][v] = P::vzero();
    for (int g = 0; g < Kp / P::KG; ++g) {
      __m512i b[NVt];
#pragma GCC unroll 4
      for (int v = 0; v < NVt; ++v) b[v] = _mm512_loadu_si512(b0 + v * panelStride + (long)g * P::KG * PANEL);
#pragma GCC unroll 8
      for (int r = 0; r < MRt; ++r) {
        int32_t lane;
        std::memcpy(&lane, a + r * lda + P::KG * g, 4);
        __m512i av = _mm512_set1_epi32(lane);
#pragma GCC unroll 4
        for (int v = 0; v < NVt; ++v) acc[r][v] = P::vdot(acc[r][v], av, b[v]);
      }
    }
    // The epilogue indexes the tile at run time (column tails); reading it from an explicit copy
    // keeps that indexing from pinning the accumulators to memory inside the loop above.
    alignas(64) Acc t[MRt][NVt * PANEL];
#pragma GCC unroll 8
    for (int r = 0; r < MRt; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NVt; ++v) P::vstore(&t[r][v * PANEL], acc[r][v]);
    const __m512 zero = _mm512_setzero_ps();
    const int rowCols = std::min(NVt * PANEL, Pr.N - j0);
    for (int r = 0; r < MRt; ++r) {
      float* y = Pr.Y + (long)(i0 + r) * Pr.N + j0;
      const typename P::VRow rv = P::vrow(rows[r]);
      for (int c = 0; c < rowCols; c += PANEL) {
        __mmask16 m = tailMask(rowCols - c);
        int j = j0 + c;
        __m512 o = P::vdequant(Pr.w, rv, &t[r][c], j, m);
        o = _mm512_add_ps(o, Pr.bias ? _mm512_maskz_loadu_ps(m, Pr.bias + j) : zero);
        if (Pr.act == Act::Relu) o = _mm512_max_ps(zero, o);
        _mm512_mask_storeu_ps(y + c, m, o);
      }
      applyActivation(y, rowCols, Pr.act, Pr.param);
    }
  }

  template <int NVt>
  CTR_REDUCED_ISA static void tileRows(int mr, const Problem<P>& Pr, const A* a, long lda, int Kp, const B* b, long ps, int i0,
                                       int j0, const typename P::Row* rows) {
    static_assert(MR == 6, "one case per tile height");
    switch (mr) {
      case 6: return tile<6, NVt>(Pr, a, lda, Kp, b, ps, i0, j0, rows);
      case 5: return tile<5, NVt>(Pr, a, lda, Kp, b, ps, i0, j0, rows);
      case 4: return tile<4, NVt>(Pr, a, lda, Kp, b, ps, i0, j0, rows);
      case 3: return tile<3, NVt>(Pr, a, lda, Kp, b, ps, i0, j0, rows);
      case 2: return tile<2, NVt>(Pr, a, lda, Kp, b, ps, i0, j0, rows);
      default: return tile<1, NVt>(Pr, a, lda, Kp, b, ps, i0, j0, rows);
    }
  }

  CTR_REDUCED_ISA static typename P::Row prepareRow(const float* x, int K, A* out, int ld) { return P::prepareRowIsa(x, K, out, ld); }

  CTR_REDUCED_ISA static void tiles(const Problem<P>& Pr, int mr, int nv, const A* a, int Kp, const B* b, long ps, int i0, int j0,
                                    const typename P::Row* rows, Scratch<P>&) {
    static_assert(NV == 4, "one case per tile width");
    switch (nv) {
      case 4: return tileRows<4>(mr, Pr, a, Kp, Kp, b, ps, i0, j0, rows);
      case 3: return tileRows<3>(mr, Pr, a, Kp, Kp, b, ps, i0, j0, rows);
      case 2: return tileRows<2>(mr, Pr, a, Kp, Kp, b, ps, i0, j0, rows);
      default: return tileRows<1>(mr, Pr, a, Kp, Kp, b, ps, i0, j0, rows);
    }
  }

  CTR_REDUCED_ISA static void run(const Problem<P>& Pr, int i0, int i1, Scratch<P>& s) { block<P, IsaPath>(Pr, i0, i1, s); }
};
#endif  // __x86_64__

// The layer: row blocks on the pool, each prepared and multiplied by the path the policy's switch
// names at the call.
template <class P>
void linearForward(const Problem<P>& Pr) {
  if (Pr.M <= 0 || Pr.N <= 0) return;
  const bool isa = P::kernel().fast();
  const int Kp = padK<P::KG>(Pr.K);
  forRowBlocks(Pr.M, [&](int, int i0, int i1) {
    thread_local Scratch<P> s;
    s.a.resize((size_t)ROW_BLOCK * Kp);
    s.rows.resize(ROW_BLOCK);
    s.acc.resize((size_t)MR * NV * PANEL);
#if defined(__x86_64__)
    if (isa) return IsaPath<P>::run(Pr, i0, i1, s);
#endif
    block<P, PortablePath<P>>(Pr, i0, i1, s);
  });
}

// Rows of X [M, K] prepared into out [M, ld] by the active path; rowOut(i, row) takes each row's data.
template <class P, class F>
void prepareRows(const float* X, int M, int K, typename P::AType* out, long ld, F rowOut) {
  for (long i = 0; i < M; ++i) {
#if defined(__x86_64__)
    if (P::kernel().fast()) {
      rowOut(i, P::prepareRowIsa(X + i * K, K, out + i * ld, (int)ld));
      continue;
    }
#endif
    rowOut(i, P::prepareRowPortable(X + i * K, K, out + i * ld, (int)ld));
  }
}

}  // namespace
}  // namespace reduced
}  // namespace ctr
