// What the reduced-precision inference layers (int8_gemm.cc, bf16_gemm.cc) share: the packed
// panel width and register tile, the fixed row blocking that makes results independent of the
// thread count, the activation epilogue, and the switch between the ISA path and the portable one.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

#include "gemm.h"
#include "kernels.h"
#include "threadpool.h"

namespace ctr {
namespace reduced {

constexpr int PANEL = 16;      // output columns per packed panel (one zmm of 32-bit lanes)
constexpr int MR = 6;          // rows per register tile
constexpr int NV = 4;          // panels per register tile: 6 x 4 accumulators + 4 B + 1 broadcast
constexpr int ROW_BLOCK = 48;  // rows per task; fixed, so tasks never depend on the thread count

inline int panels(int N) { return (N + PANEL - 1) / PANEL; }
inline unsigned short tailMask(int cnt) { return cnt >= 16 ? (unsigned short)0xFFFF : (unsigned short)((1u << cnt) - 1); }

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

}  // namespace reduced
}  // namespace ctr
