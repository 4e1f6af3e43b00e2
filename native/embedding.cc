// Sparse embedding kernels: gather, bag pooling, and the row-sparse backward.
// Tables can have tens of millions of rows, so nothing here allocates or touches memory
// proportional to numRows: the backward groups positions by id with a stable LSD radix sort of
// packed (id, position) keys, whose cost depends only on the number of ids and the id range.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "simd.h"
#include "threadpool.h"

namespace ctr {
namespace {

constexpr long kSortChunk = 32768;  // keys per histogram/scatter task of a radix pass

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

CTR_INLINE void addScaledRowBody(float* dst, const float* src, float w, long dim) {
  for (long k = 0; k < dim; ++k) dst[k] += w * src[k];
}
CTR_MULTIVERSION(addScaledRow, (float* dst, const float* src, float w, long dim), (dst, src, w, dim))

// Stable sort of packed keys (id << 32 | position) by id, LSD radix with up to 11-bit digits.
// Each pass: per-chunk histograms in parallel, prefix sums in (digit, chunk) order, parallel
// scatter; identical to a serial stable sort. Returns the buffer holding the sorted keys.
uint64_t* radixSortById(uint64_t* keys, uint64_t* tmp, long n, int idBits) {
  if (idBits == 0) return keys;
  int passes = (idBits + 10) / 11;
  int digitBits = (idBits + passes - 1) / passes;
  long buckets = 1L << digitBits;
  long chunks = (n + kSortChunk - 1) / kSortChunk;
  // Scratch reused across calls; lambdas use the pointer, since naming a thread_local inside
  // a pool task would resolve to the worker's own instance.
  thread_local std::vector<long> histBuf;
  histBuf.resize((size_t)(chunks * buckets));
  long* hist = histBuf.data();
  for (int pass = 0; pass < passes; ++pass) {
    int shift = 32 + pass * digitBits;
    uint64_t mask = (uint64_t)buckets - 1;
    parallelFor(chunks, 1, [&](long c0, long c1) {
      for (long c = c0; c < c1; ++c) {
        long* h = &hist[c * buckets];
        std::fill(h, h + buckets, 0L);
        for (long i = c * kSortChunk, e = std::min(n, (c + 1) * kSortChunk); i < e; ++i) ++h[(keys[i] >> shift) & mask];
      }
    });
    // Skip a pass whose digit is the same for every key (common for the top digit).
    bool trivial = false;
    for (long b = 0; b < buckets && !trivial; ++b) {
      long tot = 0;
      for (long c = 0; c < chunks; ++c) tot += hist[c * buckets + b];
      if (tot == n) trivial = true;
      else if (tot != 0) break;
    }
    if (trivial) continue;
    long run = 0;
    for (long b = 0; b < buckets; ++b)
      for (long c = 0; c < chunks; ++c) {
        long cnt = hist[c * buckets + b];
        hist[c * buckets + b] = run;
        run += cnt;
      }
    parallelFor(chunks, 1, [&](long c0, long c1) {
      for (long c = c0; c < c1; ++c) {
        long* h = &hist[c * buckets];
        for (long i = c * kSortChunk, e = std::min(n, (c + 1) * kSortChunk); i < e; ++i)
          tmp[h[(keys[i] >> shift) & mask]++] = keys[i];
      }
    });
    std::swap(keys, tmp);
  }
  return keys;
}

int bitsFor(long v) {
  int b = 0;
  while (v > 0) {
    ++b;
    v >>= 1;
  }
  return b;
}

}  // namespace

void embeddingLookup(const float* table, long numRows, long dim, const int32_t* ids, long n, float* out) {
  checkIds("embeddingLookup", ids, n, numRows);
  parallelFor(n, std::max(1L, 16384 / std::max(1L, dim)), [&](long b0, long b1) {
    for (long b = b0; b < b1; ++b) std::memcpy(out + b * dim, table + (long)ids[b] * dim, sizeof(float) * dim);
  });
}

void embeddingBag(const float* table, long numRows, long dim, const int32_t* ids, const int32_t* offsets,
                  long nbags, const float* wts, bool mean, float* out) {
  long n = offsets[nbags];
  checkIds("embeddingBag", ids, n, numRows);
  long perBag = std::max(1L, n * dim / std::max(1L, nbags));
  parallelFor(nbags, std::max(1L, 16384 / perBag), [&](long s0, long s1) {
    for (long s = s0; s < s1; ++s) {
      float* o = out + s * dim;
      std::fill(o, o + dim, 0.0f);
      for (long k = offsets[s]; k < offsets[s + 1]; ++k) addScaledRow(o, table + (long)ids[k] * dim, wts ? wts[k] : 1.0f, dim);
      long cnt = offsets[s + 1] - offsets[s];
      if (mean && cnt > 0) {
        float inv = (float)(1.0 / (double)cnt);
        for (long k = 0; k < dim; ++k) o[k] *= inv;
      }
    }
  });
}

long embeddingBackward(const int32_t* ids, long n, const float* dOut, long dim, long numRows,
                       const int32_t* offsets, long nbags, const float* wts, bool mean, int32_t* uniqueRows,
                       float* rowGrads, long capacity) {
  long maxId = checkIds("embeddingBackward", ids, n, numRows);
  if (n == 0) return 0;

  thread_local std::vector<uint64_t> bufA, bufB;
  thread_local std::vector<int32_t> bagOf;
  thread_local std::vector<long> runStarts;
  bufA.resize((size_t)n);
  bufB.resize((size_t)n);
  for (long i = 0; i < n; ++i) bufA[(size_t)i] = ((uint64_t)(uint32_t)ids[i] << 32) | (uint64_t)i;
  const uint64_t* sorted = radixSortById(bufA.data(), bufB.data(), n, bitsFor(maxId));

  // Gradient row and scale of each position: its own dOut row, or its bag's.
  if (offsets) {
    bagOf.resize((size_t)n);
    for (long s = 0; s < nbags; ++s)
      for (long k = offsets[s]; k < offsets[s + 1]; ++k) bagOf[(size_t)k] = (int32_t)s;
  }

  runStarts.clear();
  for (long i = 0; i < n; ++i)
    if (i == 0 || (sorted[i] >> 32) != (sorted[i - 1] >> 32)) runStarts.push_back(i);
  long U = (long)runStarts.size();
  runStarts.push_back(n);
  if (U > capacity)
    throw KernelError("embeddingBackward", std::to_string(U) + " unique ids but uniqueRows/rowGrads hold only " +
                                               std::to_string(capacity) + " rows (dim=" + std::to_string(dim) + ")");
  const long* runStart = runStarts.data();  // pool tasks must not name the thread_locals
  const int32_t* bag = bagOf.data();

  parallelFor(U, std::max(1L, 4096 / std::max(1L, dim * n / U)), [&](long u0, long u1) {
    for (long u = u0; u < u1; ++u) {
      uniqueRows[u] = (int32_t)(sorted[runStart[u]] >> 32);
      float* g = rowGrads + u * dim;
      std::fill(g, g + dim, 0.0f);
      for (long i = runStart[u]; i < runStart[u + 1]; ++i) {
        long pos = (long)(uint32_t)sorted[i];
        long row = pos;
        float w = wts ? wts[pos] : 1.0f;
        if (offsets) {
          row = bag[pos];
          if (mean) w *= (float)(1.0 / (double)(offsets[row + 1] - offsets[row]));
        }
        addScaledRow(g, dOut + row * dim, w, dim);
      }
    }
  });
  return U;
}

}  // namespace ctr
