//===- conv.cpp - oneDNN's convolution kernels on gm's layers, measured ---===//
//
//   build/bin/gm-bench-conv [--reps N]
//
// Times one-threaded oneDNN convolutions on the layers of gm's DCGAN (batch
// 64), each direction, in the layouts gmrt_conv2d could ask for: `any`
// (oneDNN's blocked layouts, its direct JIT kernels), plain NCHW/OIHW (its
// GEMM-based kernels), and what gmrt_conv2d itself does (the chosen
// primitive plus the reorders from and to gm's plain tensors). Prints
// ms and GFLOP/s per case. Run it pinned: taskset -c 0.
//
//===----------------------------------------------------------------------===//

#include "runtime/include/gmrt/abi.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

namespace {

using dnnl::memory;
using Tag = memory::format_tag;

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Layer {
  const char *name;
  memory::dims src, weights, dst;
};

double timeIt(int reps, const std::function<void()> &run) {
  for (int i = 0; i < 2; ++i)
    run();
  double t = now();
  for (int i = 0; i < reps; ++i)
    run();
  return (now() - t) / reps * 1e3;
}

/// One direction in one layout: oneDNN's primitive alone, on its own
/// buffers. Returns the implementation's name.
std::string primitiveOnly(int kind, const Layer &l, Tag tag, int reps, double &ms) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(eng);
  memory::dims strides = {2, 2}, pad = {1, 1};
  auto md = [&](const memory::dims &d, Tag t) {
    return memory::desc(d, memory::data_type::f32, t);
  };
  Tag wt = tag == Tag::any ? Tag::any : Tag::oihw;
  dnnl::convolution_forward::primitive_desc fwd(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                      dnnl::algorithm::convolution_direct, md(l.src, tag),
                                      md(l.weights, wt), md(l.dst, tag), strides, pad, pad),
      eng);
  dnnl::primitive p;
  memory a, b, o;
  int argA, argB, argO;
  std::string impl;
  if (kind == GM_CONV_FORWARD) {
    p = dnnl::convolution_forward(fwd);
    a = memory(fwd.src_desc(), eng), b = memory(fwd.weights_desc(), eng),
    o = memory(fwd.dst_desc(), eng);
    argA = DNNL_ARG_SRC, argB = DNNL_ARG_WEIGHTS, argO = DNNL_ARG_DST;
    impl = fwd.impl_info_str();
  } else if (kind == GM_CONV_BACKWARD_DATA) {
    dnnl::convolution_backward_data::primitive_desc pd(
        dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct,
                                              md(l.src, tag), md(l.weights, wt), md(l.dst, tag),
                                              strides, pad, pad),
        eng, fwd);
    p = dnnl::convolution_backward_data(pd);
    a = memory(pd.diff_dst_desc(), eng), b = memory(pd.weights_desc(), eng),
    o = memory(pd.diff_src_desc(), eng);
    argA = DNNL_ARG_DIFF_DST, argB = DNNL_ARG_WEIGHTS, argO = DNNL_ARG_DIFF_SRC;
    impl = pd.impl_info_str();
  } else {
    dnnl::convolution_backward_weights::primitive_desc pd(
        dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct,
                                                 md(l.src, tag), md(l.weights, wt),
                                                 md(l.dst, tag), strides, pad, pad),
        eng, fwd);
    p = dnnl::convolution_backward_weights(pd);
    a = memory(pd.src_desc(), eng), b = memory(pd.diff_dst_desc(), eng),
    o = memory(pd.diff_weights_desc(), eng);
    argA = DNNL_ARG_SRC, argB = DNNL_ARG_DIFF_DST, argO = DNNL_ARG_DIFF_WEIGHTS;
    impl = pd.impl_info_str();
  }
  // Defined values (fresh memory may hold denormals or NaNs, which slow
  // some kernels down by 10x).
  for (memory *m : {&a, &b, &o}) {
    auto *f = static_cast<float *>(m->get_data_handle());
    for (size_t i = 0; i < m->get_desc().get_size() / sizeof(float); ++i)
      f[i] = 0.5f + (float)(i % 7) * 0.125f;
  }
  ms = timeIt(reps, [&] {
    p.execute(s, {{argA, a}, {argB, b}, {argO, o}});
    s.wait();
  });
  return impl;
}

gm_memref describe(std::vector<float> &v, const memory::dims &d) {
  gm_memref m{};
  m.allocated = m.aligned = v.data();
  int64_t stride = 1;
  for (int i = 3; i >= 0; --i) {
    m.shape_and_strides[i] = d[i];
    m.shape_and_strides[4 + i] = stride;
    stride *= d[i];
  }
  return m;
}

int64_t numel(const memory::dims &d) { return d[0] * d[1] * d[2] * d[3]; }

} // namespace

int main(int argc, char **argv) {
  int reps = 20;
  for (int i = 1; i + 1 < argc; ++i)
    if (!std::strcmp(argv[i], "--reps"))
      reps = std::atoi(argv[i + 1]);
  const Layer layers[] = {
      {"D conv1 / G conv_transpose0", {64, 64, 14, 14}, {128, 64, 4, 4}, {64, 128, 7, 7}},
      {"D conv0 / G conv_transpose1", {64, 1, 28, 28}, {64, 1, 4, 4}, {64, 64, 14, 14}},
  };
  const char *kinds[] = {"forward", "backward-data", "backward-weights"};
  std::printf("%-28s %-16s %-8s %-22s %9s %9s\n", "layer (src*weights->dst)", "direction",
              "layout", "kernel", "ms", "GFLOP/s");
  for (const Layer &l : layers) {
    double flops = 2.0 * numel(l.dst) * l.weights[1] * l.weights[2] * l.weights[3];
    for (int kind = 0; kind < 3; ++kind) {
      for (Tag tag : {Tag::any, Tag::nchw}) {
        double ms;
        std::string impl = primitiveOnly(kind, l, tag, reps, ms);
        std::printf("%-28s %-16s %-8s %-22s %9.3f %9.1f\n", l.name, kinds[kind],
                    tag == Tag::any ? "blocked" : "plain", impl.c_str(), ms, flops / ms / 1e6);
      }
      // gmrt_conv2d as an artifact calls it: plain tensors in and out.
      std::vector<float> src(numel(l.src), 0.5f), weights(numel(l.weights), 0.25f),
          dst(numel(l.dst), 0.125f);
      gm_memref ms_ = describe(src, l.src), mw = describe(weights, l.weights),
                md = describe(dst, l.dst);
      gm_memref *a = kind == GM_CONV_BACKWARD_DATA ? &md : &ms_;
      gm_memref *b = kind == GM_CONV_BACKWARD_WEIGHTS ? &md : &mw;
      gm_memref *o = kind == GM_CONV_FORWARD ? &md : kind == GM_CONV_BACKWARD_DATA ? &ms_ : &mw;
      double ms = timeIt(reps, [&] { _mlir_ciface_gmrt_conv2d(kind, 2, 2, 1, 1, a, b, o); });
      std::printf("%-28s %-16s %-8s %-22s %9.3f %9.1f\n", l.name, kinds[kind], "gm",
                  "gmrt_conv2d", ms, flops / ms / 1e6);
    }
  }
  return 0;
}
