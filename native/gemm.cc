// Single-precision GEMM in the BLIS/GotoBLAS style: A and B blocks are packed into
// micro-panel order, a register-tiled micro-kernel computes MR x NR output tiles, and the tile
// grid is spread over the ThreadPool. Kernel families are chosen at runtime from the CPU.
#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__x86_64__)
// GCC 12 reports the deliberately undefined pass-through operand of unmasked AVX-512
// intrinsics as maybe-uninitialized (GCC bug 105593); the warning is spurious.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

#include "cpuinfo.h"
#include "fastmath.h"
#include "threadpool.h"

namespace ctr {
namespace {

// Bias + activation applied to each finished output tile (only after the last K block), then,
// for a DCN-v2 cross layer, out = x0 ⊙ tile + res while the tile is still in L1.
struct Epilogue {
  const float* bias;  // already offset to the block's first column; may be null
  Act act;
  float param;
  // Cross update (x0 null: none). Offset to the block's first element, row stride ld; out may
  // be the GEMM's own output (updated in place).
  const float* x0 = nullptr;
  const float* res = nullptr;
  float* out = nullptr;
  long ld = 0;
};

struct Family {
  const char* name;  // ISA family: "avx512", "avx2" or "portable"
  Isa isa;
  int mr, nr, w;  // register tile MR x NR; NR is a multiple of the vector width w
  void (*block)(int kc, int mb, int nb, const float* Ap, const float* Ad, long lda, const float* Bp, float* C,
                long ldc, float alpha, float beta, const Epilogue* ep);
  // Packs op(A) rows [0, mb) x k [0, kc) (A already offset to the block) into MR-row panels,
  // k-major, panels [q0, q1) only; the last panel is zero-padded to MR rows.
  void (*packA)(bool ta, const float* A, long lda, int mb, int kc, int q0, int q1, float* dst);
  void (*actRow)(float* y, const float* bias, int n, Act act, float param);
  void (*gradRow)(const float* y, const float* dy, float* out, long n, Act act, float param);
  void (*crossRow)(const float* z, const float* x0, const float* res, float* out, int n);
  void (*gemvDot)(int m, int k, const float* a, long lda, const float* x, float* y, long incy, float alpha,
                  float beta);
  void (*gemvAxpy)(int n, int k, const float* b, long ldb, const float* x, float* y, long incy, float alpha,
                   float beta);
};

#if defined(__x86_64__)

// AVX-512: 6 x 64 tile = 24 zmm accumulators, 4 B vectors and 1 broadcast register per row.
// Zen 4 splits each 512-bit FMA into two 256-bit halves, yet measured single-threaded this tile
// beat the 14x32, 12x32, 8x48 and 7x64 zmm tiles, the 6x32 / 14x16 ymm tiles, and (at the final
// blocking) the AVX2 6x16 kernel by 2-15%: half the instructions per FLOP, four B vectors per
// broadcast.
namespace avx512 {
#define CTR_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
using V = __m512;
constexpr int W = 16;
constexpr const char* NAME = "avx512";
constexpr Isa ISA = Isa::Avx512;
CTR_TARGET static inline V vzero() { return _mm512_setzero_ps(); }
CTR_TARGET static inline V vset1(float x) { return _mm512_set1_ps(x); }
CTR_TARGET static inline V vload(const float* p) { return _mm512_loadu_ps(p); }
CTR_TARGET static inline void vstore(float* p, V v) { _mm512_storeu_ps(p, v); }
CTR_TARGET static inline V vloadn(const float* p, int n) { return _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), p); }
CTR_TARGET static inline void vstoren(float* p, V v, int n) { _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), v); }
CTR_TARGET static inline V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
CTR_TARGET static inline V vmul(V a, V b) { return _mm512_mul_ps(a, b); }
CTR_TARGET static inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
CTR_TARGET static inline V vsub(V a, V b) { return _mm512_sub_ps(a, b); }
CTR_TARGET static inline V vmax(V a, V b) { return _mm512_max_ps(a, b); }
CTR_TARGET static inline V vmin(V a, V b) { return _mm512_min_ps(a, b); }
CTR_TARGET static inline V vdiv(V a, V b) { return _mm512_div_ps(a, b); }
CTR_TARGET static inline V vsqrt(V a) { return _mm512_sqrt_ps(a); }
CTR_TARGET static inline float vsum(V a) { return _mm512_reduce_add_ps(a); }
CTR_TARGET static inline V vselgt(V a, V b, V x, V y) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), y, x);
}
namespace t6x64 {
constexpr int MR = 6, NV = 4;
#include "gemm_kernels.inc"
}  // namespace t6x64
// 14 x 32 (28 accumulators, 2 B vectors per 14 broadcasts): 40 % less packed-panel traffic per
// FMA than 6 x 64, for cores whose L2 -> L1 bandwidth rather than FMA issue is the limit.
namespace t14x32 {
constexpr int MR = 14, NV = 2;
#include "gemm_kernels.inc"
}  // namespace t14x32
#undef CTR_TARGET
}  // namespace avx512

