//===- cuda.h - the CUDA driver, loaded when asked for ------------*- C++ -*-===//
//
// gmrun runs on machines without a GPU or a CUDA driver, so nothing links
// libcuda: `CudaDriver::load` dlopens it (or the library $GMRT_CUDA_DRIVER
// names: the suite's fake driver, runtime/tests/fake-cuda.c) and resolves
// the few driver functions gm calls. It reports the driver and devices
// (gmrun system), loads an artifact's PTX on a device (gmrun cuda-check),
// and runs an artifact's kernels there (CudaExecutor: gmrun --device cuda).
// docs/cuda.md has what runs where.
//
//===----------------------------------------------------------------------===//

#ifndef GMRT_CUDA_H
#define GMRT_CUDA_H

#include "runtime/include/gmrt/conv.h"
#include "runtime/include/gmrt/status.h"

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace gmrt {

class Artifact;

/// One CUDA device, as the driver reports it.
struct CudaDevice {
  std::string name; // "NVIDIA H100 80GB HBM3"
  int major = 0, minor = 0; // compute capability: 9.0 is sm_90
};

/// The driver: its library, version and devices. load() fails with a
/// message saying which: no library, a missing function, cuInit failing,
/// or a driver older than the PTX gmc writes (PTX 7.8: CUDA 11.8).
class CudaDriver {
public:
  static Status load(CudaDriver &out);
  ~CudaDriver();

  const std::string &library() const { return path; }
  /// cuDriverGetVersion: 1000 * major + 10 * minor (13000 is CUDA 13.0).
  int version() const { return driverVersion; }
  const std::vector<CudaDevice> &devices() const { return list; }

  /// The kernels of |art|'s PTX loaded on |device| (the driver compiles the
  /// PTX of the newest chip the device runs): their names and register
  /// counts, in the PTX's order. Fails naming the device and chip where the
  /// artifact has no PTX it runs, or the driver rejects the PTX (with its
  /// log).
  struct LoadedKernel {
    std::string name;
    int registers = 0;
  };
  Status loadKernels(const Artifact &art, int device, std::string &chip,
                     std::vector<LoadedKernel> &out) const;

  /// The oldest driver that reads gmc's PTX (7.8).
  static constexpr int kMinVersion = 11080;

  struct Api;

private:
  friend class CudaExecutor;
  /// The PTX of |art| for the newest chip |device| runs, or an error naming
  /// the chips it has.
  Status pickPTX(const Artifact &art, int device, std::string &chip, const char *&ptx) const;
  /// |device|'s primary context retained and made current (|context|),
  /// and |ptx| (|art|'s for |chip|) loaded by the JIT into it (|module|,
  /// nullptr on failure), or an error with the JIT's log.
  Status loadModule(const Artifact &art, int device, const std::string &chip, const char *ptx,
                    void *&context, void *&module) const;

  void *handle = nullptr;
  Api *api = nullptr;
  std::string path;
  int driverVersion = 0;
  std::vector<CudaDevice> list;
};

/// Runs an artifact's kernels on a GPU: `gmrun --device cuda`. Every host
/// kernel of an artifact built with `gmc --target=cuda` calls
/// gmrt_cuda_launch first (abi.h); with an executor started, that launches
/// the PTX kernel of the same name on the device (256 threads a block, a
/// block per 256 of the kernel's parallel points) and waits for it, and the
/// host skips its CPU loop. The entries' glue, their products and
/// convolutions and the few ops gm-outline-kernels leaves inline still run
/// on the CPU, on the same buffers: start() makes managed memory
/// (cuMemAllocManaged, which both reach) the memory system of every buffer
/// an entry gets (gmrt/memory.h), and each launch is synchronous, so the
/// host never reads a buffer a kernel is writing. Products go to cuBLAS
/// when it is there (dlopened: libcublas.so.13, .12, .11, or
/// $GMRT_CUBLAS), convolutions to cuDNN (libcudnn.so.9 or $GMRT_CUDNN),
/// waited for the same way; else the CPU runs them.
class CudaExecutor {
public:
  /// Loads the driver, makes |device|'s primary context current, loads the
  /// PTX of |art| for it, and makes this the process's executor, for the
  /// rest of its life. Before any buffer an entry gets is allocated, and
  /// with no scratch cached (gmrt::trimScratch): the memory system changes. Fails saying why: no driver or GPU, no PTX in
  /// the artifact, none the device runs, the JIT's refusal.
  static Status start(const Artifact &art, int device);
  /// The executor start() made, or nullptr.
  static CudaExecutor *active();

  const CudaDevice &device() const { return driver.devices()[ordinal]; }
  const std::string &chip() const { return ptxChip; }
  size_t kernels() const { return entryCount; }
  uint64_t launches() const { return launchCount; }
  /// "12 kernel launches, 6 products (0 on the CPU), 9 convolutions (3 on
  /// the CPU)": where the work went, for gmrun to report when it ends.
  std::string summary() const;

  /// Launches kernel gm_kernel_|kernel| (gmrt_cuda_launch's arguments) and
  /// waits for it. A driver error ends the process with its message: an
  /// entry's caller cannot recover a half-run step.
  void launch(int32_t kernel, int64_t *params, int32_t count, int64_t points);

  /// The device's copy of an artifact's constant tensor (gmrt_cuda_constant),
  /// made on first use.
  void *constant(const void *tensor, int64_t bytes);

  /// gmrt_sgemm's product on the device with cuBLAS, waited for; false
  /// (the CPU runs it) when cuBLAS was not found or a size exceeds its
  /// 32-bit ints. A cuBLAS error ends the process, as a launch's does.
  bool sgemm(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k, const float *a,
             int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
  /// "cuBLAS 13.0 (libcublas.so.13)", or why products run on the CPU.
  const std::string &blasDescription() const { return blasText; }

  /// gmrt_conv2d's convolution on the device with cuDNN, waited for; false
  /// (the CPU runs it) without cuDNN, or where cuDNN's symmetric padding
  /// cannot give gm's (zeros before by |pad|, after by whatever the last
  /// window reads: the same only when cuDNN's output size with |pad| on
  /// both sides is gm's). Deterministic algorithms, FMA math (no TF32).
  bool conv2d(ConvKind kind, const ConvGeometry &g, const float *a, const float *b, float *out);
  /// "cuDNN 9.19 (libcudnn.so.9)", or why convolutions run on the CPU.
  const std::string &dnnDescription() const { return dnnText; }

private:
  CudaExecutor() = default;
  CudaDriver driver;
  int ordinal = 0;
  void *context = nullptr;
  void *module = nullptr;
  std::string ptxChip;
  size_t entryCount = 0;
  uint64_t launchCount = 0;
  uint64_t products[2] = {0, 0};     // on the device, on the CPU
  uint64_t convolutions[2] = {0, 0}; // on the device, on the CPU
  std::vector<void *> functions; // by kernel number, resolved on first launch
  std::mutex constantsMutex;
  std::unordered_map<const void *, void *> constants;
  struct Blas;
  Blas *blas = nullptr; // nullptr: no cuBLAS
  std::string blasText;
  void loadBlas();
  struct Dnn;
  Dnn *dnn = nullptr; // nullptr: no cuDNN
  std::string dnnText;
  void loadDnn();
  void *workspace = nullptr; // cuDNN's, managed memory
  size_t workspaceSize = 0;
};

} // namespace gmrt

#endif // GMRT_CUDA_H
