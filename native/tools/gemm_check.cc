// Standalone correctness check and benchmark for ctrkit's GEMM and fused linear layers.
//   make -C native/tools            builds ./gemm_check (no OpenBLAS needed to build)
//   ./gemm_check check              every kernel family (each in a child process, forced via
//                                   CTRKIT_GEMM_KERNEL) against a float64 reference, plus
//                                   1-vs-2-thread bit identity
//   ./gemm_check bench [reps]       GFLOP/s of ctrkit vs OpenBLAS (dlopen), 1 and 2 threads
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../blas_dl.h"
#include "../gemm.h"
#include "../threadpool.h"

using namespace ctr;

namespace {

std::mt19937 rng(12345);

std::vector<float> randVec(size_t n) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

int failures = 0;
void expect(bool ok, const std::string& what) {
  if (!ok && failures++ < 20) std::printf("FAIL %s\n", what.c_str());
}

// Checks sgemm on one case against float64, with the classical bound
// |err| <= 2 (K+2) u (|alpha| Σ|a||b| + |beta||c|).
void checkGemm(bool ta, bool tb, int M, int N, int K, float alpha, float beta, int pad) {
  int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  auto A = randVec((size_t)(ta ? K : M) * lda + 1), B = randVec((size_t)(tb ? N : K) * ldb + 1);
  auto C = randVec((size_t)M * ldc + 1), C0 = C;
  if (beta == 0)
    for (auto& x : C) x = NAN;  // beta == 0 must ignore the old contents, NaN included
  sgemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  const double u = 5.96e-8;
  double worst = 0;
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0, mag = 0;
      for (int k = 0; k < K; ++k) {
        double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
        double b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
        s += a * b;
        mag += std::fabs(a * b);
      }
      double c0 = C0[(size_t)i * ldc + j];
      double ref = alpha * s + (beta == 0 ? 0 : beta * c0);
      double bound = 2 * (K + 2) * u * (std::fabs(alpha) * mag + std::fabs(beta * c0)) + 1e-30;
      double err = std::fabs(C[(size_t)i * ldc + j] - ref);
      if (!(err <= bound)) worst = std::max(worst, std::isnan(err) ? INFINITY : err / bound);
    }
  // Padding columns past N must be untouched.
  for (int i = 0; i < M && pad; ++i)
    for (int j = N; j < ldc; ++j)
      if (std::memcmp(&C[(size_t)i * ldc + j], &C0[(size_t)i * ldc + j], 4) != 0 &&
          !(beta == 0 && std::isnan(C[(size_t)i * ldc + j])))
        worst = INFINITY;
  char buf[200];
  std::snprintf(buf, sizeof buf, "sgemm ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g pad=%d: err/bound=%g", ta, tb, M,
                N, K, alpha, beta, pad, worst);
  expect(worst == 0, buf);
}

double actRef(double z, Act act, double p) {
  switch (act) {
    case Act::Relu: return z > 0 ? z : 0;
    case Act::Sigmoid: return 1 / (1 + std::exp(-z));
    case Act::Tanh: return std::tanh(z);
    case Act::Smelu: return z < -p ? 0 : (z > p ? z : (z + p) * (z + p) / (4 * p));
    default: return z;
  }
}

double gradRef(double y, Act act, double p) {
  switch (act) {
    case Act::Relu: return y > 0;
    case Act::Sigmoid: return y * (1 - y);
    case Act::Tanh: return 1 - y * y;
    case Act::Smelu: return y >= p ? 1 : (y > 0 ? std::sqrt(y / p) : 0);
    default: return 1;
  }
}

const char* actName(Act a) {
  static const char* n[] = {"none", "relu", "sigmoid", "tanh", "smelu"};
  return n[(int)a];
}

