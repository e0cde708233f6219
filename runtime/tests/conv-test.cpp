//===- conv-test.cpp - gmrt_conv2d against a direct loop, every direction -===//
//
//   gmrt-conv-test            (GMRT_CONV_TEST_ISA=3: AVX2 kernels only)
//
// For each geometry below (gm's models' layers, odd sizes, asymmetric
// windows) and each direction, runs the host's gmrt_conv2d on random data
// twice (a fresh primitive, then the cached one, on new data) and compares
// with a double-precision loop over the definition. Prints one line per
// case and exits 1 on any mismatch beyond 1e-4 of the terms' magnitude.
//
//===----------------------------------------------------------------------===//

#include "runtime/include/gmrt/abi.h"
#include "runtime/include/gmrt/conv.h"
#include "runtime/include/gmrt/gemm.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

struct Geometry {
  int64_t n, c, h, w, f, kh, kw, sh, sw, ph, pw;
  int64_t oh() const { return (h + 2 * ph - kh) / sh + 1; }
  int64_t ow() const { return (w + 2 * pw - kw) / sw + 1; }
};

/// A contiguous rank-4 descriptor over |data|.
gm_memref describe(std::vector<float> &data, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
  gm_memref m{};
  m.allocated = m.aligned = data.data();
  int64_t sizes[4] = {d0, d1, d2, d3}, stride = 1;
  for (int i = 3; i >= 0; --i) {
    m.shape_and_strides[i] = sizes[i];
    m.shape_and_strides[4 + i] = stride;
    stride *= sizes[i];
  }
  return m;
}

std::vector<float> random(size_t n, std::mt19937 &rng) {
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

/// Calls |visit(n, f, i, j, c, di, dj, srcIndex, weightIndex, dstIndex)|
/// for every term of the convolution whose input pixel is inside the image.
template <typename F> void forEachTerm(const Geometry &g, F visit) {
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t f = 0; f < g.f; ++f)
      for (int64_t i = 0; i < g.oh(); ++i)
        for (int64_t j = 0; j < g.ow(); ++j)
          for (int64_t c = 0; c < g.c; ++c)
            for (int64_t di = 0; di < g.kh; ++di)
              for (int64_t dj = 0; dj < g.kw; ++dj) {
                int64_t y = i * g.sh - g.ph + di, x = j * g.sw - g.pw + dj;
                if (y < 0 || y >= g.h || x < 0 || x >= g.w)
                  continue;
                visit(((n * g.c + c) * g.h + y) * g.w + x, ((f * g.c + c) * g.kh + di) * g.kw + dj,
                      ((n * g.f + f) * g.oh() + i) * g.ow() + j);
              }
}