// AVX2 + FMA: 16 ymm registers allow the classic 6 x 16 tile (12 accumulators, 2 B vectors,
// 6 broadcasts per k) and 4 x 24 (12 accumulators, 3 B vectors, 4 broadcasts: a third fewer
// broadcast loads per FMA). On Zen 3 4 x 24 was within noise of 6 x 16 (serving +1-3 %, dW
// -1-10 %, docs/benchmarks.md), so 6 x 16 stays the default and 4 x 24 is a gemm-tune candidate.
namespace avx2 {
#define CTR_TARGET __attribute__((target("avx2,fma")))
using V = __m256;
constexpr int W = 8;
constexpr const char* NAME = "avx2";
constexpr Isa ISA = Isa::Avx2;
CTR_TARGET static inline V vzero() { return _mm256_setzero_ps(); }
CTR_TARGET static inline V vset1(float x) { return _mm256_set1_ps(x); }
CTR_TARGET static inline V vload(const float* p) { return _mm256_loadu_ps(p); }
CTR_TARGET static inline void vstore(float* p, V v) { _mm256_storeu_ps(p, v); }
CTR_TARGET static inline __m256i tailMask(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
CTR_TARGET static inline V vloadn(const float* p, int n) { return _mm256_maskload_ps(p, tailMask(n)); }
CTR_TARGET static inline void vstoren(float* p, V v, int n) { _mm256_maskstore_ps(p, tailMask(n), v); }
CTR_TARGET static inline V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
CTR_TARGET static inline V vmul(V a, V b) { return _mm256_mul_ps(a, b); }
CTR_TARGET static inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
CTR_TARGET static inline V vsub(V a, V b) { return _mm256_sub_ps(a, b); }
CTR_TARGET static inline V vmax(V a, V b) { return _mm256_max_ps(a, b); }
CTR_TARGET static inline V vmin(V a, V b) { return _mm256_min_ps(a, b); }
CTR_TARGET static inline V vdiv(V a, V b) { return _mm256_div_ps(a, b); }
CTR_TARGET static inline V vsqrt(V a) { return _mm256_sqrt_ps(a); }
CTR_TARGET static inline float vsum(V a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
CTR_TARGET static inline V vselgt(V a, V b, V x, V y) { return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_GT_OQ)); }
namespace t6x16 {
constexpr int MR = 6, NV = 2;
#include "gemm_kernels.inc"
}  // namespace t6x16
namespace t4x24 {
constexpr int MR = 4, NV = 3;
#include "gemm_kernels.inc"
}  // namespace t4x24
#undef CTR_TARGET
}  // namespace avx2

#endif  // __x86_64__

// Portable scalar family: plain C++ the compiler may auto-vectorise for the baseline ISA.
namespace portable {
#define CTR_TARGET
using V = float;
constexpr int W = 1, MR = 4, NV = 8;
constexpr const char* NAME = "portable";
constexpr Isa ISA = Isa::Base;
static inline V vzero() { return 0.0f; }
static inline V vset1(float x) { return x; }
static inline V vload(const float* p) { return *p; }
static inline void vstore(float* p, V v) { *p = v; }
static inline V vloadn(const float* p, int) { return *p; }
static inline void vstoren(float* p, V v, int) { *p = v; }
static inline V vfma(V a, V b, V c) { return a * b + c; }
static inline V vmul(V a, V b) { return a * b; }
static inline V vadd(V a, V b) { return a + b; }
static inline V vsub(V a, V b) { return a - b; }
static inline V vmax(V a, V b) { return a > b ? a : b; }
static inline V vmin(V a, V b) { return a < b ? a : b; }
static inline V vdiv(V a, V b) { return a / b; }
static inline V vsqrt(V a) { return std::sqrt(a); }
static inline float vsum(V a) { return a; }
static inline V vselgt(V a, V b, V x, V y) { return a > b ? x : y; }
#include "gemm_kernels.inc"
#undef CTR_TARGET
}  // namespace portable

// Every family this build has, best first within an ISA. Tile shapes of one ISA give the same
// bits (each output sums its products in k order with the same FMA), so a shape is chosen for
// speed alone; only KC (the K-block boundaries) changes the rounding.
const Family* const FAMILIES[] = {
#if defined(__x86_64__)
    &avx512::t6x64::family, &avx512::t14x32::family, &avx2::t6x16::family, &avx2::t4x24::family,
#endif
    &portable::family};

std::string familyId(const Family& f) {
  return std::string(f.name) + "-" + std::to_string(f.mr) + "x" + std::to_string(f.nr);
}

bool supported(const Family& f) {
  return f.isa == Isa::Base || (f.isa == Isa::Avx2 && cpuIsa() != Isa::Base) || f.isa == cpuIsa();
}

// The best ISA family the CPU supports; CTRKIT_GEMM_KERNEL=avx2|portable forces a lower one (a
// forced family the CPU lacks falls back to the best supported one rather than crashing).
Isa selectIsa() {
  const char* force = std::getenv("CTRKIT_GEMM_KERNEL");
  std::string want = force ? force : "";
  if (want == "portable") return Isa::Base;
  if (want == "avx2" && cpuIsa() != Isa::Base) return Isa::Avx2;
  return cpuIsa();
}

const Family& firstOf(Isa isa) {
  for (const Family* f : FAMILIES)
    if (f->isa == isa) return *f;
  return portable::family;
}

