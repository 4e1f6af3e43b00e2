// Module entry point: each binding file registers its functions.
#include <napi.h>

#include "napi_args.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  ctr::registerGemm(env, exports);
  ctr::registerKernels(env, exports);
  ctr::registerInt8(env, exports);
  ctr::registerBf16(env, exports);
  ctr::registerLines(env, exports);
  return exports;
}

NODE_API_MODULE(ctrkit_native, Init)