bool check(const Geometry &g, gmrt::ConvKind kind, std::mt19937 &rng, bool cached) {
  size_t srcSize = g.n * g.c * g.h * g.w, weightSize = g.f * g.c * g.kh * g.kw,
         dstSize = g.n * g.f * g.oh() * g.ow();
  std::vector<float> src = random(srcSize, rng), weights = random(weightSize, rng),
                     dst = random(dstSize, rng);
  // The expected result and the magnitude of its terms, in double.
  std::vector<double> want, scale;
  std::vector<float> *a, *b, out;
  gm_memref ma, mb, mo;
  switch (kind) {
  case gmrt::ConvKind::Forward:
    want.assign(dstSize, 0), scale.assign(dstSize, 0);
    forEachTerm(g, [&](int64_t s, int64_t w, int64_t d) {
      want[d] += (double)src[s] * weights[w];
      scale[d] += std::fabs((double)src[s] * weights[w]);
    });
    a = &src, b = &weights, out.assign(dstSize, NAN);
    ma = describe(src, g.n, g.c, g.h, g.w), mb = describe(weights, g.f, g.c, g.kh, g.kw);
    mo = describe(out, g.n, g.f, g.oh(), g.ow());
    break;
  case gmrt::ConvKind::BackwardData:
    want.assign(srcSize, 0), scale.assign(srcSize, 0);
    forEachTerm(g, [&](int64_t s, int64_t w, int64_t d) {
      want[s] += (double)dst[d] * weights[w];
      scale[s] += std::fabs((double)dst[d] * weights[w]);
    });
    a = &dst, b = &weights, out.assign(srcSize, NAN);
    ma = describe(dst, g.n, g.f, g.oh(), g.ow()), mb = describe(weights, g.f, g.c, g.kh, g.kw);
    mo = describe(out, g.n, g.c, g.h, g.w);
    break;
  case gmrt::ConvKind::BackwardWeights:
    want.assign(weightSize, 0), scale.assign(weightSize, 0);
    forEachTerm(g, [&](int64_t s, int64_t w, int64_t d) {
      want[w] += (double)src[s] * dst[d];
      scale[w] += std::fabs((double)src[s] * dst[d]);
    });
    a = &src, b = &dst, out.assign(weightSize, NAN);
    ma = describe(src, g.n, g.c, g.h, g.w), mb = describe(dst, g.n, g.f, g.oh(), g.ow());
    mo = describe(out, g.f, g.c, g.kh, g.kw);
    break;
  }
  (void)a, (void)b;
  _mlir_ciface_gmrt_conv2d((int32_t)kind, g.sh, g.sw, g.ph, g.pw, &ma, &mb, &mo);
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    // f32 products summed in any order: well inside 1e-4 of the terms.
    double err = std::fabs(out[i] - want[i]) / (scale[i] + 1e-30);
    if (!(err <= worst)) // NaN counts
      worst = std::isnan(err) ? INFINITY : err, at = i;
  }
  bool ok = worst <= 1e-4;
  std::printf("%s kind %d n%lld c%lld %lldx%lld -> f%lld k%lldx%lld s%lld p%lld (%s): worst "
              "%.2g at %zu\n",
              ok ? "ok" : "FAIL", (int)kind, (long long)g.n, (long long)g.c, (long long)g.h,
              (long long)g.w, (long long)g.f, (long long)g.kh, (long long)g.kw, (long long)g.sh,
              (long long)g.ph, cached ? "cached" : "new", worst, at);
  return ok;
}

} // namespace

int main() {
  // GMRT_CONV_TEST_ISA=3: oneDNN kept to AVX2 kernels (gemm.h).
  if (const char *level = std::getenv("GMRT_CONV_TEST_ISA"))
    gmrt::limitGemmISA(std::atoi(level));
  std::printf("%s\n", gmrt::describeConv().c_str());
  const Geometry geometries[] = {
      {3, 1, 28, 28, 64, 4, 4, 2, 2, 1, 1},  // DCGAN D, first layer
      {3, 64, 14, 14, 128, 4, 4, 2, 2, 1, 1}, // DCGAN D, second layer
      {2, 64, 14, 14, 1, 4, 4, 2, 2, 1, 1},   // DCGAN G's output layer, as a convolution
      {2, 2, 9, 9, 3, 3, 3, 1, 1, 1, 1},      // test/CodeGen/Inputs/conv.gm
      {2, 3, 9, 9, 4, 4, 4, 2, 2, 1, 1},      // ... the last window short
      {1, 4, 5, 5, 5, 3, 3, 2, 2, 0, 0},
      {4, 5, 7, 6, 3, 3, 2, 2, 1, 1, 0},      // asymmetric kernel, stride and padding
      {1, 1, 28, 28, 1, 7, 7, 1, 1, 3, 3},    // PixelCNN-sized, one channel
  };
  std::mt19937 rng(7);
  bool ok = true;
  for (const Geometry &g : geometries)
    for (auto kind : {gmrt::ConvKind::Forward, gmrt::ConvKind::BackwardData,
                      gmrt::ConvKind::BackwardWeights})
      for (bool cached : {false, true})
        ok &= check(g, kind, rng, cached);
  std::printf("%s\n", ok ? "all convolutions match" : "MISMATCH");
  return ok ? 0 : 1;
}
