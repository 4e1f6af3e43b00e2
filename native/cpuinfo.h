// What CPUID says about this CPU: vendor, family/model, ISA features, the cache hierarchy and the
// number of 512-bit FMA units. GEMM blocking is derived from it (gemm.cc), and benchmarks print it,
// so that a figure can be traced to the micro-architecture it was measured on.
#pragma once

#include <string>

namespace ctr {

struct CpuInfo {
  std::string vendor;  // "GenuineIntel", "AuthenticAMD", … ("" off x86)
  std::string brand;   // the processor brand string, trimmed
  int family = 0, model = 0, stepping = 0;  // display family / model (extended fields folded in)
  // A name for the micro-architecture when family/model identify it ("zen4", "sapphire-rapids",
  // …), else "unknown".
  std::string uarch;
  bool avx2 = false, fma = false, avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false,
       avx512vnni = false, avx512bf16 = false, avxvnni = false, amx = false;
  // Cache sizes in bytes (0: not reported). l3SharedBy is the number of logical CPUs that share
  // one L3 instance (0: not reported, e.g. a VM that hides the topology leaves); l3PerCore is
  // the L3 one core can count on: l3 / l3SharedBy, or a per-vendor estimate (see cpuinfo.cc).
  long l1d = 0, l2 = 0, l3 = 0, l3PerCore = 0;
  int line = 64, l3SharedBy = 0;
  std::string cacheSource;  // the CPUID leaves the sizes came from
  // 512-bit FMA instructions one core completes per cycle: 2 (two full-width units), 1 (one
  // unit, or two 256-bit halves as Zen 4 and the Zen 5 laptop parts), 0 without AVX-512, -1
  // when the model is not in the table. fmaDatapath says it in words.
  int fma512Units = -1;
  std::string fmaDatapath;
};

// Read once (CPUID at first use); the addon calls it at load.
const CpuInfo& cpuInfo();

}  // namespace ctr
