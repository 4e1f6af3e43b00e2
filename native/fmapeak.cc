// The machine's fp32 multiply-add peak, measured: a loop of independent FMAs with no memory
// traffic, so its rate is what the FMA units deliver (the denominator of the profile's "share of
// peak"; a VM, a turbo limit or a core that splits 512-bit FMAs shows up here, not in a table).
#include "fmapeak.h"

#include <chrono>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "gemm.h"
#include "threadpool.h"

namespace ctr {
namespace {

// ACC independent accumulator chains hide the FMA latency (4-5 cycles) on two pipes.
constexpr int ACC = 12;

#if defined(__x86_64__)
__attribute__((target("avx512f"))) double loop512(long iters) {
  __m512 acc[ACC];
  for (int i = 0; i < ACC; ++i) acc[i] = _mm512_set1_ps(1.0f + i * 1e-3f);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < ACC; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 s = acc[0];
  for (int i = 1; i < ACC; ++i) s = _mm512_add_ps(s, acc[i]);
  alignas(64) float o[16];
  _mm512_store_ps(o, s);
  return (double)o[0];
}

__attribute__((target("avx2,fma"))) double loop256(long iters) {
  __m256 acc[ACC];
  for (int i = 0; i < ACC; ++i) acc[i] = _mm256_set1_ps(1.0f + i * 1e-3f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 12
    for (int i = 0; i < ACC; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 s = acc[0];
  for (int i = 1; i < ACC; ++i) s = _mm256_add_ps(s, acc[i]);
  alignas(32) float o[8];
  _mm256_store_ps(o, s);
  return (double)o[0];
}
#endif

double loopScalar(long iters) {
  float acc[ACC];
  for (int i = 0; i < ACC; ++i) acc[i] = 1.0f + i * 1e-3f;
  for (long it = 0; it < iters; ++it)
    for (int i = 0; i < ACC; ++i) acc[i] = acc[i] * 0.999999f + 1e-7f;
  double s = 0;
  for (int i = 0; i < ACC; ++i) s += acc[i];
  return s;
}

}  // namespace

FmaPeak measureFmaPeak(double seconds) {
  std::string fam = gemmKernelName();
  int width = 1;
  double (*loop)(long) = loopScalar;
#if defined(__x86_64__)
  if (fam == "avx512") width = 16, loop = loop512;
  else if (fam == "avx2") width = 8, loop = loop256;
#endif
  // Many short tasks: the pool's dynamic scheduling keeps every thread busy to the end.
  constexpr long ITERS = 1L << 16;
  const double flopsPerTask = (double)ITERS * ACC * width * 2;
  ThreadPool& pool = ThreadPool::instance();
  int ntasks = 8 * pool.threads();
  volatile double sink = 0;
  pool.run(ntasks, [&](int) { sink = sink + loop(ITERS); });  // warm-up: clocks and threads up
  double best = 0;
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  do {
    auto t0 = std::chrono::steady_clock::now();
    pool.run(ntasks, [&](int) { sink = sink + loop(ITERS); });
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > 0 && flopsPerTask * ntasks / s > best) best = flopsPerTask * ntasks / s;
  } while (std::chrono::steady_clock::now() < end);
  return {best / 1e9, pool.threads(), width};
}

}  // namespace ctr