void checkLinear(int M, int K, int N, Act act, bool withBias) {
  const float p = 0.7f;
  auto X = randVec((size_t)M * K), W = randVec((size_t)K * N), b = randVec(N);
  for (auto& x : X) x *= 3;  // reach every activation regime
  std::vector<float> Y((size_t)M * N, NAN);
  linearForward(X.data(), W.data(), withBias ? b.data() : nullptr, Y.data(), M, K, N, act, p);
  double worst = 0;
  std::vector<double> Z((size_t)M * N);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = withBias ? b[j] : 0, mag = std::fabs(s);
      for (int k = 0; k < K; ++k) {
        s += (double)X[(size_t)i * K + k] * W[(size_t)k * N + j];
        mag += std::fabs((double)X[(size_t)i * K + k] * W[(size_t)k * N + j]);
      }
      Z[(size_t)i * N + j] = s;
      double ref = actRef(s, act, p);
      // GEMM error propagated through the activation (slope <= 1) plus a few ulps for it.
      double err = std::fabs(Y[(size_t)i * N + j] - ref), bound = 2 * (K + 3) * 5.96e-8 * mag + 4e-7 * (std::fabs(ref) + 1e-3);
      if (!(err <= bound)) worst = std::max(worst, std::isnan(err) ? INFINITY : err / bound);
    }
  char buf[200];
  std::snprintf(buf, sizeof buf, "linearForward M=%d K=%d N=%d act=%s bias=%d: err/bound=%g", M, K, N, actName(act),
                withBias, worst);
  expect(worst == 0, buf);

  // Backward from the float output Y, accumulating onto non-zero gradients.
  auto dY = randVec((size_t)M * N), dX = randVec((size_t)M * K), dW = randVec((size_t)K * N), db = randVec(N);
  auto dX0 = dX, dW0 = dW, db0 = db;
  std::vector<float> dZ((size_t)M * N);
  linearBackward(X.data(), W.data(), Y.data(), dY.data(), dZ.data(), dX.data(), dW.data(), db.data(), M, K, N, act, p);
  std::vector<double> g((size_t)M * N);
  for (size_t i = 0; i < g.size(); ++i) g[i] = dY[i] * gradRef(Y[i], act, p);
  worst = 0;
  auto acc = [&](double got, double ref, double mag, size_t terms) {
    double err = std::fabs(got - ref), bound = 2 * (terms + 4) * 5.96e-8 * mag + 1e-6 * std::fabs(ref) + 1e-30;
    if (!(err <= bound)) worst = std::max(worst, std::isnan(err) ? INFINITY : err / bound);
  };
  for (int i = 0; i < M; ++i)
    for (int k = 0; k < K; ++k) {
      double s = dX0[(size_t)i * K + k], mag = std::fabs(s);
      for (int j = 0; j < N; ++j) s += g[(size_t)i * N + j] * W[(size_t)k * N + j], mag += std::fabs(g[(size_t)i * N + j] * W[(size_t)k * N + j]);
      acc(dX[(size_t)i * K + k], s, mag, N);
    }
  for (int k = 0; k < K; ++k)
    for (int j = 0; j < N; ++j) {
      double s = dW0[(size_t)k * N + j], mag = std::fabs(s);
      for (int i = 0; i < M; ++i) s += X[(size_t)i * K + k] * g[(size_t)i * N + j], mag += std::fabs(X[(size_t)i * K + k] * g[(size_t)i * N + j]);
      acc(dW[(size_t)k * N + j], s, mag, M);
    }
  for (int j = 0; j < N; ++j) {
    double s = db0[j], mag = std::fabs(s);
    for (int i = 0; i < M; ++i) s += g[(size_t)i * N + j], mag += std::fabs(g[(size_t)i * N + j]);
    acc(db[j], s, mag, M);
  }
  std::snprintf(buf, sizeof buf, "linearBackward M=%d K=%d N=%d act=%s: err/bound=%g", M, K, N, actName(act), worst);
  expect(worst == 0, buf);
}

// activationBackward on odd lengths, including the smelu boundaries y = 0 and y = beta.
void checkActivationBackward() {
  const float p = 0.5f;
  for (int a = 0; a < 5; ++a) {
    const int n = 70001;
    auto y = randVec(n), dy = randVec(n);
    y[0] = 0, y[1] = p, y[2] = 0.25f;
    for (auto& v : y)
      if ((Act)a == Act::Sigmoid || (Act)a == Act::Smelu) v = std::fabs(v);
    std::vector<float> out(n);
    activationBackward((Act)a, y.data(), dy.data(), out.data(), n, p);
    double worst = 0;
    for (int i = 0; i < n; ++i) {
      double ref = dy[i] * gradRef(y[i], (Act)a, p), err = std::fabs(out[i] - ref);
      if (!(err <= 3e-7 * std::fabs(ref) + 1e-30)) worst = std::max(worst, err);
    }
    expect(worst == 0, std::string("activationBackward ") + actName((Act)a));
  }
}

