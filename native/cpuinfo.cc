// CPUID decoding. Cache sizes come from the deterministic cache-parameter leaf (Intel leaf 4, AMD
// leaf 0x8000001D when TOPOEXT is set), else from AMD's legacy leaves 0x80000005/6 (which VMs
// often keep when they hide the topology). FMA unit counts are not in CPUID at all: they come
// from a table of the families/models this project has met (see fma512 below).
#include "cpuinfo.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace ctr {
namespace {

#if defined(__x86_64__)
struct Regs {
  unsigned a = 0, b = 0, c = 0, d = 0;
};

Regs cpuid(unsigned leaf, unsigned sub = 0) {
  Regs r;
  __cpuid_count(leaf, sub, r.a, r.b, r.c, r.d);
  return r;
}

// Leaf 4 / 0x8000001D share one layout: subleaf i describes one cache until type 0.
bool deterministicCaches(unsigned leaf, CpuInfo& ci) {
  bool any = false;
  for (unsigned i = 0; i < 16; ++i) {
    Regs r = cpuid(leaf, i);
    unsigned type = r.a & 0x1f;
    if (type == 0) break;
    unsigned level = (r.a >> 5) & 7, sharedBy = ((r.a >> 14) & 0xfff) + 1;
    long ways = ((r.b >> 22) & 0x3ff) + 1, parts = ((r.b >> 12) & 0x3ff) + 1, line = (r.b & 0xfff) + 1;
    long size = ways * parts * line * ((long)r.c + 1);
    if (type == 2) continue;  // instruction cache
    any = true;
    if (level == 1) ci.l1d = size, ci.line = (int)line;
    else if (level == 2) ci.l2 = size;
    else if (level == 3) ci.l3 = size, ci.l3SharedBy = (int)sharedBy;
  }
  return any;
}

// Intel family 6 models with AVX-512 (server parts have two 512-bit FMA units; Skylake/Cascade
// Lake SP have one on Bronze, Silver and most Gold 5xxx SKUs, which only the brand string tells).
struct IntelModel {
  int model;
  const char* uarch;
  int fma512;
};
constexpr IntelModel INTEL[] = {
    {85, "skylake-server", 2},    {106, "icelake-server", 2},  {108, "icelake-server", 2},
    {143, "sapphire-rapids", 2},  {207, "emerald-rapids", 2},  {173, "granite-rapids", 2},
    {174, "granite-rapids", 2},   {102, "cannonlake", 1},      {125, "icelake-client", 1},
    {126, "icelake-client", 1},   {140, "tigerlake", 1},       {141, "tigerlake", 1},
    {167, "rocketlake", 1},
};

void classify(CpuInfo& ci) {
  ci.uarch = "unknown";
  ci.fma512Units = ci.avx512f ? -1 : 0;
  if (ci.vendor == "GenuineIntel" && ci.family == 6) {
    for (const IntelModel& m : INTEL)
      if (m.model == ci.model) {
        ci.uarch = m.uarch;
        if (ci.avx512f) ci.fma512Units = m.fma512;
      }
    if (ci.model == 85 && ci.stepping >= 5) ci.uarch = ci.stepping >= 10 ? "cooperlake" : "cascadelake";
    const std::string& b = ci.brand;
    if (ci.model == 85 && ci.avx512f &&
        (b.find("Bronze") != std::string::npos || b.find("Silver") != std::string::npos ||
         (b.find("Gold 5") != std::string::npos && b.find("Gold 5122") == std::string::npos)))
      ci.fma512Units = 1;
  } else if (ci.vendor == "AuthenticAMD") {
    if (ci.family == 0x17) ci.uarch = "zen2";  // Zen, Zen+ and Zen 2: no AVX-512
    else if (ci.family == 0x19) ci.uarch = ci.avx512f ? "zen4" : "zen3";
    else if (ci.family == 0x1a) ci.uarch = "zen5";
    // Zen 4 executes a 512-bit FMA as two 256-bit halves; Zen 5 server (models 0x00-0x1f) and
    // desktop (0x40-0x4f) parts have full 512-bit units, the laptop ones (0x20-0x2f, 0x60-0x6f)
    // the 256-bit datapath.
    if (ci.avx512f && ci.family == 0x19) ci.fma512Units = 1;
    if (ci.avx512f && ci.family == 0x1a) {
      if (ci.model < 0x20 || (ci.model >= 0x40 && ci.model < 0x50)) ci.fma512Units = 2;
      else if ((ci.model >= 0x20 && ci.model < 0x30) || (ci.model >= 0x60 && ci.model < 0x70)) ci.fma512Units = 1;
    }
  }
  if (ci.fma512Units == 2) ci.fmaDatapath = "2 x 512-bit FMA";
  else if (ci.fma512Units == 1)
    ci.fmaDatapath = ci.vendor == "AuthenticAMD" ? "2 x 256-bit FMA (512-bit ops double-pumped)" : "1 x 512-bit FMA";
  else if (ci.fma512Units == 0)
    ci.fmaDatapath = ci.fma ? "256-bit FMA (no AVX-512)" : "no FMA";
  else
    ci.fmaDatapath = "unknown (model not in the table)";
}

CpuInfo read() {
  CpuInfo ci;
  Regs r0 = cpuid(0);
  char v[13] = {};
  std::memcpy(v, &r0.b, 4), std::memcpy(v + 4, &r0.d, 4), std::memcpy(v + 8, &r0.c, 4);
  ci.vendor = v;
  unsigned maxLeaf = r0.a, maxExt = cpuid(0x80000000).a;
  Regs r1 = cpuid(1);
  int baseFam = (r1.a >> 8) & 0xf, baseModel = (r1.a >> 4) & 0xf;
  ci.family = baseFam == 0xf ? baseFam + (int)((r1.a >> 20) & 0xff) : baseFam;
  ci.model = baseFam == 0xf || baseFam == 6 ? baseModel + (int)(((r1.a >> 16) & 0xf) << 4) : baseModel;
  ci.stepping = r1.a & 0xf;
  ci.fma = (r1.c >> 12) & 1;
  // AVX state must also be enabled by the OS (XGETBV); __builtin_cpu_supports checks that.
  __builtin_cpu_init();
  ci.avx2 = __builtin_cpu_supports("avx2");
  ci.avx512f = __builtin_cpu_supports("avx512f");
  ci.avx512bw = __builtin_cpu_supports("avx512bw");
  ci.avx512vl = __builtin_cpu_supports("avx512vl");
  ci.avx512dq = __builtin_cpu_supports("avx512dq");
  ci.avx512vnni = __builtin_cpu_supports("avx512vnni");
  ci.avx512bf16 = __builtin_cpu_supports("avx512bf16");
  if (maxLeaf >= 7) {
    Regs r7 = cpuid(7), r71 = cpuid(7, 1);
    ci.avxvnni = (r71.a >> 4) & 1;
    ci.amx = (r7.d >> 24) & 1;  // AMX-TILE
  }
  if (maxExt >= 0x80000004) {
    char b[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      Regs r = cpuid(0x80000002 + i);
      std::memcpy(b + 16 * i, &r.a, 4), std::memcpy(b + 16 * i + 4, &r.b, 4);
      std::memcpy(b + 16 * i + 8, &r.c, 4), std::memcpy(b + 16 * i + 12, &r.d, 4);
    }
    std::string s = b;
    size_t p = s.find_first_not_of(' '), q = s.find_last_not_of(' ');
    ci.brand = p == std::string::npos ? "" : s.substr(p, q - p + 1);
  }
  bool amd = ci.vendor == "AuthenticAMD";
  bool topoext = maxExt >= 0x80000001 && ((cpuid(0x80000001).c >> 22) & 1);
  if (!amd && maxLeaf >= 4 && deterministicCaches(4, ci)) ci.cacheSource = "leaf 4";
  else if (amd && topoext && maxExt >= 0x8000001d && deterministicCaches(0x8000001d, ci))
    ci.cacheSource = "leaf 0x8000001D";
  if (ci.l1d == 0 && amd && maxExt >= 0x80000005) {
    Regs r = cpuid(0x80000005);
    ci.l1d = (long)(r.c >> 24) << 10, ci.line = (int)(r.c & 0xff);
  }
  if (ci.l2 == 0 && maxExt >= 0x80000006) {  // Intel reports L2 here too (ECX only)
    Regs r = cpuid(0x80000006);
    ci.l2 = (long)(r.c >> 16) << 10;
    if (amd) ci.l3 = (long)(r.d >> 18) * (512L << 10);
    if (ci.cacheSource.empty()) ci.cacheSource = amd ? "leaves 0x80000005/6" : "leaf 0x80000006";
  }
  if (ci.l3SharedBy > 0)
    ci.l3PerCore = ci.l3 / ci.l3SharedBy;
  else if (amd)
    // Without the topology leaf: a Zen 2-5 L3 serves one CCX of at most 8 cores and at most
    // 32 MB (96 MB with V-Cache); a larger figure is a VM reporting the socket's total.
    ci.l3PerCore = std::min(ci.l3, 32L << 20) / 8;
  else
    ci.l3PerCore = std::min(ci.l3, 2L << 20);  // Intel server LLC: 1.25-2.5 MB per core
  classify(ci);
  return ci;
}
#else
CpuInfo read() {
  CpuInfo ci;
  ci.uarch = "unknown";
  ci.fmaDatapath = "unknown (not x86-64)";
  return ci;
}
#endif

}  // namespace

const CpuInfo& cpuInfo() {
  static const CpuInfo ci = read();
  return ci;
}

}  // namespace ctr
