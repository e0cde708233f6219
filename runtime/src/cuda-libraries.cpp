//===- cuda-libraries.cpp - cuBLAS and cuDNN for the CUDA executor --------===//
//
// The executor's products and convolutions (gmrt/cuda.h), through NVIDIA's
// libraries, dlopened when the executor starts: gm builds without the
// toolkit and gmrun runs where they are missing (the CPU takes the work
// back). Their types and values are those of cublas_api.h and cuDNN 9's
// headers, written out here.
//
//===----------------------------------------------------------------------===//

#include "runtime/include/gmrt/cuda.h"

#include "runtime/include/gmrt/memory.h"
#include "runtime/src/cuda-api.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <memory>
#include <type_traits>

namespace gmrt {

/// The cuBLAS functions gm calls (cublas_api.h's, by value: gm needs no
/// toolkit to build).
struct CudaExecutor::Blas {
  void *library = nullptr;
  void *handle = nullptr;
  int (*create)(void **);
  int (*sgemm)(void *, int, int, int, int, int, const float *, const float *, int, const float *,
               int, const float *, float *, int);
  int (*getVersion)(void *, int *);
};

void CudaExecutor::loadBlas() {
  const char *env = std::getenv("GMRT_CUBLAS");
  std::vector<std::string> names;
  if (env && *env)
    names = {env};
  else
    names = {"libcublas.so.13", "libcublas.so.12", "libcublas.so.11"};
  void *library = nullptr;
  std::string tried, name;
  for (const std::string &n : names) {
    if ((library = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL))) {
      name = n;
      break;
    }
    tried += (tried.empty() ? "" : ", ") + n;
  }
  if (!library) {
    blasText = "no cuBLAS (" + tried + "): products run on the CPU";
    return;
  }
  auto b = std::make_unique<Blas>();
  b->library = library;
  b->create = reinterpret_cast<decltype(b->create)>(dlsym(library, "cublasCreate_v2"));
  b->sgemm = reinterpret_cast<decltype(b->sgemm)>(dlsym(library, "cublasSgemm_v2"));
  b->getVersion = reinterpret_cast<decltype(b->getVersion)>(dlsym(library, "cublasGetVersion_v2"));
  int version = 0;
  if (!b->create || !b->sgemm || !b->getVersion) {
    blasText = name + " is not cuBLAS (no cublasCreate_v2, cublasSgemm_v2 or "
               "cublasGetVersion_v2): products run on the CPU";
  } else if (int s = b->create(&b->handle); s != 0) {
    blasText = "cublasCreate_v2 failed (status " + std::to_string(s) + "): products run on the CPU";
  } else {
    b->getVersion(b->handle, &version);
    blasText = "cuBLAS " + std::to_string(version / 10000) + "." +
               std::to_string(version / 100 % 100) + " (" + name + ")";
    blas = b.release();
    return;
  }
  dlclose(library);
}

bool CudaExecutor::sgemm(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k,
                         const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                         float *c, int64_t ldc) {
  constexpr int64_t kMax = 0x7fffffff;
  if (!blas || std::max({m, n, k, lda, ldb, ldc}) > kMax) {
    ++products[1];
    return false;
  }
  ++products[0];
  if (m == 0 || n == 0)
    return true;
  // cuBLAS is column-major: C^T = op(B)^T op(A)^T, i.e. the same product
  // with the operands swapped (a row-major matrix read column-major is its
  // transpose).
  const float one = 1.0f;
  if (int s = blas->sgemm(blas->handle, trans_b ? 1 : 0, trans_a ? 1 : 0, (int)n, (int)m, (int)k,
                          &one, b, (int)ldb, a, (int)lda, &beta, c, (int)ldc);
      s != 0) {
    std::fflush(stdout);
    std::fprintf(stderr, "gmrun: error: cublasSgemm_v2 (%lld x %lld x %lld) on %s failed with "
                         "status %d\n", (long long)m, (long long)n, (long long)k,
                 device().name.c_str(), s);
    std::exit(1);
  }
  // (On the default stream, after the kernels before it; the host reads
  // the result next.)
  if (CUresult r = driver.api->cuCtxSynchronize(); r != 0) {
    std::fprintf(stderr, "gmrun: error: a product on %s: %s\n", device().name.c_str(),
                 driver.api->error("cuCtxSynchronize", r).c_str());
    std::exit(1);
  }
  return true;
}

