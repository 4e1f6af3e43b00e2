// Runtime ISA dispatch for bulk loops: the same loop body is compiled three times (AVX-512,
// AVX2, baseline x86-64) and the best one the CPU supports is chosen once. Bodies are plain C++
// loops that GCC vectorises; with -ffp-contract=off every variant rounds identically, so the
// choice never changes results.
#pragma once

namespace ctr {

enum class Isa { Base, Avx2, Avx512 };

inline Isa cpuIsa() {
  static const Isa isa = [] {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
      return Isa::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
    return Isa::Base;
  }();
  return isa;
}

}  // namespace ctr

#define CTR_INLINE static inline __attribute__((always_inline))

// CTR_MULTIVERSION(name, (params), (args)) defines `static void name(params)` that forwards
// to `name##Body(args)` (a CTR_INLINE function) compiled for the best available ISA.
#if defined(__x86_64__)
#define CTR_MULTIVERSION(name, params, args)                                                          \
  __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"))) static void name##Avx512 params { \
    name##Body args;                                                                                \
  }                                                                                                 \
  __attribute__((target("avx2,fma"))) static void name##Avx2 params { name##Body args; }            \
  static void name##Base params { name##Body args; }                                                \
  static void name params {                                                                         \
    switch (::ctr::cpuIsa()) {                                                                      \
      case ::ctr::Isa::Avx512: name##Avx512 args; return;                                           \
      case ::ctr::Isa::Avx2: name##Avx2 args; return;                                               \
      default: name##Base args; return;                                                            \
    }                                                                                               \
  }
#else
#define CTR_MULTIVERSION(name, params, args) \
  static void name params { name##Body args; }
#endif
