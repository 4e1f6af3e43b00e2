// DIN's one-hidden-layer target attention (src/nn/targetAttention.ts), fused. With the first
// layer's W1 = [A; B; C; D] over [e_b, e_t, e_b − e_t, e_b ⊙ e_t], a row's hidden
// pre-activation for event p is z = e_b M + c with M = A + C + diag(e_t) D and c = e_t (B − C) + b1,
// both built once per row: d·h multiply-adds per event instead of the concatenation's 4d·h. Per
// row, z, act(z), the score s = act(z)·w2 + b2 and pooled = Σ_p s_p e_b,p run on a [events, h]
// block that stays in L1/L2; nothing of size [events, h] is kept for backward, which recomputes it.
//
// Determinism: rows are processed in tasks of kRows rows (a decomposition by the row count only);
// every output row is written by one task, and the weight gradients, which sum over rows, are
// summed per task and then over tasks in task order. Results do not depend on the thread count.
// The hidden width is padded to a multiple of 16 with zero weights, so every inner loop runs over
// whole 16-float vectors (GCC's vector extension: one zmm, two ymm or four xmm per operation, the
// same lane-wise roundings in every ISA variant).
#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "kernels.h"
#include "simd.h"
#include "threadpool.h"

// The 64-byte vector helpers are always inlined into each ISA variant; the psABI note about
// passing such vectors by value to non-AVX-512 code concerns calls that never happen.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace ctr {
namespace {

constexpr long kRows = 32;  // rows per task and per partial weight-gradient sum
constexpr long kLanes = 16;

typedef float vf __attribute__((vector_size(64)));

CTR_INLINE vf vload(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
CTR_INLINE void vstore(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
typedef int vi __attribute__((vector_size(64)));
CTR_INLINE vf vbcast(float x) {
  vf v{};
  v[0] = x;
  return __builtin_shuffle(v, vi{});
}
// The 16 lanes summed as a tree, lane l with lane l + 8, then + 4, + 2, + 1: a fixed order, in
// registers (a left-to-right sum through memory costs more than the products it sums).
CTR_INLINE float hsum(vf v) {
  v += __builtin_shuffle(v, vi{8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7});
  v += __builtin_shuffle(v, vi{4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3});
  v += __builtin_shuffle(v, vi{2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1});
  v += __builtin_shuffle(v, vi{1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0});
  return v[0];
}

// Y[p, 0..16·NC) = c + E[p, :]·M[:, 0..16·NC) for the L events E [L, d]; M and Y have row stride
// ld. R events at a time share the loads of M and give R·NC independent accumulation chains; each
// event's sums run in the same order whatever R, so R is a speed choice only (see tileRows).
template <int NC, int R>
CTR_INLINE void eventsTimesBlock(const float* E, long L, long d, const float* M, long ld, const float* c, float* Y) {
  long p = 0;
  for (; p + R <= L; p += R) {
    const float* e = E + p * d;
    vf a[R][NC];
    for (int q = 0; q < NC; ++q) {
      vf cq = vload(c + q * kLanes);
      for (int r = 0; r < R; ++r) a[r][q] = cq;
    }
    auto step = [&](long k, const vf* x) {
      for (int q = 0; q < NC; ++q) {
        vf m = vload(M + k * ld + q * kLanes);
        for (int r = 0; r < R; ++r) a[r][q] += x[r] * m;
      }
    };
    long k = 0;
    // Whole 16-float blocks of the events: one load per event, lanes broadcast by register
    // permutes (the same values as broadcasting from memory, with fewer load operations). Only
    // with 4-row tiles (AVX-512), where a 16-float permute is one instruction.
    for (; R > 2 && k + kLanes <= d; k += kLanes) {
      vf ev[R];
      for (int r = 0; r < R; ++r) ev[r] = vload(e + r * d + k);
      for (int kk = 0; kk < kLanes; ++kk) {
        vf x[R];
        for (int r = 0; r < R; ++r) x[r] = __builtin_shuffle(ev[r], vi{} + kk);
        step(k + kk, x);
      }
    }
    for (; k < d; ++k) {
      vf x[R];
      for (int r = 0; r < R; ++r) x[r] = vbcast(e[r * d + k]);
      step(k, x);
    }
    for (int r = 0; r < R; ++r)
      for (int q = 0; q < NC; ++q) vstore(Y + (p + r) * ld + q * kLanes, a[r][q]);
  }
  if (R > 1 && p < L) eventsTimesBlock<NC, 1>(E + p * d, L - p, d, M, ld, c, Y + p * ld);
}

// dM[k, 0..16·NC) = Σ_p E[p, k]·DZ[p, 0..16·NC) (R values of k at a time, each summed over p in
// order); DZ and dM have row stride ld.
template <int NC, int R>
CTR_INLINE void eventsTransposedBlock(const float* E, long L, long d, long k0, const float* DZ, long ld, float* dM) {
  long k = k0;
  for (; k + R <= d; k += R) {
    vf a[R][NC];
    for (int r = 0; r < R; ++r)
      for (int q = 0; q < NC; ++q) a[r][q] = vf{};
    // Within a whole 16-float block of E's row: one load per event and register permutes (4-row
    // tiles, AVX-512, only).
    const long kb = k / kLanes * kLanes;
    const bool inBlock = R > 2 && kb + kLanes <= d;
    for (long p = 0; p < L; ++p) {
      vf x[R];
      if (inBlock) {
        vf ev = vload(E + p * d + kb);
        for (int r = 0; r < R; ++r) x[r] = __builtin_shuffle(ev, vi{} + (int)(k - kb + r));
      } else {
        for (int r = 0; r < R; ++r) x[r] = vbcast(E[p * d + k + r]);
      }
      for (int q = 0; q < NC; ++q) {
        vf z = vload(DZ + p * ld + q * kLanes);
        for (int r = 0; r < R; ++r) a[r][q] += x[r] * z;
      }
    }
    for (int r = 0; r < R; ++r)
      for (int q = 0; q < NC; ++q) vstore(dM + (k + r) * ld + q * kLanes, a[r][q]);
  }
  if (R > 1 && k < d) eventsTransposedBlock<NC, 1>(E, L, d, k, DZ, ld, dM);
}

// Rows per register tile: 4 where 32 vector registers hold 4 × 3 accumulators (AVX-512), 2 where
// 16 ymm registers would spill them. Only the speed depends on it, never a result.
CTR_INLINE int tileRows() { return cpuIsa() == Isa::Avx512 ? 4 : 2; }

// Both products over the padded width hp, in column blocks of at most 64 floats (48 with 4-row
// tiles, so that 12 accumulators fit).
template <int R>
CTR_INLINE void eventsTimesR(const float* E, long L, long d, const float* M, long hp, const float* c, float* Y) {
  constexpr int W = R > 2 ? 3 : 4;
  for (long j = 0; j < hp; j += W * kLanes) switch (std::min<long>(W, (hp - j) / kLanes)) {
      case 1: eventsTimesBlock<1, R>(E, L, d, M + j, hp, c + j, Y + j); break;
      case 2: eventsTimesBlock<2, R>(E, L, d, M + j, hp, c + j, Y + j); break;
      case 3: eventsTimesBlock<3, R>(E, L, d, M + j, hp, c + j, Y + j); break;
      default: eventsTimesBlock<(W > 3 ? 4 : 3), R>(E, L, d, M + j, hp, c + j, Y + j); break;
    }
}
template <int R>
CTR_INLINE void eventsTransposedR(const float* E, long L, long d, const float* DZ, long hp, float* dM) {
  constexpr int W = R > 2 ? 3 : 4;
  for (long j = 0; j < hp; j += W * kLanes) switch (std::min<long>(W, (hp - j) / kLanes)) {
      case 1: eventsTransposedBlock<1, R>(E, L, d, 0, DZ + j, hp, dM + j); break;
      case 2: eventsTransposedBlock<2, R>(E, L, d, 0, DZ + j, hp, dM + j); break;
      case 3: eventsTransposedBlock<3, R>(E, L, d, 0, DZ + j, hp, dM + j); break;
      default: eventsTransposedBlock<(W > 3 ? 4 : 3), R>(E, L, d, 0, DZ + j, hp, dM + j); break;
    }
}
CTR_INLINE void eventsTimes(int R, const float* E, long L, long d, const float* M, long hp, const float* c, float* Y) {
  if (R == 4)
    eventsTimesR<4>(E, L, d, M, hp, c, Y);
  else
    eventsTimesR<2>(E, L, d, M, hp, c, Y);
}
CTR_INLINE void eventsTransposed(int R, const float* E, long L, long d, const float* DZ, long hp, float* dM) {
  if (R == 4)
    eventsTransposedR<4>(E, L, d, DZ, hp, dM);
  else
    eventsTransposedR<2>(E, L, d, DZ, hp, dM);
}

// out[p, k] += s[p]·g[k] + Σ_{j<h} DZ[p, j]·MT[j, k] for k < d: DZ [L, hp], MT [h, dp] and g [dp]
// (d padded to dp), out [L, d]. Four events at a time share the loads of MT; out is read and
// written once.
CTR_INLINE void gradEvents(const float* DZ, long L, long hp, long h, const float* MT, long dp, long d, const float* s,
                           const float* g, float* out, bool permute) {
  auto add = [&](float* o, vf a, long kb) {
    if (d - kb >= kLanes)
      vstore(o + kb, vload(o + kb) + a);
    else
      for (long k = kb; k < d; ++k) o[k] += a[k - kb];
  };
  for (long kb = 0; kb < dp; kb += kLanes) {
    long p = 0;
    for (; p + 4 <= L; p += 4) {
      const float* z = DZ + p * hp;
      vf gk = vload(g + kb);
      vf a0 = vbcast(s[p]) * gk, a1 = vbcast(s[p + 1]) * gk, a2 = vbcast(s[p + 2]) * gk, a3 = vbcast(s[p + 3]) * gk;
      long j = 0;
      // On AVX-512, whole 16-float blocks of the four DZ rows: one load per row and register
      // permutes instead of four broadcasts from memory per j (same values, same order).
      for (; permute && j + kLanes <= h; j += kLanes) {
        const vf z0 = vload(z + j), z1 = vload(z + hp + j), z2 = vload(z + 2 * hp + j), z3 = vload(z + 3 * hp + j);
        for (int jj = 0; jj < kLanes; ++jj) {
          const vf m = vload(MT + (j + jj) * dp + kb);
          const vi l = vi{} + jj;
          a0 += __builtin_shuffle(z0, l) * m;
          a1 += __builtin_shuffle(z1, l) * m;
          a2 += __builtin_shuffle(z2, l) * m;
          a3 += __builtin_shuffle(z3, l) * m;
        }
      }
      for (; j < h; ++j) {
        vf m = vload(MT + j * dp + kb);
        a0 += vbcast(z[j]) * m;
        a1 += vbcast(z[hp + j]) * m;
        a2 += vbcast(z[2 * hp + j]) * m;
        a3 += vbcast(z[3 * hp + j]) * m;
      }
      add(out + p * d, a0, kb);
      add(out + (p + 1) * d, a1, kb);
      add(out + (p + 2) * d, a2, kb);
      add(out + (p + 3) * d, a3, kb);
    }
    for (; p < L; ++p) {
      vf a0 = vbcast(s[p]) * vload(g + kb);
      for (long j = 0; j < h; ++j) a0 += vbcast(DZ[p * hp + j]) * vload(MT + j * dp + kb);
      add(out + p * d, a0, kb);
    }
  }
}

// Σ_k x[k]·y[k] over d floats: whole vectors when d is a multiple of 16, else left to right.
CTR_INLINE float dotD(const float* x, const float* y, long d) {
  if (d % kLanes != 0) {
    float s = 0;
    for (long k = 0; k < d; ++k) s += x[k] * y[k];
    return s;
  }
  vf acc = vload(x) * vload(y);
  for (long k = kLanes; k < d; k += kLanes) acc += vload(x + k) * vload(y + k);
  return hsum(acc);
}

long padded(long n) { return (n + kLanes - 1) / kLanes * kLanes; }

// The weights in the padded layout, built once per call: AC = A + C, BC = B − C, D, [d, hp] each;
// b1 and w2 [hp]. Padding columns are 0, so they add nothing to any sum.
struct Ctx {
  long d, h, hp;
  const float* eb;
  const float* et;
  const int32_t* off;
  long S;
  std::vector<float> AC, BC, Dm, b1, w2;
  float b2;
  Act act;
  float param;
  int tile = tileRows();

  Ctx(const float* eb_, const float* et_, const int32_t* off_, long S_, const float* W1, const float* b1_,
      const float* w2_, float b2_, long d_, long h_, Act act_, float param_)
      : d(d_), h(h_), hp(padded(h_)), eb(eb_), et(et_), off(off_), S(S_), AC(d_ * hp), BC(d_ * hp), Dm(d_ * hp),
        b1(hp), w2(hp), b2(b2_), act(act_), param(param_) {
    const float *A = W1, *B = W1 + d * h, *C = W1 + 2 * d * h, *D = W1 + 3 * d * h;
    for (long k = 0; k < d; ++k)
      for (long j = 0; j < h; ++j) {
        AC[k * hp + j] = A[k * h + j] + C[k * h + j];
        BC[k * hp + j] = B[k * h + j] - C[k * h + j];
        Dm[k * hp + j] = D[k * h + j];
      }
    for (long j = 0; j < h; ++j) {
      b1[j] = b1_[j];
      w2[j] = w2_[j];
    }
  }
};

// The row's M [d, hp] and c [hp].
CTR_INLINE void rowWeights(const Ctx& c, const float* et, float* M, float* cv) {
  const long d = c.d, hp = c.hp;
  for (long jb = 0; jb < hp; jb += kLanes) {
    vf acc = vload(&c.b1[jb]);
    for (long k = 0; k < d; ++k) {
      vf e = vbcast(et[k]);
      acc += e * vload(&c.BC[k * hp + jb]);
      vstore(M + k * hp + jb, vload(&c.AC[k * hp + jb]) + e * vload(&c.Dm[k * hp + jb]));
    }
    vstore(cv + jb, acc);
  }
}

// Y [L, hp] = act(E M + c) for the row's L events E [L, d]; s[p] = Y[p]·w2 + b2.
CTR_INLINE void rowScores(const Ctx& c, const float* E, long L, const float* M, const float* cv, float* Y, float* s) {
  const long hp = c.hp;
  eventsTimes(c.tile, E, L, c.d, M, hp, cv, Y);
  activationRows(Y, L * hp, c.act, c.param);
  for (long p = 0; p < L; ++p) {
    vf acc = vload(Y + p * hp) * vload(&c.w2[0]);
    for (long jb = kLanes; jb < hp; jb += kLanes) acc += vload(Y + p * hp + jb) * vload(&c.w2[jb]);
    s[p] = hsum(acc) + c.b2;
  }
}

// out[k] += Σ_p w[p]·E[p, k] (out [d]), whole vectors when d is a multiple of 16.
CTR_INLINE void pool(const float* E, long L, long d, const float* w, float* out) {
  if (d % kLanes != 0) {
    for (long p = 0; p < L; ++p)
      for (long k = 0; k < d; ++k) out[k] += w[p] * E[p * d + k];
    return;
  }
  for (long kb = 0; kb < d; kb += kLanes) {
    vf acc = vload(out + kb);
    for (long p = 0; p < L; ++p) acc += vbcast(w[p]) * vload(E + p * d + kb);
    vstore(out + kb, acc);
  }
}

CTR_INLINE void forwardRowsBody(const Ctx* c, long s0, long s1, float* pooled) {
  const long d = c->d, hp = c->hp;
  std::vector<float> M(d * hp), cv(hp), Y, s;
  for (long t = s0; t < s1; ++t) {
    const long p0 = c->off[t], L = c->off[t + 1] - p0;
    float* out = pooled + t * d;
    for (long k = 0; k < d; ++k) out[k] = 0;
    if (L == 0) continue;
    if ((long)s.size() < L) {
      s.resize(L);
      Y.resize(L * hp);
    }
    const float* E = c->eb + p0 * d;
    rowWeights(*c, c->et + t * d, M.data(), cv.data());
    rowScores(*c, E, L, M.data(), cv.data(), Y.data(), s.data());
    pool(E, L, d, s.data(), out);
  }
}
CTR_MULTIVERSION(forwardRows, (const Ctx* c, long s0, long s1, float* pooled), (c, s0, s1, pooled))

// Per-task sums of the weight gradients, in the padded layout: ΣdM [d, hp], Σ e_t ⊙ dM [d, hp]
// (rows scaled by e_t[k]), Σ e_tᵀ dc [d, hp], Σ dc [hp], Σ ds·y [hp], Σ ds [1].
struct Partial {
  long d, hp;
  float* base;
  float* gM() const { return base; }
  float* gD() const { return base + d * hp; }
  float* gC() const { return base + 2 * d * hp; }
  float* gb1() const { return base + 3 * d * hp; }
  float* gw2() const { return base + 3 * d * hp + hp; }
  float* gb2() const { return base + 3 * d * hp + 2 * hp; }
  static long size(long d, long hp) { return 3 * d * hp + 2 * hp + 1; }
};

struct Grads {
  const float* dPooled;
  float *deb, *det;
};

CTR_INLINE void backwardRowsBody(const Ctx* c, const Grads* g, long s0, long s1, float* partial) {
  const long d = c->d, h = c->h, hp = c->hp;
  const long dp = padded(d);
  const Partial P{d, hp, partial};
  std::vector<float> M(d * hp), MT(hp * dp, 0.0f), gpad(dp, 0.0f), cv(hp), dM(d * hp), dc(hp), Y, DZ, s, ds;
  for (long t = s0; t < s1; ++t) {
    const long p0 = c->off[t], L = c->off[t + 1] - p0;
    if (L == 0) continue;
    if ((long)s.size() < L) {
      s.resize(L);
      ds.resize(L);
      Y.resize(L * hp);
      DZ.resize(L * hp);
    }
    const float* E = c->eb + p0 * d;
    const float* et = c->et + t * d;
    const float* gt = g->dPooled + t * d;
    rowWeights(*c, et, M.data(), cv.data());
    rowScores(*c, E, L, M.data(), cv.data(), Y.data(), s.data());
    // pooled = Σ s_p e_b,p: ds_p = g·e_b,p and d e_b,p += s_p g; then through s = y·w2 + b2.
    float sumDs = 0;
    for (long p = 0; p < L; ++p) {
      ds[p] = dotD(gt, E + p * d, d);
      sumDs += ds[p];
      vf dsv = vbcast(ds[p]);
      for (long jb = 0; jb < hp; jb += kLanes) vstore(&DZ[p * hp + jb], dsv * vload(&c->w2[jb]));
    }
    *P.gb2() += sumDs;
    activationGradRows(Y.data(), DZ.data(), DZ.data(), L * hp, c->act, c->param);
    // Σ_p ds_p y_p (w2's gradient), dc = Σ_p dz_p and dM = Eᵀ DZ.
    for (long jb = 0; jb < hp; jb += kLanes) {
      vf gw = vf{}, acc = vf{};
      for (long p = 0; p < L; ++p) {
        gw += vbcast(ds[p]) * vload(&Y[p * hp + jb]);
        acc += vload(&DZ[p * hp + jb]);
      }
      vstore(P.gw2() + jb, vload(P.gw2() + jb) + gw);
      vstore(&dc[jb], acc);
    }
    eventsTransposed(c->tile, E, L, d, DZ.data(), hp, dM.data());
    // d e_b,p += s_p g + dz_p Mᵀ, over Mᵀ [h, dp] so that the accumulators run along d.
    if (g->deb) {
      for (long k = 0; k < d; ++k) {
        gpad[k] = gt[k];
        for (long j = 0; j < h; ++j) MT[j * dp + k] = M[k * hp + j];
      }
      gradEvents(DZ.data(), L, hp, h, MT.data(), dp, d, s.data(), gpad.data(), g->deb + p0 * d, c->tile == 4);
    }
    // d e_t[k] = Σ_j dc_j (B − C)[k, j] + Σ_j dM[k, j] D[k, j].
    if (g->det)
      for (long k = 0; k < d; ++k) {
        vf acc = vf{};
        for (long jb = 0; jb < hp; jb += kLanes)
          acc += vload(&dc[jb]) * vload(&c->BC[k * hp + jb]) + vload(&dM[k * hp + jb]) * vload(&c->Dm[k * hp + jb]);
        g->det[t * d + k] += hsum(acc);
      }
    for (long jb = 0; jb < hp; jb += kLanes) {
      vf dcv = vload(&dc[jb]);
      vstore(P.gb1() + jb, vload(P.gb1() + jb) + dcv);
      for (long k = 0; k < d; ++k) {
        vf e = vbcast(et[k]), m = vload(&dM[k * hp + jb]);
        vstore(P.gM() + k * hp + jb, vload(P.gM() + k * hp + jb) + m);
        vstore(P.gD() + k * hp + jb, vload(P.gD() + k * hp + jb) + e * m);
        vstore(P.gC() + k * hp + jb, vload(P.gC() + k * hp + jb) + e * dcv);
      }
    }
  }
}
CTR_MULTIVERSION(backwardRows, (const Ctx* c, const Grads* g, long s0, long s1, float* partial),
                 (c, g, s0, s1, partial))

}  // namespace

void targetAttention(const float* eb, const float* et, const int32_t* offsets, long S, const float* W1,
                     const float* b1, const float* w2, float b2, long d, long h, Act act, float param, float* pooled) {
  if (S == 0) return;
  Ctx c(eb, et, offsets, S, W1, b1, w2, b2, d, h, act, param);
  parallelFor(S, kRows, [&](long s0, long s1) { forwardRows(&c, s0, s1, pooled); });
}

void targetAttentionBackward(const float* eb, const float* et, const int32_t* offsets, long S, const float* W1,
                             const float* b1, const float* w2, float b2, long d, long h, Act act, float param,
                             const float* dPooled, float* deb, float* det, float* dW1, float* db1, float* dw2,
                             float* db2) {
  if (S == 0) return;
  Ctx c(eb, et, offsets, S, W1, b1, w2, b2, d, h, act, param);
  const long hp = c.hp, n = Partial::size(d, hp), tasks = (S + kRows - 1) / kRows;
  std::vector<float> partials(tasks * n, 0.0f);
  Grads g{dPooled, deb, det};
  parallelFor(S, kRows, [&](long s0, long s1) { backwardRows(&c, &g, s0, s1, &partials[(s0 / kRows) * n]); });
  // Task partials summed in task order: the same sums with any number of threads.
  std::vector<float> sum(partials.begin(), partials.begin() + n);
  for (long t = 1; t < tasks; ++t)
    for (long i = 0; i < n; ++i) sum[i] += partials[t * n + i];
  const Partial P{d, hp, sum.data()};
  if (dW1) {
    float *A = dW1, *B = dW1 + d * h, *C = dW1 + 2 * d * h, *D = dW1 + 3 * d * h;
    for (long k = 0; k < d; ++k)
      for (long j = 0; j < h; ++j) {
        const float m = P.gM()[k * hp + j], bc = P.gC()[k * hp + j];
        A[k * h + j] += m;
        B[k * h + j] += bc;
        C[k * h + j] += m - bc;
        D[k * h + j] += P.gD()[k * hp + j];
      }
  }
  for (long j = 0; j < h; ++j) {
    if (db1) db1[j] += P.gb1()[j];
    if (dw2) dw2[j] += P.gw2()[j];
  }
  if (db2) db2[0] += *P.gb2();
}

}  // namespace ctr
