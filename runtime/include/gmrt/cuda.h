//===- cuda.h - the CUDA driver, loaded when asked for ------------*- C++ -*-===//
//
// gmrun runs on machines without a GPU or a CUDA driver, so nothing links
// libcuda: `CudaDriver::load` dlopens it (or the library $GMRT_CUDA_DRIVER
// names: the suite's fake driver, runtime/tests/fake-cuda.c) and resolves
// the few driver functions gm calls. docs/cuda.md has the plan this is the
// first step of: today it reports the driver and devices (gmrun system) and
// loads an artifact's PTX on a device (gmrun cuda-check); no kernel is
// launched yet.
//
//===----------------------------------------------------------------------===//

#ifndef GMRT_CUDA_H
#define GMRT_CUDA_H

#include "runtime/include/gmrt/status.h"

#include <string>
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

private:
  struct Api;
  void *handle = nullptr;
  Api *api = nullptr;
  std::string path;
  int driverVersion = 0;
  std::vector<CudaDevice> list;
};

} // namespace gmrt

#endif // GMRT_CUDA_H
