// encodeLines: the common lines of a Criteo or CSV stream (src/schema/streamBytes.ts) encoded to a
// batch's label and id columns in one call, for online training's per-line cost. It takes only the
// lines whose result it can prove equal to the JavaScript byte path's — labels and hashed fields
// (FNV-1a of ASCII text, of an integer's decimal text, or of a log bucket) — and stops before any
// other line (a quote, non-ASCII text, a decimal, a long or malformed number, a bad line), which
// the caller then reads its own way and calls again after it. Every number it reads is an integer
// of at most 15 digits, exact in a double, so its values are JavaScript's.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "bind_util.h"

namespace ctr {
namespace {

constexpr uint32_t kFnvOffset = 0x811c9dc5u;
constexpr uint32_t kFnvPrime = 0x01000193u;
constexpr int kCriteoColumns = 40;  // label, I1..I13, C1..C26
constexpr int kCriteoNums = 14;     // label and I1..I13: read as numbers
constexpr int kMaxColumns = 1024;
constexpr int kSmallLog = 4096;

// Field rules, as src/schema/streamBytes.ts numbers them.
enum Mode : int32_t { kHashText = 0, kHashTextLog = 1, kHashNum = 2, kHashNumLog = 3 };

inline uint32_t fnvByte(uint32_t h, uint8_t c) { return (h ^ c) * kFnvPrime; }

// FNV-1a of String(v) for an integer v with |v| < 2^53 (String(-0) is "0").
uint32_t fnvInteger(double v) {
  uint32_t h = kFnvOffset;
  if (v < 0) {
    h = fnvByte(h, '-');
    v = -v;
  }
  uint64_t x = (uint64_t)v;
  char digits[20];
  int n = 0;
  do {
    digits[n++] = (char)('0' + x % 10);
    x /= 10;
  } while (x > 0);
  while (n > 0) h = fnvByte(h, (uint8_t)digits[--n]);
  return h;
}

struct Layout {
  bool criteo;
  uint8_t delim;
  int ncol;  // CSV columns per line
  int L, F;
  const int32_t* colOf;    // [L + F]: the line column of each label, then of each field
  const int32_t* mode;     // [F]
  const uint64_t* buckets;     // [F]
  const uint64_t* bucketMagic; // [F]: fastmod's multiplier for each field's bucket count
  const int32_t* offsets;  // [F]
  const uint8_t* binary;   // [L]
  const int32_t* smallLog; // [kSmallLog]: logBucketHash of 0..4095, computed by JavaScript
};

// A sign and 1..15 digits: their value (exact); false for anything else (empty included).
bool integerAt(const uint8_t* b, long s, long e, double* out) {
  long p = s;
  bool neg = false;
  if (p < e && (b[p] == '-' || b[p] == '+')) neg = b[p++] == '-';
  if (p == e || e - p > 15) return false;
  double v = 0;
  for (; p < e; ++p) {
    unsigned d = (unsigned)b[p] - '0';
    if (d > 9) return false;
    v = v * 10 + d;
  }
  *out = neg ? -v : v;
  return true;
}

// logBucketHash (src/schema/streamBytes.ts) of an integer v, |v| < 10^15; false where JavaScript's
// Math.log could floor differently from this libm's (log(v)^2 within 1e-9 of an integer).
bool logBucketHash(const Layout& lay, double v, uint32_t* h) {
  if (v >= 0 && v < kSmallLog) {
    *h = (uint32_t)lay.smallLog[(int)v];
    return true;
  }
  if (v <= 2) {
    *h = fnvInteger(v);
    return true;
  }
  const double l = std::log(v);
  const double sq = l * l;
  const double f = std::floor(sq);
  if (sq - f < 1e-9 || f + 1 - sq < 1e-9) return false;
  *h = fnvInteger(f);
  return true;
}

class LineEncoder {
 public:
  LineEncoder(const Layout& lay, const uint8_t* buf) : lay_(lay), b_(buf) {}