/// The cuDNN functions gm calls (cuDNN 9's legacy convolution API).
struct CudaExecutor::Dnn {
  void *library = nullptr;
  void *handle = nullptr;
  size_t (*getVersion)();
  int (*create)(void **);
  int (*createTensor)(void **);
  int (*setTensor4d)(void *, int, int, int, int, int, int);
  int (*destroyTensor)(void *);
  int (*createFilter)(void **);
  int (*setFilter4d)(void *, int, int, int, int, int, int);
  int (*destroyFilter)(void *);
  int (*createConv)(void **);
  int (*setConv2d)(void *, int, int, int, int, int, int, int, int);
  int (*setMathType)(void *, int);
  int (*destroyConv)(void *);
  int (*forwardWorkspace)(void *, void *, void *, void *, void *, int, size_t *);
  int (*forward)(void *, const void *, void *, const void *, void *, const void *, void *, int,
                 void *, size_t, const void *, void *, void *);
  int (*backwardDataWorkspace)(void *, void *, void *, void *, void *, int, size_t *);
  int (*backwardData)(void *, const void *, void *, const void *, void *, const void *, void *,
                      int, void *, size_t, const void *, void *, void *);
  int (*backwardFilterWorkspace)(void *, void *, void *, void *, void *, int, size_t *);
  int (*backwardFilter)(void *, const void *, void *, const void *, void *, const void *, void *,
                        int, void *, size_t, const void *, void *, void *);
  const char *(*errorString)(int);
};

namespace {
// cuDNN 9's values (cudnn_graph.h, cudnn_ops.h).
constexpr int kNCHW = 0, kFloat = 0, kCrossCorrelation = 1, kFMAMath = 3;
// Deterministic algorithms: implicit precomputed GEMM forward, ALGO_1 for
// both backward directions (ALGO_0 of each sums with atomics).
constexpr int kForwardAlgo = 1, kBackwardDataAlgo = 1, kBackwardFilterAlgo = 1;
} // namespace

void CudaExecutor::loadDnn() {
  const char *env = std::getenv("GMRT_CUDNN");
  std::string name = env && *env ? env : "libcudnn.so.9";
  void *library = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    dnnText = "no cuDNN (" + name + "): convolutions run on the CPU";
    return;
  }
  auto d = std::make_unique<Dnn>();
  d->library = library;
  const char *missing = nullptr;
  auto resolve = [&](auto &fn, const char *symbol) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(library, symbol));
    if (!fn && !missing)
      missing = symbol;
  };
  resolve(d->getVersion, "cudnnGetVersion");
  resolve(d->create, "cudnnCreate");
  resolve(d->createTensor, "cudnnCreateTensorDescriptor");
  resolve(d->setTensor4d, "cudnnSetTensor4dDescriptor");
  resolve(d->destroyTensor, "cudnnDestroyTensorDescriptor");
  resolve(d->createFilter, "cudnnCreateFilterDescriptor");
  resolve(d->setFilter4d, "cudnnSetFilter4dDescriptor");
  resolve(d->destroyFilter, "cudnnDestroyFilterDescriptor");
  resolve(d->createConv, "cudnnCreateConvolutionDescriptor");
  resolve(d->setConv2d, "cudnnSetConvolution2dDescriptor");
  resolve(d->setMathType, "cudnnSetConvolutionMathType");
  resolve(d->destroyConv, "cudnnDestroyConvolutionDescriptor");
  resolve(d->forwardWorkspace, "cudnnGetConvolutionForwardWorkspaceSize");
  resolve(d->forward, "cudnnConvolutionForward");
  resolve(d->backwardDataWorkspace, "cudnnGetConvolutionBackwardDataWorkspaceSize");
  resolve(d->backwardData, "cudnnConvolutionBackwardData");
  resolve(d->backwardFilterWorkspace, "cudnnGetConvolutionBackwardFilterWorkspaceSize");
  resolve(d->backwardFilter, "cudnnConvolutionBackwardFilter");
  resolve(d->errorString, "cudnnGetErrorString");
  if (missing) {
    dnnText = name + " is not cuDNN 9 (no " + missing + "): convolutions run on the CPU";
  } else if (int s = d->create(&d->handle); s != 0) {
    dnnText = "cudnnCreate failed (" + std::string(d->errorString(s)) +
              "): convolutions run on the CPU";
  } else {
    size_t v = d->getVersion();
    dnnText = "cuDNN " + std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + " (" +
              name + ")";
    dnn = d.release();
    return;
  }
  dlclose(library);
}

