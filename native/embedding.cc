// Sparse embedding kernels: gather, bag pooling, and the row-sparse backward.
// Tables can have tens of millions of rows, so nothing here allocates or touches memory
// proportional to numRows: the backward groups positions by id with a stable LSD radix sort of
// packed (id, position) keys, whose cost depends only on the number of ids and the id range.
// The sort is serial (its output is unique, so threads could not change it anyway); summing
// the rows of distinct ids runs in parallel, each row owned by one task.
#include <algorithm>
#include <vector>

#include "kernels.h"
#include "simd.h"
#include "threadpool.h"

namespace ctr {
namespace {

constexpr long kAhead = 16;  // prefetch distance of scattered row / gradient reads
constexpr int kMaxDigitBits = 13;  // ≤ 26-bit id ranges (50M rows) sort in 2 passes

// Throws naming the first id outside [0, numRows). The min/max pass vectorises; the search
// for the offending position only runs on failure. Returns the largest id (-1 when n == 0).
long checkIds(const char* kernel, const int32_t* ids, long n, long numRows) {
  int32_t lo = INT32_MAX, hi = -1;
  for (long i = 0; i < n; ++i) {
    lo = std::min(lo, ids[i]);
    hi = std::max(hi, ids[i]);
  }
  if (n > 0 && (lo < 0 || hi >= numRows)) {
    for (long i = 0; i < n; ++i)
      if (ids[i] < 0 || ids[i] >= numRows)
        throw KernelError(kernel, "id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                                      " is outside [0, " + std::to_string(numRows) + ")");
  }
  return hi;
}

int bitsFor(long v) {
  int b = 0;
  for (; v > 0; v >>= 1) ++b;
  return b;
}

// Per-call scratch, reused across calls; sized by the number of ids (or bags), never by
// numRows. Pool tasks get raw pointers: a thread_local named inside a task would resolve to
// the worker's own instance.
struct Scratch {
  std::vector<uint64_t> a, b;
  std::vector<uint32_t> hist;
  std::vector<int32_t> bagOf;
  std::vector<float> invCount;
  std::vector<long> runStart;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// Stable LSD radix sort of positions by id, as packed keys (id << 32 | position): equal ids
// keep increasing positions, so the result is the unique (id, position) order. All digit
// histograms come from one read of ids, the first pass builds keys while scattering, and a
// pass whose digit is constant over all keys is skipped. Returns the buffer holding the keys.
const uint64_t* sortById(const int32_t* ids, long n, int idBits, Scratch& s) {
  uint64_t* a = s.a.data();
  uint64_t* b = s.b.data();
  int passes = std::max(1, (idBits + kMaxDigitBits - 1) / kMaxDigitBits);
  int digitBits = (idBits + passes - 1) / passes;
  const uint32_t buckets = 1u << digitBits, mask = buckets - 1;
  s.hist.assign((size_t)passes * buckets, 0);
  uint32_t* hist = s.hist.data();
  for (long i = 0; i < n; ++i) {
    uint32_t id = (uint32_t)ids[i];
    for (int p = 0; p < passes; ++p) ++hist[p * buckets + ((id >> (p * digitBits)) & mask)];
  }
  const uint64_t* src = nullptr;  // nullptr: keys not built yet, read ids
  uint64_t* dst = a;
  for (int p = 0; p < passes; ++p) {
    uint32_t* h = hist + p * buckets;
    bool trivial = false;
    uint32_t run = 0;
    for (uint32_t d = 0; d < buckets; ++d) {
      uint32_t c = h[d];
      trivial |= c == (uint32_t)n;
      h[d] = run;
      run += c;
    }
    if (trivial) continue;
    const int shift = 32 + p * digitBits;
    if (!src) {
      for (long i = 0; i < n; ++i) {
        uint32_t id = (uint32_t)ids[i];
        dst[h[(id >> (p * digitBits)) & mask]++] = ((uint64_t)id << 32) | (uint64_t)i;
      }
    } else {
      for (long i = 0; i < n; ++i) {
        uint64_t k = src[i];
        dst[h[(k >> shift) & mask]++] = k;
      }
    }
    src = dst;
    dst = dst == a ? b : a;
  }
  if (!src) {  // every digit constant: all ids equal, position order is already sorted
    for (long i = 0; i < n; ++i) a[i] = ((uint64_t)(uint32_t)ids[i] << 32) | (uint64_t)i;
    src = a;
  }
  return src;
}

// Sums the gradient rows of unique ids u0..u1-1, each run of equal ids in position order.
// bagOf/invCount are null for a plain lookup; invCount is null unless mean pooling.
CTR_INLINE void sumRunsBody(const uint64_t* sorted, const long* runStart, long u0, long u1, const float* dOut, long dim,
                            const int32_t* bagOf, const float* invCount, const float* wts, int32_t* uniqueRows,
                            float* rowGrads) {
  for (long u = u0; u < u1; ++u) {
    long i0 = runStart[u], i1 = runStart[u + 1];
    uniqueRows[u] = (int32_t)(sorted[i0] >> 32);
    float* g = rowGrads + u * dim;
    if (dim == 1) {  // logistic regression: one float per row, keep it in a register
      float acc = 0.0f;
      for (long i = i0; i < i1; ++i) {
        // Gathers from dOut are random: prefetch a few positions ahead (keys are padded).
        if (!bagOf) __builtin_prefetch(dOut + (uint32_t)sorted[i + kAhead]);
        long pos = (long)(uint32_t)sorted[i], row = bagOf ? bagOf[pos] : pos;
        float w = wts ? wts[pos] : 1.0f;
        if (invCount) w *= invCount[row];
        acc += w * dOut[row];
      }
      g[0] = acc;
      continue;
    }
    for (long k = 0; k < dim; ++k) g[k] = 0.0f;
    for (long i = i0; i < i1; ++i) {
      long ahead = (long)(uint32_t)sorted[i + kAhead];
      __builtin_prefetch(dOut + (bagOf ? bagOf[ahead] : ahead) * dim);
      long pos = (long)(uint32_t)sorted[i], row = bagOf ? bagOf[pos] : pos;
      float w = wts ? wts[pos] : 1.0f;
      if (invCount) w *= invCount[row];
      const float* src = dOut + row * dim;
      for (long k = 0; k < dim; ++k) g[k] += w * src[k];
    }
  }
}
CTR_MULTIVERSION(sumRuns,
                 (const uint64_t* sorted, const long* runStart, long u0, long u1, const float* dOut, long dim,
                  const int32_t* bagOf, const float* invCount, const float* wts, int32_t* uniqueRows,
                  float* rowGrads),
                 (sorted, runStart, u0, u1, dOut, dim, bagOf, invCount, wts, uniqueRows, rowGrads))

// out[b] = table[ids[b]] for b in [b0, b1). Table rows are scattered over up to gigabytes, so
// each read is a likely cache and TLB miss: prefetch kAhead ids ahead to overlap them.
CTR_INLINE void gatherRowsBody(const float* table, long dim, const int32_t* ids, float* out, long b0, long b1) {
  for (long b = b0; b < b1; ++b) {
    if (b + kAhead < b1) __builtin_prefetch(table + (long)ids[b + kAhead] * dim);
    const float* src = table + (long)ids[b] * dim;
    float* o = out + b * dim;
    for (long k = 0; k < dim; ++k) o[k] = src[k];
  }
}
CTR_MULTIVERSION(gatherRows, (const float* table, long dim, const int32_t* ids, float* out, long b0, long b1),
                 (table, dim, ids, out, b0, b1))

// Pools bags s0..s1-1: out[s] = Σ_k w_k · table[ids[k]] in position order (÷ size if mean).
CTR_INLINE void poolBagsBody(const float* table, long dim, const int32_t* ids, const int32_t* offsets, const float* wts,
                             bool mean, float* out, long s0, long s1) {
  const long pEnd = offsets[s1];  // prefetch only ids this task reads
  for (long s = s0; s < s1; ++s) {
    float* o = out + s * dim;
    for (long k = 0; k < dim; ++k) o[k] = 0.0f;
    for (long p = offsets[s]; p < offsets[s + 1]; ++p) {
      if (p + kAhead < pEnd) __builtin_prefetch(table + (long)ids[p + kAhead] * dim);
      const float* row = table + (long)ids[p] * dim;
      float w = wts ? wts[p] : 1.0f;
      for (long k = 0; k < dim; ++k) o[k] += w * row[k];
    }
    long cnt = offsets[s + 1] - offsets[s];
    if (mean && cnt > 0) {
      float inv = (float)(1.0 / (double)cnt);
      for (long k = 0; k < dim; ++k) o[k] *= inv;
    }
  }
}
CTR_MULTIVERSION(poolBags,
                 (const float* table, long dim, const int32_t* ids, const int32_t* offsets, const float* wts, bool mean,
                  float* out, long s0, long s1),
                 (table, dim, ids, offsets, wts, mean, out, s0, s1))

}  // namespace

void embeddingLookup(const float* table, long numRows, long dim, const int32_t* ids, long n, float* out) {
  checkIds("embeddingLookup", ids, n, numRows);
  parallelFor(n, std::max(1L, 16384 / std::max(1L, dim)),
              [&](long b0, long b1) { gatherRows(table, dim, ids, out, b0, b1); });
}

void embeddingBag(const float* table, long numRows, long dim, const int32_t* ids, const int32_t* offsets,
                  long nbags, const float* wts, bool mean, float* out) {
  long n = offsets[nbags];
  checkIds("embeddingBag", ids, n, numRows);
  long perBag = std::max(1L, n * dim / std::max(1L, nbags));
  parallelFor(nbags, std::max(1L, 16384 / perBag),
              [&](long s0, long s1) { poolBags(table, dim, ids, offsets, wts, mean, out, s0, s1); });
}

long embeddingBackward(const int32_t* ids, long n, const float* dOut, long dim, long numRows,
                       const int32_t* offsets, long nbags, const float* wts, bool mean, int32_t* uniqueRows,
                       float* rowGrads, long capacity) {
  long maxId = checkIds("embeddingBackward", ids, n, numRows);
  if (n == 0) return 0;
  Scratch& s = scratch();
  if ((long)s.runStart.size() < n + 1) {
    s.a.resize((size_t)(n + kAhead));
    s.b.resize((size_t)(n + kAhead));
    s.runStart.resize((size_t)n + 1);
  }
  std::fill(s.a.begin() + n, s.a.begin() + n + kAhead, 0);  // prefetch padding: position 0
  std::fill(s.b.begin() + n, s.b.begin() + n + kAhead, 0);
  const uint64_t* sorted = sortById(ids, n, bitsFor(maxId), s);

  long* runStart = s.runStart.data();
  long U = 0;
  for (long i = 0; i < n; ++i)
    if (i == 0 || (sorted[i] >> 32) != (sorted[i - 1] >> 32)) runStart[U++] = i;
  runStart[U] = n;
  if (U > capacity)
    throw KernelError("embeddingBackward", std::to_string(U) + " unique ids but uniqueRows/rowGrads hold only " +
                                               std::to_string(capacity) + " rows (dim=" + std::to_string(dim) + ")");

  // With bags, position p's gradient row is its bag's, scaled by 1/size for mean pooling.
  const int32_t* bagOf = nullptr;
  const float* invCount = nullptr;
  if (offsets) {
    s.bagOf.resize((size_t)n);
    for (long b = 0; b < nbags; ++b)
      for (long k = offsets[b]; k < offsets[b + 1]; ++k) s.bagOf[(size_t)k] = (int32_t)b;
    bagOf = s.bagOf.data();
    if (mean) {
      s.invCount.resize((size_t)nbags);
      for (long b = 0; b < nbags; ++b) {
        long cnt = offsets[b + 1] - offsets[b];
        s.invCount[(size_t)b] = cnt > 0 ? (float)(1.0 / (double)cnt) : 0.0f;
      }
      invCount = s.invCount.data();
    }
  }
  long perRow = std::max(1L, dim * n / U);
  parallelFor(U, std::max(1L, 8192 / perRow), [&](long u0, long u1) {
    sumRuns(sorted, runStart, u0, u1, dOut, dim, bagOf, invCount, wts, uniqueRows, rowGrads);
  });
  return U;
}

}  // namespace ctr