// Micro-architectures where a measurement chose something other than the rule (gemm.h).
struct Tuned {
  const char* uarch;
  const char* kernel;  // AVX-512 tile; null: the rule's
  int mc;              // 0: the rule's
};
constexpr Tuned TABLE[] = {
    // Zen 4: 6x64 beat 14x32, 12x32, 8x48 and 7x64 by 2-15 % single-threaded; MC 120.
    {"zen4", "avx512-6x64", 120},
    // Zen 5 (2026-12-02, paired windows): 14x32 0.98x of 6x64, MC 126 / 240 within noise of 120.
    {"zen5", "avx512-6x64", 120},
    // Zen 3 (AVX2, 512 KiB L2; 2026-12-02, best-of windows on a noisy host): no row — 6x16 at the
    // rule's MC 126 runs serving shapes at 85-90 % of the FMA peak; 4x24 0.91-1.09x of it, MC
    // 60 / 120 / 240 within noise.
};

// One blocking, immutable once published. generation numbers the distinct blockings: a B pack
// records the one it was made under, and is stale under any other.
struct Active {
  const Family* f;
  GemmBlocking b;
  int generation = 0;
};

Active resolve(const GemmBlocking& b) {
  for (const Family* f : FAMILIES)
    if (familyId(*f) == b.kernel) {
      if (!supported(*f)) throw std::invalid_argument("GEMM kernel '" + b.kernel + "' is not supported by this CPU");
      return {f, b};
    }
  std::string all;
  for (const Family* f : FAMILIES) all += (all.empty() ? "" : ", ") + familyId(*f);
  throw std::invalid_argument("unknown GEMM kernel '" + b.kernel + "' (this build has " + all + ")");
}

void validate(const GemmBlocking& b) {
  if (b.kc < 16 || b.kc > 8192) throw std::invalid_argument("GEMM kc must be in [16, 8192], got " + std::to_string(b.kc));
  if (b.mc < 1 || b.mc > 4096) throw std::invalid_argument("GEMM mc must be in [1, 4096], got " + std::to_string(b.mc));
  if (b.packA < b.kc || b.packB < b.kc)
    throw std::invalid_argument("GEMM packA and packB must hold at least one row of kc floats");
}

// CTRKIT_GEMM_BLOCKING="kc=512,mc=96,kernel=avx512-14x32,packa=…,packb=…" overrides any field.
GemmBlocking withEnv(GemmBlocking b) {
  const char* env = std::getenv("CTRKIT_GEMM_BLOCKING");
  if (!env || !*env) return b;
  std::string s = env;
  for (size_t p = 0; p < s.size();) {
    size_t e = s.find(',', p);
    if (e == std::string::npos) e = s.size();
    std::string item = s.substr(p, e - p), key = item.substr(0, item.find('='));
    std::string val = item.find('=') == std::string::npos ? "" : item.substr(item.find('=') + 1);
    auto num = [&]() {
      char* end = nullptr;
      long v = std::strtol(val.c_str(), &end, 10);
      if (val.empty() || *end) throw std::invalid_argument("CTRKIT_GEMM_BLOCKING: " + key + " must be an integer, got '" + val + "'");
      return v;
    };
    if (key == "kc") b.kc = (int)num();
    else if (key == "mc") b.mc = (int)num();
    else if (key == "packa") b.packA = num();
    else if (key == "packb") b.packB = num();
    else if (key == "kernel") b.kernel = val;
    else throw std::invalid_argument("CTRKIT_GEMM_BLOCKING: unknown key '" + key + "' in '" + s + "' (kc, mc, packa, packb, kernel)");
    p = e + 1;
  }
  b.source = "CTRKIT_GEMM_BLOCKING";
  return b;
}

// The kernel and MC in a gemm-tune cache file's text, or why the text is not the tuner's output
// (bench/gemmTune.ts writes one JSON object, {"kernel":"…","mc":N,…}, a few hundred bytes).
struct TunedChoice {
  std::string kernel;
  int mc = 0;
  std::string problem;  // empty: kernel and mc are usable on this CPU
};

TunedChoice parseTuned(const std::string& text, bool cut) {
  TunedChoice c;
  size_t first = text.find_first_not_of(" \t\r\n"), last = text.find_last_not_of(" \t\r\n");
  if (cut) return c.problem = "over 4 KiB, not gemm-tune's output", c;
  if (first == std::string::npos || text[first] != '{' || text[last] != '}')
    return c.problem = "not a JSON object (empty or cut short?)", c;
  // The value of "key": a string's contents, or a bare token up to the next ',', '}' or space.
  auto field = [&](const std::string& key, bool& found) {
    size_t p = text.find("\"" + key + "\"");
    found = p != std::string::npos && (p = text.find_first_not_of(" \t\r\n", p + key.size() + 2)) != std::string::npos &&
            text[p] == ':' && (p = text.find_first_not_of(" \t\r\n", p + 1)) != std::string::npos;
    if (!found) return std::string();
    size_t e = text[p] == '"' ? text.find('"', ++p) : text.find_first_of(",} \t\r\n", p);
    found = e != std::string::npos;
    return found ? text.substr(p, e - p) : std::string();
  };
  bool hasKernel, hasMc;
  c.kernel = field("kernel", hasKernel);
  std::string mc = field("mc", hasMc);
  if (!hasKernel) return c.problem = "no \"kernel\" field", c;
  if (!hasMc) return c.problem = "no \"mc\" field", c;
  char* end = nullptr;
  long m = std::strtol(mc.c_str(), &end, 10);
  if (mc.empty() || *end || m < 1 || m > 4096) return c.problem = "\"mc\" must be an integer in [1, 4096], got '" + mc + "'", c;
  c.mc = (int)m;
  GemmBlocking k;
  k.kernel = c.kernel;
  try {
    resolve(k);  // an unknown kernel, or one this CPU lacks, with the reason
  } catch (const std::invalid_argument& e) {
    c.problem = e.what();
  }
  return c;
}

