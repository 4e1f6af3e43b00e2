{
  "targets": [
    {
      "target_name": "ctrkit_native",
      "sources": [
        "native/addon.cc",
        "native/threadpool.cc",
        "native/gemm.cc",
        "native/fmapeak.cc",
        "native/cpuinfo.cc",
        "native/bind_gemm.cc",
        "native/int8_gemm.cc",
        "native/bind_int8.cc",
        "native/bf16_gemm.cc",
        "native/bind_bf16.cc",
        "native/bind_kernels.cc",
        "native/bind_elementwise.cc",
        "native/bind_reduce.cc",
        "native/bind_embedding.cc",
        "native/bind_attention.cc",
        "native/attention.cc",
        "native/elementwise.cc",
        "native/reduce.cc",
        "native/softmax.cc",
        "native/loss.cc",
        "native/norm.cc",
        "native/dropout.cc",
        "native/embedding.cc",
        "native/optim.cc",
        "native/fmtnum.cc",
        "native/lines.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      # NODE_ADDON_API_CPP_EXCEPTIONS_ALL: any C++ exception leaving a binding (a kernel's, or one a
      # pool task threw, rethrown by ThreadPool::run) becomes a JS Error instead of std::terminate.
      # NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: once a worker_thread's environment is stopping
      # (worker.terminate(), or process.exit() with workers running), napi calls that could run JS
      # fail, so a binding it interrupts throws, and turning that into a JS error fails too: without
      # this, node-addon-api then throws a C++ Napi::Error out of the callback, which aborts the
      # whole process ("terminate called after throwing an instance of 'Napi::Error'"). With it,
      # the error is dropped; the environment runs no more JS anyway (test/native/terminate.test.ts).
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL",
                  "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      # -fno-trapping-math lets GCC if-convert (hence vectorise) branchy float code such as
      # native/fastmath.h; it changes no IEEE result, only assumptions about FP exception traps.
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math"],
      "libraries": ["-ldl", "-lpthread"]
    }
  ]
}