// Same inputs with 1 and 2 threads must give the same bits.
void checkThreads(bool ta, bool tb, int M, int N, int K) {
  auto A = randVec((size_t)M * K), B = randVec((size_t)K * N), C1 = randVec((size_t)M * N), C2 = C1;
  ThreadPool::instance().setThreads(1);
  sgemm(ta, tb, M, N, K, 0.5f, A.data(), ta ? M : K, B.data(), tb ? K : N, 1.5f, C1.data(), N);
  ThreadPool::instance().setThreads(2);
  sgemm(ta, tb, M, N, K, 0.5f, A.data(), ta ? M : K, B.data(), tb ? K : N, 1.5f, C2.data(), N);
  char buf[120];
  std::snprintf(buf, sizeof buf, "thread bit-identity ta=%d tb=%d M=%d N=%d K=%d", ta, tb, M, N, K);
  expect(std::memcmp(C1.data(), C2.data(), C1.size() * 4) == 0, buf);

  auto X = randVec((size_t)M * K), W = randVec((size_t)K * N), dY = randVec((size_t)M * N);
  std::vector<float> Y((size_t)M * N), dZ((size_t)M * N), out[2][3];
  for (int t = 0; t < 2; ++t) {
    ThreadPool::instance().setThreads(t + 1);
    out[t][0].assign((size_t)M * K, 0.0f), out[t][1].assign((size_t)K * N, 0.0f), out[t][2].assign(N, 0.0f);
    linearForward(X.data(), W.data(), nullptr, Y.data(), M, K, N, Act::Tanh, 0);
    linearBackward(X.data(), W.data(), Y.data(), dY.data(), dZ.data(), out[t][0].data(), out[t][1].data(),
                   out[t][2].data(), M, K, N, Act::Tanh, 0);
  }
  for (int g = 0; g < 3; ++g)
    expect(std::memcmp(out[0][g].data(), out[1][g].data(), out[0][g].size() * 4) == 0,
           std::string("linearBackward thread bit-identity, gradient ") + "XWb"[g]);
}

int checkFamily() {
  std::printf("kernel %s\n", gemmKernelName());
  const int dims[] = {0, 1, 2, 3, 5, 7, 13, 16, 17, 31, 33, 64, 65, 100};
  const float alphas[] = {1.0f, -0.5f, 0.0f}, betas[] = {0.0f, 1.0f, 0.25f};
  std::uniform_int_distribution<int> pick(0, sizeof dims / sizeof dims[0] - 1), coin(0, 1), pad(0, 2);
  ThreadPool::instance().setThreads(2);
  for (int t = 0; t < 400; ++t)
    checkGemm(coin(rng), coin(rng), dims[pick(rng)], dims[pick(rng)], dims[pick(rng)], alphas[t % 7 == 6 ? 2 : t % 2],
              betas[t % 3], pad(rng) * 3);
  // Multiple K blocks, row blocks and column blocks, with every transpose.
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      checkGemm(ta, tb, 203, 171, 1000, 1.0f, 0.5f, 1);
      checkGemm(ta, tb, 5500, 9, 390, 1.0f, 0.0f, 0);
      checkGemm(ta, tb, 7, 2800, 390, 2.0f, 1.0f, 0);
      checkGemm(ta, tb, 1, 2500, 300, 1.0f, 0.5f, 2);  // matrix-vector paths, several chunks
      checkGemm(ta, tb, 2500, 1, 300, -1.0f, 0.0f, 2);
    }
  for (int a = 0; a < 5; ++a) {
    checkLinear(37, 29, 45, (Act)a, true);
    checkLinear(300, 70, 33, (Act)a, a % 2 == 0);
  }
  checkLinear(5, 0, 7, Act::Sigmoid, true);
  checkActivationBackward();
  checkLinear(1, 50, 70, Act::Smelu, true);
  checkLinear(90, 50, 1, Act::Sigmoid, true);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) checkThreads(ta, tb, 700, 530, 900);
  checkThreads(false, false, 4096, 400, 624);
  checkThreads(false, false, 1, 3000, 700);
  checkThreads(true, false, 3000, 1, 700);
  std::printf("%s: %s\n", gemmKernelName(), failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}

int check() {
  int bad = 0;
  for (const char* fam : {"avx512", "avx2", "portable"}) {
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      setenv("CTRKIT_GEMM_KERNEL", fam, 1);
      int rc = checkFamily();
      std::fflush(stdout);
      std::_Exit(rc);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
  }
  std::printf(bad ? "CHECK FAILED\n" : "ALL CHECKS PASSED\n");
  return bad;
}

struct Shape {
  const char* name;
  bool ta, tb;
  int M, N, K;
};