// The choice `npm run bench -- gemm-tune` cached for this CPU: a kernel of the default's ISA and
// an MC, both bit-neutral, so a tuned machine computes the same bits as an untuned one.
// CTRKIT_GEMM_TUNE=0 ignores it, as does a forced lower ISA (CTRKIT_GEMM_KERNEL). A file that is
// not the tuner's (malformed, cut short, a kernel this build or CPU lacks) is reported once on
// stderr and the default kept: it only costs speed, so it must not stop a run, but left silent
// it would leave the machine untuned without anyone knowing.
GemmBlocking withTuned(GemmBlocking b) {
  const char* off = std::getenv("CTRKIT_GEMM_TUNE");
  if (off && std::string(off) == "0") return b;
  std::string path = gemmTuneFile();
  std::FILE* fp = path.empty() ? nullptr : std::fopen(path.c_str(), "rb");
  if (!fp) return b;
  char buf[4096];
  size_t n = std::fread(buf, 1, sizeof buf, fp);
  std::fclose(fp);
  TunedChoice t = parseTuned(std::string(buf, n), n == sizeof buf);
  if (!t.problem.empty()) {
    std::fprintf(stderr, "ctrkit: warning: ignoring the GEMM tuning cache %s: %s; using the CPUID defaults "
                 "(rerun `npm run bench -- gemm-tune`, or delete the file)\n", path.c_str(), t.problem.c_str());
    return b;
  }
  std::string isa = b.kernel.substr(0, b.kernel.find('-') + 1);
  if (t.kernel.compare(0, isa.size(), isa) != 0) return b;
  b.kernel = t.kernel, b.mc = t.mc, b.source = "tuned (" + path + ")";
  return b;
}

// The blocking in use is a pointer to an immutable snapshot, which a GEMM loads once at its start
// and uses throughout: setGemmBlocking on another thread (a tuning main thread while a worker
// scores) then never tears a GEMM's view (kc from one blocking, the tile from another, a pack's
// layout checked against one and read under another). Snapshots are interned by value and never
// freed — a GEMM in flight may still hold the previous one, and a process sees few distinct
// blockings (a tuning run a few dozen) — so a blocking set again gets its old generation back.
std::mutex snapshotsMu;  // serialises setters; readers only load `current`
std::atomic<const Active*> current{nullptr};

const Active* intern(const Active& a) {
  static auto* all = new std::vector<std::unique_ptr<const Active>>();  // never destroyed (see above)
  for (const auto& s : *all)
    if (s->f == a.f && s->b.kernel == a.b.kernel && s->b.kc == a.b.kc && s->b.mc == a.b.mc && s->b.packA == a.b.packA &&
        s->b.packB == a.b.packB && s->b.source == a.b.source)
      return s.get();
  all->push_back(std::make_unique<const Active>(Active{a.f, a.b, (int)all->size()}));
  return all->back().get();
}

const Active& active() {
  if (const Active* a = current.load(std::memory_order_acquire)) return *a;
  std::lock_guard<std::mutex> lock(snapshotsMu);
  const Active* a = current.load(std::memory_order_relaxed);
  if (!a) current.store(a = intern(resolve(gemmStartBlocking())), std::memory_order_release);
  return *a;
}

const Family& family() { return *active().f; }

// 64-byte aligned scratch that only grows, so steady-state calls never allocate.
class Scratch {
 public:
  ~Scratch() { std::free(p_); }
  float* get(size_t n) {
    if (n > cap_) {
      std::free(p_);
      cap_ = (n + 15) & ~size_t(15);
      p_ = static_cast<float*>(std::aligned_alloc(64, cap_ * sizeof(float)));
      if (!p_) throw std::bad_alloc();
    }
    return p_;
  }

 private:
  float* p_ = nullptr;
  size_t cap_ = 0;
};

// Below this many multiply-adds per task a split costs more in wake-ups than it gains.
constexpr long MIN_TASK_WORK = 1L << 18;
constexpr int TARGET_TASKS = 32;

