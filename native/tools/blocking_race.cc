// setGemmBlocking racing GEMMs on another thread, built with ThreadSanitizer (`make -C native/tools
// race`): a thread packs W and runs the fused dense layer with the pack, 300 times, while the main
// thread switches the blocking as fast as it can. TSan must report nothing (it reported the
// torn blocking before blockings became immutable snapshots), and every result must be the
// reference's bits: the two blockings share kc, so they give the same bits.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "../gemm.h"

using namespace ctr;

int main() {
  const int M = 37, K = 300, N = 90;
  std::vector<float> X(M * K), W(K * N), b(N), ref(M * N), Y(M * N);
  for (size_t i = 0; i < X.size(); ++i) X[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
  for (size_t i = 0; i < W.size(); ++i) W[i] = (float)((i * 104729) % 1000) / 500.0f - 1.0f;
  for (int j = 0; j < N; ++j) b[j] = 0.01f * j;
  linearForward(X.data(), W.data(), b.data(), ref.data(), M, K, N, Act::Relu, 0);
  GemmBlocking start = gemmStartBlocking(), other = start;
  other.mc = 12, other.packB = (long)start.kc * 16;
  std::atomic<bool> done{false};
  int bad = 0;
  std::thread t([&] {
    for (int i = 0; i < 300; ++i) {
      std::vector<float> pk;
      gemmPackB(W.data(), K, N, [&](long n) {
        pk.resize(n);
        return pk.data();
      });
      linearForward(X.data(), W.data(), b.data(), Y.data(), M, K, N, Act::Relu, 0, pk.data(), (long)pk.size());
      bad += std::memcmp(Y.data(), ref.data(), Y.size() * sizeof(float)) != 0;
    }
    done = true;
  });
  long sets = 0;
  while (!done) setGemmBlocking(sets++ % 2 ? start : other);
  t.join();
  setGemmBlocking(start);
  std::printf("%ld blocking changes during 300 GEMMs; %d results differ from the reference\n", sets, bad);
  return bad == 0 ? 0 : 1;
}
