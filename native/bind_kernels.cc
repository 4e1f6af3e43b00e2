// Bindings for the non-GEMM kernels (elementwise, reductions, softmax, segments, losses,
// normalisation, dropout, embeddings, optimisers, DIN's fused attention), split by family across bind_*.cc.
#include "bind_util.h"

namespace ctr {

void registerKernels(Napi::Env env, Napi::Object exports) {
  registerElementwise(env, exports);
  registerReduce(env, exports);
  registerEmbedding(env, exports);
  registerAttention(env, exports);
}

}  // namespace ctr
