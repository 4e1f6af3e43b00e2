// Measured fp32 FMA peak of this machine (GFLOP/s with the thread pool's threads).
#pragma once

namespace ctr {

struct FmaPeak {
  double gflops;
  int threads;
  int width;  // floats per FMA instruction (the GEMM kernel family's vector width)
};

// Best rate over repeated runs for about `seconds`.
FmaPeak measureFmaPeak(double seconds);

}  // namespace ctr
