// Weighted binary cross-entropy with logits. Inputs are screened first (NaN/Inf in z, y or w
// would silently poison training), then loss terms are summed in float64 over fixed chunks
// combined in chunk order, so the loss is identical with any thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"
#include "threadpool.h"

namespace ctr {

static constexpr long kChunk = 16384;

// what: e.g. "logit z" — the message names the array, index and value of the first bad entry.
static void checkFinite(const float* v, long n, const char* what) {
  for (long i = 0; i < n; ++i)
    if (!std::isfinite(v[i]))
      throw KernelError("bceWithLogits",
                        std::string(what) + "[" + std::to_string(i) + "] = " + fmtNum(v[i]) + " is not finite");
}

double bceWithLogits(const float* z, const float* y, const float* w, long n, float* dz) {
  checkFinite(z, n, "logit z");
  checkFinite(y, n, "label y");
  double wsum = (double)n;
  if (w) {
    checkFinite(w, n, "weight w");
    wsum = 0;
    for (long i = 0; i < n; ++i) wsum += w[i];
  }
  if (!(wsum > 0))
    throw KernelError("bceWithLogits", "sum of weights must be > 0, got " + fmtNum(wsum) + " (n=" + std::to_string(n) + ")");
  long chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> part((size_t)chunks);
  const double inv = 1.0 / wsum;
  parallelFor(chunks, 1, [&](long c0, long c1) {
    for (long c = c0; c < c1; ++c) {
      double s = 0;
      for (long i = c * kChunk, e = std::min(n, (c + 1) * kChunk); i < e; ++i) {
        double zi = z[i], yi = y[i], wi = w ? w[i] : 1.0;
        // softplus(z) - y z, stable for any |z|
        s += wi * (std::max(zi, 0.0) + std::log1p(std::exp(-std::fabs(zi))) - yi * zi);
        double sig = zi >= 0 ? 1.0 / (1.0 + std::exp(-zi)) : std::exp(zi) / (1.0 + std::exp(zi));
        dz[i] = (float)(wi * (sig - yi) * inv);
      }
      part[(size_t)c] = s;
    }
  });
  double loss = 0;
  for (double p : part) loss += p;
  return loss * inv;
}

}  // namespace ctr