// Packs k [p0, p0+kc) x columns [j0, j0+nb) of op(B) into NR-column panels, k-major; the last
// panel is only as wide as its columns rounded up to the vector width W (zero-padded).
void packB(bool tb, const float* B, long ldb, int j0, int nb, int p0, int kc, int NR, int W, int q0, int q1,
           float* dst) {
  for (int q = q0; q < q1; ++q) {
    float* d = dst + (long)q * kc * NR;
    int c0 = j0 + q * NR, cols = std::min(NR, nb - q * NR);
    int width = std::min(NR, (cols + W - 1) / W * W);
    if (tb) {
      for (int c = 0; c < cols; ++c) {
        const float* s = B + (long)(c0 + c) * ldb + p0;
        for (int k = 0; k < kc; ++k) d[(long)k * width + c] = s[k];
      }
      for (int c = cols; c < width; ++c)
        for (int k = 0; k < kc; ++k) d[(long)k * width + c] = 0.0f;
    } else {
      for (int k = 0; k < kc; ++k) {
        const float* s = B + (long)(p0 + k) * ldb + c0;
        std::memcpy(d + (long)k * width, s, cols * sizeof(float));
        for (int c = cols; c < width; ++c) d[(long)k * width + c] = 0.0f;
      }
    }
  }
}

// Row/column blocks of near-equal size (in whole panels), so no thin remainder block.
int evenBlock(int n, long cap, int unit) {
  long maxBlk = std::max<long>(unit, cap / unit * unit);
  long nblk = (n + maxBlk - 1) / maxBlk;
  long per = (n + nblk - 1) / nblk;
  return (int)((per + unit - 1) / unit * unit);
}

// K split into ceil(K / kc) near-equal blocks.
int kcStepOf(const Active& cur, int K) {
  int nkb = (K + cur.b.kc - 1) / cur.b.kc;
  return (K + nkb - 1) / nkb;
}

// A pre-packed B: a header of PACK_HEADER floats (int32 fields below), then the panels of every
// (column block, K block) in the order gemmImpl visits them, from a 64-byte aligned offset.
constexpr int PACK_HEADER = 16;
constexpr int32_t PACK_MAGIC = 0x50525443;  // "CTRP"
enum PackField { kMagic, kGeneration, kK, kN, kOffset };

// Columns that nb columns take in NR-wide panels: the last panel only W-rounded (packB).
long panelColumns(int nb, int NR, int W) {
  int full = (nb - 1) / NR;
  return (long)full * NR + (nb - full * NR + W - 1) / W * W;
}

long packedPanelsSize(const Active& cur, int K, int N) {
  int kcStep = kcStepOf(cur, K), NR = cur.f->nr;
  int NB = evenBlock(N, cur.b.packB / kcStep, NR);
  long cols = 0;
  for (int j0 = 0; j0 < N; j0 += NB) cols += panelColumns(std::min(NB, N - j0), NR, cur.f->w);
  return cols * K;
}

int32_t packField(const float* pk, PackField f) {
  int32_t v;
  std::memcpy(&v, pk + f, sizeof v);
  return v;
}

// The panels of a pack of `floats` floats made for this blocking and shape; null when stale
// (another blocking) or cut short, so a pack is only read under the blocking it was sized for.
const float* packedPanels(const Active& cur, const float* pk, long floats, int K, int N) {
  if (!pk || floats < PACK_HEADER || packField(pk, kMagic) != PACK_MAGIC || packField(pk, kGeneration) != cur.generation ||
      packField(pk, kK) != K || packField(pk, kN) != N || floats < packField(pk, kOffset) + packedPanelsSize(cur, K, N))
    return nullptr;
  return pk + packField(pk, kOffset);
}

void scaleRows(const Family& f, int M, int N, float beta, float* C, long ldc, const Epilogue* ep) {
  for (long i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    if (beta == 0)
      std::fill(c, c + N, 0.0f);
    else if (beta != 1)
      for (int j = 0; j < N; ++j) c[j] *= beta;
    if (ep) f.actRow(c, ep->bias, N, ep->act, ep->param);
  }
}

// M == 1 or N == 1: the output is one vector y = alpha * Mat · x + beta * y. Whether Mat is read
// by rows (dot products) or by columns (axpy over k) follows from the storage order.
void gemv(const Family& f, bool ta, bool tb, int M, int N, int K, float alpha, const float* A, long lda,
          const float* B, long ldb, float beta, float* C, long ldc, const Epilogue* ep) {
  const float *mat, *x;
  long ldm, incx, incy;
  int n;
  bool byRows;
  if (N == 1) {  // y = C[:, 0] (stride ldc), Mat = op(A), x = op(B)[:, 0]
    n = M, mat = A, ldm = lda, byRows = !ta, x = B, incx = tb ? 1 : ldb, incy = ldc;
  } else {  // y = C[0, :], Mat = op(B)ᵀ, x = op(A)[0, :]
    n = N, mat = B, ldm = ldb, byRows = tb, x = A, incx = ta ? lda : 1, incy = 1;
  }
  thread_local Scratch xbuf;
  if (incx != 1) {
    float* xc = xbuf.get(K);
    for (int k = 0; k < K; ++k) xc[k] = x[k * incx];
    x = xc;
  }
  constexpr int CHUNK = 1024;  // outputs per task; also gemvAxpy's accumulator size
  int chunks = (n + CHUNK - 1) / CHUNK;
  auto task = [&](int c) {
    int j0 = c * CHUNK, cnt = std::min(CHUNK, n - j0);
    if (byRows)
      f.gemvDot(cnt, K, mat + j0 * ldm, ldm, x, C + j0 * incy, incy, alpha, beta);
    else
      f.gemvAxpy(cnt, K, mat + j0, ldm, x, C + j0 * incy, incy, alpha, beta);
  };
  if ((long)n * K < 2 * MIN_TASK_WORK)
    for (int c = 0; c < chunks; ++c) task(c);
  else
    ThreadPool::instance().run(chunks, task);
  if (!ep) return;
  if (N > 1) return f.actRow(C, ep->bias, N, ep->act, ep->param);
  if (ldc == 1) {  // a contiguous column (a logit layer): one vectorised pass
    if (ep->bias)
      for (int i = 0; i < M; ++i) C[i] += ep->bias[0];
    return f.actRow(C, nullptr, M, ep->act, ep->param);
  }
  for (int i = 0; i < M; ++i) f.actRow(C + (long)i * ldc, ep->bias, 1, ep->act, ep->param);
}

