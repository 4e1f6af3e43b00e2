// Bindings for the non-GEMM kernels (elementwise, reductions, softmax, segments, losses,
// normalisation, dropout, embeddings, optimisers).
#include "napi_args.h"

namespace ctr {

void registerKernels(Napi::Env, Napi::Object) {}

}  // namespace ctr