  // Line [s, e) into row `row` of codes/labels; false (nothing to trust in that row) when the
  // JavaScript path must read it.
  bool encode(long s, long e, int32_t* codes, float* const* labels, long row) {
    if (!(lay_.criteo ? splitCriteo(s, e) : splitCsv(s, e))) return false;
    for (int k = 0; k < lay_.L; ++k) {
      double x;
      if (!numberOf(k, &x)) return false;
      if (lay_.binary[k] && x != 0 && x != 1) return false;
      labels[k][row] = (float)x;
    }
    int32_t* out = codes + row * lay_.F;
    for (int j = 0; j < lay_.F; ++j) {
      const int k = lay_.L + j;
      uint32_t h;
      switch (lay_.mode[j]) {
        case kHashText: {
          const int col = lay_.colOf[k];
          if (!ascii_[col]) return false;
          h = hash_[col];
          break;
        }
        case kHashNum: {
          const double v = nums_[lay_.colOf[k]];
          h = std::isnan(v) ? kFnvOffset : fnvInteger(v);
          break;
        }
        case kHashTextLog:
        case kHashNumLog: {
          double v;
          if (lay_.mode[j] == kHashNumLog) {
            v = nums_[lay_.colOf[k]];
          } else if (start_[k] == end_[k]) {
            v = NAN;
          } else if (!integerAt(b_, start_[k], end_[k], &v)) {
            return false;
          }
          if (std::isnan(v)) h = kFnvOffset;
          else if (!logBucketHash(lay_, v, &h)) return false;
          break;
        }
        default:
          return false;
      }
      out[j] = (int32_t)((uint32_t)lay_.offsets[j] + bucketOf(h, j));
    }
    return true;
  }

 private:
  // Request k's value as a number: a Criteo label or integer column as read, else its text as an
  // integer; false where the JavaScript path decides (empty, a decimal, a long number).
  bool numberOf(int k, double* x) {
    if (lay_.criteo && lay_.colOf[k] < kCriteoNums) {
      *x = nums_[lay_.colOf[k]];
      return !std::isnan(*x);
    }
    return integerAt(b_, start_[k], end_[k], x);
  }

  // parseCriteoBytes: 40 tab-separated columns, the first 14 empty or [+-]digits (label 0 or 1).
  bool splitCriteo(long s, long e) {
    long p = s;
    long cs[kCriteoColumns], ce[kCriteoColumns];
    for (int col = 0; col < kCriteoColumns; ++col) {
      const long c0 = p;
      if (col < kCriteoNums) {
        bool neg = false;
        if (p < e && (b_[p] == '-' || b_[p] == '+')) neg = b_[p++] == '-';
        const long d0 = p;
        double v = 0;
        for (; p < e && b_[p] != '\t'; ++p) {
          unsigned d = (unsigned)b_[p] - '0';
          if (d > 9) return false;
          v = v * 10 + d;
        }
        if (p == d0 && p > c0) return false;  // a lone sign
        if (p - d0 > 15) return false;        // beyond exact doubles: left to JavaScript's arithmetic
        nums_[col] = p == c0 ? NAN : neg ? -v : v;
        if (col == 0 && nums_[0] != 0 && nums_[0] != 1) return false;
      } else {
        // The column's hash as it is scanned: one pass, not a search for the tab and then a hash.
        uint32_t h = kFnvOffset;
        uint8_t high = 0;
        for (; p < e && b_[p] != '\t'; ++p) {
          high |= b_[p];
          h = fnvByte(h, b_[p]);
        }
        hash_[col] = h;
        ascii_[col] = high < 0x80;
      }
      cs[col] = c0;
      ce[col] = p;
      if (col == kCriteoColumns - 1) {
        if (p != e) return false;
      } else {
        if (p >= e) return false;
        ++p;
      }
    }
    for (int k = 0; k < lay_.L + lay_.F; ++k) {
      start_[k] = cs[lay_.colOf[k]];
      end_[k] = ce[lay_.colOf[k]];
    }
    return true;
  }