// packedB: null, or a gemmPackB pack of B (tb false) of packedFloats floats; a stale pack is
// ignored (B is packed here).
void gemmImpl(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, long lda, const float* B, long ldb,
              float beta, float* C, long ldc, const Epilogue* ep, const float* packedB = nullptr,
              long packedFloats = 0) {
  if (M <= 0 || N <= 0) return;
  const Active& cur = active();
  const Family& f = *cur.f;
  if (K <= 0 || alpha == 0 || M == 1 || N == 1) {
    if (K <= 0 || alpha == 0)
      scaleRows(f, M, N, beta, C, ldc, ep);
    else
      gemv(f, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ep);
    if (ep && ep->x0)
      for (long i = 0; i < M; ++i) f.crossRow(C + i * ldc, ep->x0 + i * ep->ld, ep->res + i * ep->ld, ep->out + i * ep->ld, N);
    return;
  }
  const int MR = f.mr, NR = f.nr;

  const int MC_MAX = cur.b.mc;
  int kcStep = kcStepOf(cur, K);
  int MB = evenBlock(M, cur.b.packA / kcStep, MR);
  int NB = evenBlock(N, cur.b.packB / kcStep, NR);

  const float* prepacked = tb ? nullptr : packedPanels(cur, packedB, packedFloats, K, N);
  // With B pre-packed (inference) A is read in place, as MLAS does: packing it was ≈ 4 % of a
  // 100-row layer. Training (B packed per call) keeps packed A: its A block is reused across
  // many more B panels there.
  const bool direct = prepacked && !ta;
  thread_local Scratch bufA, bufB;
  float* Ap = bufA.get((long)(std::min(M, MB) + MR) * kcStep);
  float* Bp = prepacked ? nullptr : bufB.get((long)(std::min(N, NB) + NR) * kcStep);
  ThreadPool& pool = ThreadPool::instance();

  for (int i0 = 0; i0 < M; i0 += MB) {
    int mb = std::min(MB, M - i0), mp = (mb + MR - 1) / MR;
    long packOff = 0;  // the current (column block, K block)'s panels in the pre-packed B
    for (int j0 = 0; j0 < N; j0 += NB) {
      int nb = std::min(NB, N - j0), np = (nb + NR - 1) / NR;
      for (int p0 = 0; p0 < K; p0 += kcStep) {
        int kc = std::min(kcStep, K - p0);
        long work = (long)mb * nb * kc;
        int target = (int)std::min<long>(TARGET_TASKS, std::max<long>(1, work / MIN_TASK_WORK));

        // Task grid over the block: rows start at MC_MAX, then the longer side is halved until
        // there are enough tasks for dynamic load balance.
        int tr = std::min(mp, std::max(1, MC_MAX / MR)), tc = np;
        for (;;) {
          int nt = ((mp + tr - 1) / tr) * ((np + tc - 1) / tc);
          if (nt >= target) break;
          if (tc > 1 && (long)tc * NR >= (long)tr * MR)
            tc = (tc + 1) / 2;
          else if (tr > 1)
            tr = (tr + 1) / 2;
          else if (tc > 1)
            tc = (tc + 1) / 2;
          else
            break;
        }
        int ntr = (mp + tr - 1) / tr, ntc = (np + tc - 1) / tc;

        const float* Ablk = ta ? A + (long)p0 * lda + i0 : A + (long)i0 * lda + p0;
        const float* Bblk = prepacked ? prepacked + packOff : Bp;
        packOff += panelColumns(nb, NR, f.w) * kc;
        if (direct) {
          // Full A panels are read in place; only a partial last panel needs its zero rows.
          if (mb % MR) f.packA(ta, Ablk, lda, mb, kc, mp - 1, mp, Ap);
        } else {
          // Packing tasks: A panels in groups of tr (one task row), B panels in groups of tc
          // (none when B came pre-packed).
          pool.run(target == 1 ? 1 : ntr + (prepacked ? 0 : ntc), [&](int t) {
            if (target == 1) {
              f.packA(ta, Ablk, lda, mb, kc, 0, mp, Ap);
              if (!prepacked) packB(tb, B, ldb, j0, nb, p0, kc, NR, f.w, 0, np, Bp);
            } else if (t < ntr) {
              f.packA(ta, Ablk, lda, mb, kc, t * tr, std::min(mp, (t + 1) * tr), Ap);
            } else {
              t -= ntr;
              packB(tb, B, ldb, j0, nb, p0, kc, NR, f.w, t * tc, std::min(np, (t + 1) * tc), Bp);
            }
          });
        }

        bool last = p0 + kc >= K;
        float bEff = p0 == 0 ? beta : 1.0f;
        pool.run(ntr * ntc, [&](int t) {
          int ti = t / ntc, tj = t % ntc;
          int r0 = ti * tr * MR, c0 = tj * tc * NR;
          int rows = std::min(mb - r0, tr * MR), cols = std::min(nb - c0, tc * NR);
          Epilogue e;
          if (last && ep) {
            e = {ep->bias ? ep->bias + j0 + c0 : nullptr, ep->act, ep->param};
            if (ep->x0) {
              long off = (long)(i0 + r0) * ep->ld + j0 + c0;
              e.x0 = ep->x0 + off, e.res = ep->res + off, e.out = ep->out + off, e.ld = ep->ld;
            }
          }
          f.block(kc, rows, cols, Ap + (long)r0 * kc, direct ? Ablk + (long)r0 * lda : nullptr, lda,
                  Bblk + (long)c0 * kc, C + (long)(i0 + r0) * ldc + j0 + c0, ldc, alpha, bEff,
                  last && ep ? &e : nullptr);
        });
      }
    }
  }
}

