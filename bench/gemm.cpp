//===- gemm.cpp - the GEMM kernels gmrt_sgemm can call, measured -----------===//
//
//   build/bin/gm-bench-gemm [--reps N] [--vae-step]
//
// Times one-threaded row-major SGEMM (C = A B, the shapes of gm's VAE and
// DCGAN steps, forward and gradients) with OpenBLAS (cblas_sgemm, whatever
// kernel it picked for this CPU) and oneDNN (dnnl_sgemm, dispatched on ISA
// features), and the machine's FMA peak, so a GEMM's speed reads as a
// fraction of what the core can do. Run it pinned: taskset -c 0.
//
// --vae-step: only the VAE training step's products (batch 128: five
// forward, nine for the gradients) with oneDNN, back to back, and the FMA
// peak, as one line: the step's GEMM-only floor in images/s, which no
// implementation on the same GEMM kernels can beat (bench/run.py prints gm's
// VAE speed as a fraction of it).
//
//===----------------------------------------------------------------------===//

#include <cblas.h>
#include <dnnl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <immintrin.h>
#include <random>
#include <vector>

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// GFLOP/s of independent FMA chains on one core, in the widest vectors the
/// compiler was allowed (this file is built for the host: -march=native).
__attribute__((noinline)) double fmaPeak() {
#if defined(__AVX512F__)
  using V = __m512;
  constexpr int lanes = 16;
#define FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define SET1(x) _mm512_set1_ps(x)
#else
  using V = __m256;
  constexpr int lanes = 8;
#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define SET1(x) _mm256_set1_ps(x)
#endif
  constexpr int chains = 12;
  V acc[chains];
  for (int i = 0; i < chains; ++i)
    acc[i] = SET1(0.001f * i);
  V a = SET1(0.999999f), b = SET1(1e-7f);
  const long iters = 50'000'000;
  double t = now();
  for (long n = 0; n < iters; ++n)
    for (int i = 0; i < chains; ++i)
      acc[i] = FMA(acc[i], a, b);
  t = now() - t;
  float sink = 0;
  for (int i = 0; i < chains; ++i) {
    float out[lanes];
    std::memcpy(out, &acc[i], sizeof out);
    sink += out[0];
  }
  if (sink == 12345.f)
    std::puts("");
  return 2.0 * lanes * chains * iters / t / 1e9;
}

struct Shape {
  const char *what;
  char ta, tb;
  long m, n, k;
};

template <typename F> double best(int reps, F f) {
  f(); // warm up: oneDNN generates its kernel on the first call
  double b = 1e30;
  for (int r = 0; r < reps; ++r) {
    double t = now();
    f();
    b = std::min(b, now() - t);
  }
  return b;
}

} // namespace