  // splitCsv without trim: exactly ncol columns, no quote; each column's hash as it is scanned.
  bool splitCsv(long s, long e) {
    int c = 0;
    long from = s;
    uint32_t h = kFnvOffset;
    uint8_t high = 0;
    for (long p = s; p <= e; ++p) {
      const uint8_t b = p < e ? b_[p] : lay_.delim;
      if (b == '"') return false;
      if (b != lay_.delim) {
        high |= b;
        h = fnvByte(h, b);
        continue;
      }
      if (c == lay_.ncol) return false;
      cs_[c] = from;
      ce_[c] = p;
      hash_[c] = h;
      ascii_[c] = high < 0x80;
      h = kFnvOffset;
      high = 0;
      ++c;
      from = p + 1;
    }
    if (c != lay_.ncol) return false;
    for (int k = 0; k < lay_.L + lay_.F; ++k) {
      start_[k] = cs_[lay_.colOf[k]];
      end_[k] = ce_[lay_.colOf[k]];
    }
    return true;
  }

  // h % buckets by Lemire's fastmod (a 64-bit multiply instead of a division): exact for every
  // 32-bit h and bucket count below 2^32; a count of 2^32 is h itself.
  uint32_t bucketOf(uint32_t h, int j) const {
    const uint64_t m = lay_.bucketMagic[j];
    if (m == 0 && lay_.buckets[j] != 1) return h;
    return (uint32_t)(((unsigned __int128)(m * h) * lay_.buckets[j]) >> 64);
  }

