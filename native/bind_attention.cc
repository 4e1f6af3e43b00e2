// Binding: DIN's fused target attention (native/attention.cc).
#include "attention.h"
#include "bind_util.h"

namespace ctr {
namespace {

// Arguments (eb, et, offsets, W1, b1, w2, b2, d, h, act, param) shared by forward and backward.
struct AttentionArgs {
  const float *eb, *et, *W1, *b1, *w2;
  float b2, param;
  const int32_t* off;
  long S, P, d, h;
  Act act;
};

AttentionArgs attentionArgs(const Napi::CallbackInfo& info, const char* k) {
  AttentionArgs a;
  a.d = count(info, 7, k, "d");
  a.h = count(info, 8, k, "h");
  if (a.d == 0 || a.h == 0) fail(info.Env(), k, "d and h must be at least 1");
  a.P = segmentRows(info, 0, k, "eb", a.d, 2, &a.off, &a.S);
  a.eb = f32(info, 0, k, "eb", prod(info, k, {a.P, a.d}));
  a.et = f32(info, 1, k, "et", prod(info, k, {a.S, a.d}));
  a.W1 = f32(info, 3, k, "W1", prod(info, k, {4, a.d, a.h}));
  a.b1 = f32(info, 4, k, "b1", (size_t)a.h);
  a.w2 = f32(info, 5, k, "w2", (size_t)a.h);
  a.b2 = f32(info, 6, k, "b2", 1)[0];
  a.act = activation(info, 9, k);
  double param = real(info, 10, k, "param");
  if (a.act == Act::Smelu && !(param >= 0 && param < 1e300))
    fail(info.Env(), k, "smelu beta must be finite and >= 0, got " + fmtNum(param));
  a.param = (float)param;
  return a;
}

// targetAttention(eb, et, offsets, W1, b1, w2, b2, d, h, act, param, pooled)
Napi::Value TargetAttention(const Napi::CallbackInfo& info) {
  const char* k = "targetAttention";
  AttentionArgs a = attentionArgs(info, k);
  float* pooled = f32(info, 11, k, "pooled", prod(info, k, {a.S, a.d}));
  targetAttention(a.eb, a.et, a.off, a.S, a.W1, a.b1, a.w2, a.b2, a.d, a.h, a.act, a.param, pooled);
  return info.Env().Undefined();
}

// targetAttentionBackward(eb, et, offsets, W1, b1, w2, b2, d, h, act, param, dPooled,
//                         deb|null, det|null, dW1|null, db1|null, dw2|null, db2|null)
Napi::Value TargetAttentionBackward(const Napi::CallbackInfo& info) {
  const char* k = "targetAttentionBackward";
  AttentionArgs a = attentionArgs(info, k);
  const float* dPooled = f32(info, 11, k, "dPooled", prod(info, k, {a.S, a.d}));
  float* deb = f32opt(info, 12, k, "deb", prod(info, k, {a.P, a.d}));
  float* det = f32opt(info, 13, k, "det", prod(info, k, {a.S, a.d}));
  float* dW1 = f32opt(info, 14, k, "dW1", prod(info, k, {4, a.d, a.h}));
  float* db1 = f32opt(info, 15, k, "db1", (size_t)a.h);
  float* dw2 = f32opt(info, 16, k, "dw2", (size_t)a.h);
  float* db2 = f32opt(info, 17, k, "db2", 1);
  targetAttentionBackward(a.eb, a.et, a.off, a.S, a.W1, a.b1, a.w2, a.b2, a.d, a.h, a.act, a.param, dPooled, deb, det,
                          dW1, db1, dw2, db2);
  return info.Env().Undefined();
}

}  // namespace

void registerAttention(Napi::Env env, Napi::Object exports) {
  exportFn<TargetAttention>(env, exports, "targetAttention");
  exportFn<TargetAttentionBackward>(env, exports, "targetAttentionBackward");
}

}  // namespace ctr