int main(int argc, char **argv) {
  int reps = 20;
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--reps") && i + 1 < argc)
      reps = std::atoi(argv[++i]);
  // The VAE step (784-400-20-400-784, weights [out, in], batch 128): each
  // layer's forward product, and its weight and input gradients (none for
  // the input x).
  const Shape vaeStep[] = {
      {"enc1 fwd", 'N', 'T', 128, 400, 784},  {"mu fwd", 'N', 'T', 128, 20, 400},
      {"logvar fwd", 'N', 'T', 128, 20, 400}, {"dec1 fwd", 'N', 'T', 128, 400, 20},
      {"dec2 fwd", 'N', 'T', 128, 784, 400},  {"dec2 dW", 'T', 'N', 784, 400, 128},
      {"dec2 dX", 'N', 'N', 128, 400, 784},   {"dec1 dW", 'T', 'N', 400, 20, 128},
      {"dec1 dX", 'N', 'N', 128, 20, 400},    {"mu dW", 'T', 'N', 20, 400, 128},
      {"mu dX", 'N', 'N', 128, 400, 20},      {"logvar dW", 'T', 'N', 20, 400, 128},
      {"logvar dX", 'N', 'N', 128, 400, 20},  {"enc1 dW", 'T', 'N', 400, 784, 128},
  };
  bool vaeOnly = false;
  for (int i = 1; i < argc; ++i)
    vaeOnly |= !std::strcmp(argv[i], "--vae-step");
  if (vaeOnly) {
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1, 1);
    struct Buffers {
      std::vector<float> a, b, c;
    };
    std::vector<Buffers> buffers;
    double flops = 0;
    for (const Shape &s : vaeStep) {
      Buffers m{std::vector<float>(s.m * s.k), std::vector<float>(s.k * s.n),
                std::vector<float>(s.m * s.n)};
      for (float &x : m.a) x = u(rng);
      for (float &x : m.b) x = u(rng);
      buffers.push_back(std::move(m));
      flops += 2.0 * s.m * s.n * s.k;
    }
    double t = best(reps, [&] {
      for (size_t i = 0; i < std::size(vaeStep); ++i) {
        const Shape &s = vaeStep[i];
        long lda = s.ta == 'N' ? s.k : s.m, ldb = s.tb == 'N' ? s.n : s.k;
        dnnl_sgemm(s.ta, s.tb, s.m, s.n, s.k, 1.f, buffers[i].a.data(), lda,
                   buffers[i].b.data(), ldb, 0.f, buffers[i].c.data(), s.n);
      }
    });
    std::printf("VAE step GEMMs (oneDNN, one thread, batch 128): %.3f ms, %.1f MFLOP, %.1f "
                "GFLOP/s, floor %.0f images/s; FMA peak %.1f GFLOP/s\n",
                t * 1e3, flops / 1e6, flops / t / 1e9, 128 / t, fmaPeak());
    return 0;
  }
  const Shape shapes[] = {
      {"VAE enc fwd   x W1^T", 'N', 'T', 128, 400, 784},
      {"VAE dec fwd   h W^T ", 'N', 'T', 128, 784, 400},
      {"VAE grad W    g^T x ", 'T', 'N', 784, 400, 128},
      {"VAE latent    h W^T ", 'N', 'T', 128, 20, 400},
      {"VAE dec in    z W^T ", 'N', 'T', 128, 400, 20},
      {"DCGAN D conv1 im2col", 'N', 'N', 64 * 196, 64, 16},
      {"DCGAN D conv2 im2col", 'N', 'N', 64 * 49, 128, 1024},
      {"DCGAN D conv2 grad W", 'T', 'N', 1024, 128, 64 * 49},
  };
  double peak = fmaPeak();
  std::printf("one thread; FMA peak %.0f GFLOP/s\n", peak);
  std::printf("%-22s %18s %14s %14s %8s\n", "shape", "M x N x K", "OpenBLAS", "oneDNN",
              "oneDNN/OB");
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (const Shape &s : shapes) {
    std::vector<float> a(s.m * s.k), b(s.k * s.n), c(s.m * s.n);
    for (float &x : a) x = u(rng);
    for (float &x : b) x = u(rng);
    long lda = s.ta == 'N' ? s.k : s.m, ldb = s.tb == 'N' ? s.n : s.k;
    double flops = 2.0 * s.m * s.n * s.k;
    double tb = best(reps, [&] {
      cblas_sgemm(CblasRowMajor, s.ta == 'T' ? CblasTrans : CblasNoTrans,
                  s.tb == 'T' ? CblasTrans : CblasNoTrans, s.m, s.n, s.k, 1.f, a.data(), lda,
                  b.data(), ldb, 0.f, c.data(), s.n);
    });
    double td = best(reps, [&] {
      dnnl_sgemm(s.ta, s.tb, s.m, s.n, s.k, 1.f, a.data(), lda, b.data(), ldb, 0.f, c.data(),
                 s.n);
    });
    char dims[40];
    std::snprintf(dims, sizeof dims, "%ldx%ldx%ld", s.m, s.n, s.k);
    std::printf("%-22s %18s %8.0f (%2.0f%%) %8.0f (%2.0f%%) %7.2fx\n", s.what, dims,
                flops / tb / 1e9, 100 * flops / tb / 1e9 / peak, flops / td / 1e9,
                100 * flops / td / 1e9 / peak, tb / td);
  }
}