  const Layout& lay_;
  const uint8_t* b_;
  double nums_[kCriteoNums];
  // Each line column's FNV-1a hash and whether its bytes are ASCII (text columns; unused for numbers).
  uint32_t hash_[kMaxColumns];
  bool ascii_[kMaxColumns];
  long cs_[kMaxColumns], ce_[kMaxColumns];
  long start_[kMaxColumns], end_[kMaxColumns];
};

// encodeLines(buf, start, end, maxRows, layout Int32Array [criteo, delim, ncol, L, F], colOf
// Int32Array, mode Int32Array, buckets Float64Array, offsets Int32Array, binary Uint8Array,
// smallLog Int32Array, codes Int32Array, labels Float32Array[], row, out Float64Array(1)):
// encodes the lines of buf[start, end) into rows row, row + 1, … until maxRows rows, the end, or
// a line it leaves to the caller; returns the rows encoded, out[0] = the byte position reached.
Napi::Value EncodeLines(const Napi::CallbackInfo& info) {
  const char* K = "encodeLines";
  if (info.Length() < 15) fail(info.Env(), K, "expected 15 arguments");
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    fail(info.Env(), K, "buf must be a Uint8Array");
  auto bufArr = info[0].As<Napi::Uint8Array>();
  const long len = (long)bufArr.ElementLength();
  const long start = count(info, 1, K, "start"), end = count(info, 2, K, "end");
  if (start > end || end > len) fail(info.Env(), K, "start/end out of range");
  const long maxRows = count(info, 3, K, "maxRows");
  const int32_t* meta = i32(info, 4, K, "layout", 5);
  Layout lay;
  lay.criteo = meta[0] != 0;
  lay.delim = (uint8_t)meta[1];
  lay.ncol = meta[2];
  lay.L = meta[3];
  lay.F = meta[4];
  if (lay.L < 0 || lay.F < 0 || lay.L + lay.F > kMaxColumns || lay.ncol < 0 || lay.ncol > kMaxColumns)
    fail(info.Env(), K, "layout out of range");
  const long R = lay.L + lay.F;
  lay.colOf = i32(info, 5, K, "colOf", (size_t)R);
  for (long k = 0; k < R; ++k)
    if (lay.colOf[k] < 0 || lay.colOf[k] >= (lay.criteo ? kCriteoColumns : lay.ncol)) fail(info.Env(), K, "colOf out of range");
  lay.mode = i32(info, 6, K, "mode", (size_t)lay.F);
  for (int j = 0; j < lay.F; ++j) {
    const int32_t m = lay.mode[j];
    const bool num = m == kHashNum || m == kHashNumLog;
    if (m < kHashText || m > kHashNumLog || (num && !(lay.criteo && lay.colOf[lay.L + j] < kCriteoNums)))
      fail(info.Env(), K, "mode out of range");
  }
  if (!info[7].IsTypedArray() || info[7].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[7].As<Napi::Float64Array>().ElementLength() < (size_t)lay.F)
    fail(info.Env(), K, "buckets must be a Float64Array of F");
  uint64_t buckets[kMaxColumns], magic[kMaxColumns];
  for (int j = 0; j < lay.F; ++j) {
    const double nb = info[7].As<Napi::Float64Array>().Data()[j];
    if (!(nb >= 1 && nb <= 4294967296.0 && nb == std::floor(nb))) fail(info.Env(), K, "buckets must be integers in [1, 2^32]");
    buckets[j] = (uint64_t)nb;
    magic[j] = nb == 4294967296.0 ? 0 : UINT64_C(0xFFFFFFFFFFFFFFFF) / buckets[j] + 1;
  }
  lay.buckets = buckets;
  lay.bucketMagic = magic;
  lay.offsets = i32(info, 8, K, "offsets", (size_t)lay.F);
  if (!info[9].IsTypedArray() || info[9].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      info[9].As<Napi::Uint8Array>().ElementLength() < (size_t)lay.L)
    fail(info.Env(), K, "binary must be a Uint8Array of L");
  lay.binary = info[9].As<Napi::Uint8Array>().Data();
  lay.smallLog = i32(info, 10, K, "smallLog", kSmallLog);
  const long row0 = count(info, 13, K, "row");
  int32_t* codes = i32(info, 11, K, "codes", (size_t)((row0 + maxRows) * lay.F));
  if (!info[12].IsArray() || info[12].As<Napi::Array>().Length() != (uint32_t)lay.L) fail(info.Env(), K, "labels must be an array of L Float32Arrays");
  float* labels[64];
  if (lay.L > 64) fail(info.Env(), K, "at most 64 labels");
  for (int k = 0; k < lay.L; ++k) {
    Napi::Value v = info[12].As<Napi::Array>().Get((uint32_t)k);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        v.As<Napi::Float32Array>().ElementLength() < (size_t)(row0 + maxRows))
      fail(info.Env(), K, "labels must be Float32Arrays of row + maxRows");
    labels[k] = v.As<Napi::Float32Array>().Data();
  }
  if (!info[14].IsTypedArray() || info[14].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[14].As<Napi::Float64Array>().ElementLength() < 1)
    fail(info.Env(), K, "out must be a Float64Array of 1");
  double* out = info[14].As<Napi::Float64Array>().Data();

  const uint8_t* b = bufArr.Data();
  LineEncoder enc(lay, b);
  long pos = start, rows = 0;
  while (pos < end && rows < maxRows) {
    const void* nlp = std::memchr(b + pos, '\n', (size_t)(end - pos));
    const long nl = nlp == nullptr ? end : (const uint8_t*)nlp - b;
    // lineEnd: a CR before the newline is not part of the line.
    const long e = nl > pos && b[nl - 1] == '\r' ? nl - 1 : nl;
    if (e == pos || !enc.encode(pos, e, codes, labels, row0 + rows)) break;
    ++rows;
    pos = nl == end ? end : nl + 1;
  }
  out[0] = (double)pos;
  return Napi::Number::New(info.Env(), (double)rows);
}

}  // namespace

void registerLines(Napi::Env env, Napi::Object exports) { exportFn<EncodeLines>(env, exports, "encodeLines"); }

}  // namespace ctr