bool CudaExecutor::conv2d(ConvKind kind, const ConvGeometry &g, const float *a, const float *b,
                          float *out) {
  // cuDNN pads both sides by the same amount; its output is gm's only
  // when that amount gives the same windows.
  bool fits = dnn;
  for (int i = 0; i < 2; ++i) {
    int64_t in = g.src[2 + i], k = g.weights[2 + i], s = g.stride[i], p = g.pad[i];
    if (s < 1 || in + 2 * p < k || (in + 2 * p - k) / s + 1 != g.dst[2 + i])
      fits = false;
  }
  for (const int64_t *dims : {g.src, g.weights, g.dst})
    for (int i = 0; i < 4; ++i)
      if (dims[i] > 0x7fffffff)
        fits = false;
  ++convolutions[fits ? 0 : 1];
  if (!fits)
    return false;
  const Dnn &d = *dnn;
  auto fail = [&](const char *call, int status) {
    std::fflush(stdout);
    std::fprintf(stderr, "gmrun: error: %s (%lldx%lldx%lldx%lld * %lldx%lldx%lldx%lld) on %s: %s\n",
                 call, (long long)g.src[0], (long long)g.src[1], (long long)g.src[2],
                 (long long)g.src[3], (long long)g.weights[0], (long long)g.weights[1],
                 (long long)g.weights[2], (long long)g.weights[3], device().name.c_str(),
                 d.errorString(status));
    std::exit(1);
  };
  void *src = nullptr, *dst = nullptr, *weights = nullptr, *conv = nullptr;
  int s = 0;
  if ((s = d.createTensor(&src)) || (s = d.createTensor(&dst)) || (s = d.createFilter(&weights)) ||
      (s = d.createConv(&conv)))
    fail("creating cuDNN descriptors", s);
  if ((s = d.setTensor4d(src, kNCHW, kFloat, (int)g.src[0], (int)g.src[1], (int)g.src[2],
                         (int)g.src[3])) ||
      (s = d.setTensor4d(dst, kNCHW, kFloat, (int)g.dst[0], (int)g.dst[1], (int)g.dst[2],
                         (int)g.dst[3])) ||
      (s = d.setFilter4d(weights, kFloat, kNCHW, (int)g.weights[0], (int)g.weights[1],
                         (int)g.weights[2], (int)g.weights[3])) ||
      (s = d.setConv2d(conv, (int)g.pad[0], (int)g.pad[1], (int)g.stride[0], (int)g.stride[1], 1,
                       1, kCrossCorrelation, kFloat)) ||
      (s = d.setMathType(conv, kFMAMath)))
    fail("setting cuDNN descriptors", s);
  size_t bytes = 0;
  if (kind == ConvKind::Forward)
    s = d.forwardWorkspace(d.handle, src, weights, conv, dst, kForwardAlgo, &bytes);
  else if (kind == ConvKind::BackwardData)
    s = d.backwardDataWorkspace(d.handle, weights, dst, conv, src, kBackwardDataAlgo, &bytes);
  else
    s = d.backwardFilterWorkspace(d.handle, src, dst, conv, weights, kBackwardFilterAlgo, &bytes);
  if (s)
    fail("cuDNN's workspace size", s);
  if (bytes > workspaceSize) {
    memoryFree(workspace);
    workspace = memoryAllocate(bytes);
    workspaceSize = workspace ? bytes : 0;
    if (!workspace)
      fail("cuDNN's workspace", 4); // CUDNN_STATUS_ALLOC_FAILED
  }
  const float one = 1.0f, zero = 0.0f;
  // a and b by role (abi.h); out is overwritten (beta 0).
  if (kind == ConvKind::Forward)
    s = d.forward(d.handle, &one, src, a, weights, b, conv, kForwardAlgo, workspace,
                  workspaceSize, &zero, dst, out);
  else if (kind == ConvKind::BackwardData)
    s = d.backwardData(d.handle, &one, weights, b, dst, a, conv, kBackwardDataAlgo, workspace,
                       workspaceSize, &zero, src, out);
  else
    s = d.backwardFilter(d.handle, &one, src, a, dst, b, conv, kBackwardFilterAlgo, workspace,
                         workspaceSize, &zero, weights, out);
  if (s)
    fail(kind == ConvKind::Forward        ? "cudnnConvolutionForward"
         : kind == ConvKind::BackwardData ? "cudnnConvolutionBackwardData"
                                          : "cudnnConvolutionBackwardFilter",
         s);
  d.destroyConv(conv);
  d.destroyFilter(weights);
  d.destroyTensor(dst);
  d.destroyTensor(src);
  if (CUresult r = driver.api->cuCtxSynchronize(); r != 0) {
    std::fprintf(stderr, "gmrun: error: a convolution on %s: %s\n", device().name.c_str(),
                 driver.api->error("cuCtxSynchronize", r).c_str());
    std::exit(1);
  }
  return true;
}

} // namespace gmrt