int bench(int reps) {
  const Shape shapes[] = {
      {"fwd NN 4096x624->400", false, false, 4096, 400, 624},
      {"fwd NN 4096x400->400", false, false, 4096, 400, 400},
      {"bwd NT dX 4096,624<-400", false, true, 4096, 624, 400},
      {"bwd NT dX 4096,400<-400", false, true, 4096, 400, 400},
      {"bwd TN dW 624x400 K4096", true, false, 624, 400, 4096},
      {"bwd TN dW 400x400 K4096", true, false, 400, 400, 4096},
      {"DCN NN 4096x624->624", false, false, 4096, 624, 624},
      {"DCN NT 4096x624<-624", false, true, 4096, 624, 624},
      {"DCN TN 624x624 K4096", true, false, 624, 624, 4096},
  };
  const Blas& bl = blas();
  std::printf("kernel %s; OpenBLAS %s\n", gemmKernelName(), bl.ok() ? "loaded" : "not found");
  std::printf("%-26s %9s %9s %6s %9s %9s %6s\n", "shape (GFLOP/s)", "ctr 1T", "blas 1T", "ratio", "ctr 2T", "blas 2T",
              "ratio");
  for (const Shape& s : shapes) {
    auto A = randVec((size_t)s.M * s.K), B = randVec((size_t)s.K * s.N);
    std::vector<float> C((size_t)s.M * s.N, 0.0f);
    double flop = 2.0 * s.M * s.N * s.K;
    auto best = [&](auto&& fn) {
      double b = 1e30;
      fn();
      for (int r = 0; r < reps; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        fn();
        b = std::min(b, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      return flop / b * 1e-9;
    };
    double g[2][2] = {};
    for (int th = 1; th <= 2; ++th) {
      ThreadPool::instance().setThreads(th);
      g[th - 1][0] = best([&] {
        sgemm(s.ta, s.tb, s.M, s.N, s.K, 1.0f, A.data(), s.ta ? s.M : s.K, B.data(), s.tb ? s.K : s.N, 0.0f,
              C.data(), s.N);
      });
      if (bl.ok()) {
        bl.setThreads(th);
        g[th - 1][1] = best([&] { blasGemm(bl, s.ta, s.tb, s.M, s.N, s.K, 1.0f, A.data(), B.data(), 0.0f, C.data()); });
      }
    }
    std::printf("%-26s %9.1f %9.1f %5.0f%% %9.1f %9.1f %5.0f%%\n", s.name, g[0][0], g[0][1],
                g[0][1] > 0 ? 100 * g[0][0] / g[0][1] : 0.0, g[1][0], g[1][1], g[1][1] > 0 ? 100 * g[1][0] / g[1][1] : 0.0);
    std::fflush(stdout);
  }

  // Fused layers at the first forward shape; GFLOP/s counts the GEMM work only.
  const int M = 4096, K = 624, N = 400;
  auto X = randVec((size_t)M * K), W = randVec((size_t)K * N), b = randVec(N), dY = randVec((size_t)M * N);
  std::vector<float> Y((size_t)M * N), dZ((size_t)M * N), dX((size_t)M * K), dW((size_t)K * N), db(N);
  std::printf("%-36s %9s %9s\n", "fused layer (GFLOP/s)", "1T", "2T");
  for (Act act : {Act::Relu, Act::Sigmoid}) {
    for (int bwd = 0; bwd < 2; ++bwd) {
      double g[2];
      for (int th = 1; th <= 2; ++th) {
        ThreadPool::instance().setThreads(th);
        double t = 1e30;
        for (int r = 0; r <= reps; ++r) {
          auto t0 = std::chrono::steady_clock::now();
          if (bwd)
            linearBackward(X.data(), W.data(), Y.data(), dY.data(), dZ.data(), dX.data(), dW.data(), db.data(), M, K,
                           N, act, 0);
          else
            linearForward(X.data(), W.data(), b.data(), Y.data(), M, K, N, act, 0);
          if (r) t = std::min(t, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        g[th - 1] = (bwd ? 4.0 : 2.0) * M * N * K / t * 1e-9;
      }
      char name[64];
      std::snprintf(name, sizeof name, "%s %s 4096x624->400", bwd ? "linearBackward" : "linearForward", actName(act));
      std::printf("%-36s %9.1f %9.1f\n", name, g[0], g[1]);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "check";
  if (mode == "check") return check();
  if (mode == "bench") return bench(argc > 2 ? std::atoi(argv[2]) : 10);
  std::fprintf(stderr, "usage: %s check | bench [reps]\n", argv[0]);
  return 2;
}
