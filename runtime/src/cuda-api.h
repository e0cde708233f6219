//===- cuda-api.h - the CUDA driver API, as gmrt calls it --------*- C++ -*-===//
//
// Private to runtime/src: the driver functions CudaDriver resolves and the
// types and values of cuda.h they use (gm needs no toolkit to build).
//
//===----------------------------------------------------------------------===//

#ifndef GMRT_SRC_CUDA_API_H
#define GMRT_SRC_CUDA_API_H

#include "runtime/include/gmrt/cuda.h"

#include <string>

namespace gmrt {

// The driver API's types and the enum values gm uses, as CUDA's cuda.h
// defines them (gm does not need the toolkit to build).
using CUresult = int;
using CUdevice = int;
using CUcontext = void *;
using CUmodule = void *;
using CUfunction = void *;
using CUdeviceptr = unsigned long long;
using CUstream = void *;
constexpr int kComputeCapabilityMajor = 75, kComputeCapabilityMinor = 76; // CUdevice_attribute
constexpr int kFuncNumRegs = 4;                                            // CUfunction_attribute
constexpr int kJitErrorLogBuffer = 5, kJitErrorLogBufferSize = 6;          // CUjit_option
constexpr unsigned kMemAttachGlobal = 1;                                   // CUmemAttach_flags

struct CudaDriver::Api {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDriverGetVersion)(int *);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuDevicePrimaryCtxRelease_v2)(CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *, void **);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuFuncGetAttribute)(int *, int, CUfunction);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuMemAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*cuMemFree_v2)(CUdeviceptr);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, CUstream, void **, void **);
  CUresult (*cuCtxSynchronize)();

  /// "cuFoo failed: <the driver's description> (error N)".
  std::string error(const char *call, CUresult r) const {
    const char *text = nullptr;
    if (cuGetErrorString(r, &text) != 0 || !text)
      text = "unknown error";
    return std::string(call) + " failed: " + text + " (error " + std::to_string(r) + ")";
  }
};

} // namespace gmrt

#endif // GMRT_SRC_CUDA_API_H