// Rows per chunk for elementwise / column-sum work; fixed so chunking never depends on threads.
constexpr long ROW_CHUNK = 256;

}  // namespace

void sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc) {
  gemmImpl(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, nullptr);
}

void gemmPackB(const float* B, int K, int N, const std::function<float*(long)>& alloc) {
  const Active& cur = active();
  const Family& f = *cur.f;
  // The header, the panels and up to 15 floats to align them to 64 bytes.
  float* dst = alloc(PACK_HEADER + 15 + packedPanelsSize(cur, K, N));
  int kcStep = kcStepOf(cur, K), NR = f.nr;
  int NB = evenBlock(N, cur.b.packB / kcStep, NR);
  int32_t offset = PACK_HEADER + (int32_t)((64 - (reinterpret_cast<uintptr_t>(dst + PACK_HEADER) & 63)) & 63) / 4;
  int32_t header[PACK_HEADER] = {PACK_MAGIC, cur.generation, K, N, offset};
  std::memcpy(dst, header, sizeof header);
  std::fill(dst + PACK_HEADER, dst + offset, 0.0f);
  float* d = dst + offset;
  // The order gemmImpl reads them in: column blocks, then K blocks within each.
  for (int j0 = 0; j0 < N; j0 += NB) {
    int nb = std::min(NB, N - j0), np = (nb + NR - 1) / NR;
    for (int p0 = 0; p0 < K; p0 += kcStep) {
      int kc = std::min(kcStep, K - p0);
      packB(false, B, N, j0, nb, p0, kc, NR, f.w, 0, np, d);
      d += panelColumns(nb, NR, f.w) * kc;
    }
  }
}

void linearForward(const float* X, const float* W, const float* bias, float* Y, int M, int K, int N, Act act,
                   float param, const float* packedW, long packedFloats) {
  Epilogue ep{bias, act, param};
  bool fused = bias != nullptr || act != Act::None;
  gemmImpl(false, false, M, N, K, 1.0f, X, K, W, N, 0.0f, Y, N, fused ? &ep : nullptr, packedW, packedFloats);
}

void crossForward(const float* A, const float* W, const float* b, const float* x0, const float* x, float* out,
                  float* z, int M, int K, int D, const float* packedW, long packedFloats) {
  Epilogue ep{b, Act::None, 0.0f, x0, x, out, D};
  gemmImpl(false, false, M, D, K, 1.0f, A, K, W, D, 0.0f, z ? z : out, D, &ep, packedW, packedFloats);
}

void crossBackward(const float* A, const float* W, const float* z, const float* x0, const float* dOut, float* dZ,
                   float* dA, float* dW, float* db, float* dx0, float* dx, int M, int K, int D) {
  if (M <= 0 || D <= 0) return;
  // One pass in the order the unfused ops' backward ran (residual add, then the product), with
  // their arithmetic (the product's gradient added in float64, as binaryBackward does), so every
  // gradient gets the same bits; dx and dx0 may be one buffer (the first layer, x = x0).
  long n = (long)M * D;
  parallelFor(n, ROW_CHUNK * 64, [&](long b0, long e) {
    for (long i = b0; i < e; ++i) {
      float g = dOut[i];
      if (dx) dx[i] += g;
      if (dx0) dx0[i] = (float)((double)dx0[i] + (double)g * z[i]);
      dZ[i] = g * x0[i];
    }
  });
  linearBackward(A, W, nullptr, dZ, nullptr, dA, dW, db, M, K, D, Act::None, 0.0f);
}

void activationBackward(Act act, const float* y, const float* dy, float* out, long n, float param) {
  parallelFor(n, ROW_CHUNK * 64, [&](long b, long e) { family().gradRow(y + b, dy + b, out + b, e - b, act, param); });
}

void activationRows(float* y, long n, Act act, float param) {
  if (act != Act::None) family().actRow(y, nullptr, (int)n, act, param);
}

void activationGradRows(const float* y, const float* dy, float* out, long n, Act act, float param) {
  if (act != Act::None) family().gradRow(y, dy, out, n, act, param);
  else if (out != dy) std::memcpy(out, dy, n * sizeof(float));
}

void linearBackward(const float* X, const float* W, const float* Y, const float* dY, float* dZ, float* dX, float* dW,
                    float* db, int M, int K, int N, Act act, float param, int overwrite) {
  if (M <= 0 || N <= 0) {
    // Nothing to add, but an overwritten output must still end as the zeros it stands for.
    if (dW && (overwrite & 2)) std::fill(dW, dW + (long)K * std::max(N, 0), 0.0f);
    if (db && (overwrite & 4)) std::fill(db, db + std::max(N, 0), 0.0f);
    return;
  }
  const Family& f = family();
  if (db && (overwrite & 4)) std::fill(db, db + N, 0.0f);
  const float* g = act == Act::None ? dY : dZ;
  if (act != Act::None || db) {
    // One pass per fixed row chunk: dZ rows while they are hot, plus that chunk's column sums;
    // the chunk sums are then added to db in chunk order.
    long chunks = (M + ROW_CHUNK - 1) / ROW_CHUNK;
    thread_local Scratch partial;
    float* part = db ? partial.get(chunks * N) : nullptr;
    parallelFor(chunks, 1, [&](long c0, long c1) {
      for (long c = c0; c < c1; ++c) {
        long r0 = c * ROW_CHUNK, r1 = std::min<long>(M, r0 + ROW_CHUNK);
        float* s = part ? part + c * N : nullptr;
        if (s) std::fill(s, s + N, 0.0f);
        for (long i = r0; i < r1; ++i) {
          if (act != Act::None) f.gradRow(Y + i * N, dY + i * N, dZ + i * N, N, act, param);
          if (s)
            for (int j = 0; j < N; ++j) s[j] += g[i * N + j];
        }
      }
    });
    for (long c = 0; db && c < chunks; ++c)
      for (int j = 0; j < N; ++j) db[j] += part[c * N + j];
  }
  // beta 0 never reads C; 1·acc + 0 and acc differ at most in the sign of a zero from underflow.
  if (dX) sgemm(false, true, M, K, N, 1.0f, g, N, W, N, (overwrite & 1) ? 0.0f : 1.0f, dX, K);
  if (dW) sgemm(true, false, K, N, M, 1.0f, X, K, g, N, (overwrite & 2) ? 0.0f : 1.0f, dW, N);
}

const char* gemmKernelName() { return family().name; }

GemmBlocking gemmDefaultBlocking() {
  const CpuInfo& ci = cpuInfo();
  const Family& f = firstOf(selectIsa());
  GemmBlocking b;
  b.kernel = familyId(f);
  b.source = "rule";
  // KC: the largest power of two in [128, 1024] whose widest B micro-panel (KC x 64 floats) takes
  // at most a quarter of L2: a long K block wins (every extra block re-reads and re-writes C,
  // measured on Zen 4), while the task's A block and the B micro-panel must share L2. Beyond
  // 1024 C traffic is already negligible. Every tile shape uses this KC, so the shape never
  // changes bits.
  long l2 = ci.l2 > 0 ? ci.l2 : 1L << 20;
  b.kc = 1024;
  while (b.kc > 128 && (long)b.kc * 64 * 4 > l2 / 4) b.kc /= 2;
  // MC: the rows of a task's A block (MC x KC) fill at most half of L2, in whole MR panels.
  b.mc = std::max<int>(f.mr, (int)(l2 / 2 / (4L * b.kc)) / f.mr * f.mr);
  // Packed B (shared by the threads) up to the L3 one core can count on, packed A twice that;
  // at least 4 MiB of B, the Zen 4 measurement: a smaller cap splits N, and each N block packs
  // A again.
  b.packB = std::max<long>(1L << 20, ci.l3PerCore / 4);
  b.packA = 2 * b.packB;
  for (const Tuned& t : TABLE)
    if (ci.uarch == t.uarch) {
      if (t.kernel && f.isa == Isa::Avx512) b.kernel = t.kernel;
      if (t.mc) b.mc = t.mc;
      b.source = std::string("table (") + t.uarch + ")";
    }
  return b;
}

GemmBlocking gemmStartBlocking() {
  static const GemmBlocking b = [] {
    GemmBlocking s = withEnv(withTuned(gemmDefaultBlocking()));
    validate(s);
    return s;
  }();
  return b;
}

GemmBlocking gemmBlocking() { return active().b; }

std::string gemmTuneFile() {
  const CpuInfo& c = cpuInfo();
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::string dir = xdg && *xdg ? std::string(xdg) : home && *home ? std::string(home) + "/.cache" : "";
  if (dir.empty()) return "";
  return dir + "/ctrkit/gemm-" + c.vendor + "-" + std::to_string(c.family) + "-" + std::to_string(c.model) + "-" +
         std::to_string(c.stepping) + "-l2-" + std::to_string(c.l2 >> 10) + "k.json";
}

void setGemmBlocking(const GemmBlocking& b) {
  validate(b);
  Active a = resolve(b);
  std::lock_guard<std::mutex> lock(snapshotsMu);
  current.store(intern(a), std::memory_order_release);
}

}  // namespace ctr
