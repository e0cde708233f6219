//===- cuda.cpp - the CUDA driver, loaded when asked for ------------------===//

#include "runtime/include/gmrt/cuda.h"

#include "runtime/include/gmrt/artifact.h"

#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <dlfcn.h>

namespace gmrt {

namespace {

// The driver API's types and the enum values gm uses, as CUDA's cuda.h
// defines them (gm does not need the toolkit to build).
using CUresult = int;
using CUdevice = int;
using CUcontext = void *;
using CUmodule = void *;
using CUfunction = void *;
constexpr int kComputeCapabilityMajor = 75, kComputeCapabilityMinor = 76; // CUdevice_attribute
constexpr int kFuncNumRegs = 4;                                            // CUfunction_attribute
constexpr int kJitErrorLogBuffer = 5, kJitErrorLogBufferSize = 6;          // CUjit_option

} // namespace

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

  /// "cuFoo failed: <the driver's description> (error N)".
  std::string error(const char *call, CUresult r) const {
    const char *text = nullptr;
    if (cuGetErrorString(r, &text) != 0 || !text)
      text = "unknown error";
    return std::string(call) + " failed: " + text + " (error " + std::to_string(r) + ")";
  }
};

Status CudaDriver::load(CudaDriver &out) {
  const char *env = std::getenv("GMRT_CUDA_DRIVER");
  out.path = env && *env ? env : "libcuda.so.1";
  out.handle = dlopen(out.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!out.handle)
    return Status::error("no CUDA driver: cannot load " + out.path + " (" + dlerror() +
                         "); is the NVIDIA driver installed?");
  out.api = new Api();
  Api &a = *out.api;
  const char *missing = nullptr;
  auto resolve = [&](auto &fn, const char *name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(out.handle, name));
    if (!fn && !missing)
      missing = name;
  };
  resolve(a.cuInit, "cuInit");
  resolve(a.cuDriverGetVersion, "cuDriverGetVersion");
  resolve(a.cuDeviceGetCount, "cuDeviceGetCount");
  resolve(a.cuDeviceGet, "cuDeviceGet");
  resolve(a.cuDeviceGetName, "cuDeviceGetName");
  resolve(a.cuDeviceGetAttribute, "cuDeviceGetAttribute");
  resolve(a.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  resolve(a.cuDevicePrimaryCtxRelease_v2, "cuDevicePrimaryCtxRelease_v2");
  resolve(a.cuCtxSetCurrent, "cuCtxSetCurrent");
  resolve(a.cuModuleLoadDataEx, "cuModuleLoadDataEx");
  resolve(a.cuModuleGetFunction, "cuModuleGetFunction");
  resolve(a.cuFuncGetAttribute, "cuFuncGetAttribute");
  resolve(a.cuModuleUnload, "cuModuleUnload");
  resolve(a.cuGetErrorString, "cuGetErrorString");
  if (missing)
    return Status::error(out.path + " is not a usable CUDA driver: it lacks " + missing);
  if (CUresult r = a.cuDriverGetVersion(&out.driverVersion); r != 0)
    return Status::error(out.path + ": " + a.error("cuDriverGetVersion", r));
  auto versionText = [](int v) {
    return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
  };
  if (out.driverVersion < kMinVersion)
    return Status::error("the CUDA driver (" + out.path + ") is version " +
                         versionText(out.driverVersion) + "; gm's PTX needs " +
                         versionText(kMinVersion) + " or newer: update the NVIDIA driver");
  if (CUresult r = a.cuInit(0); r != 0)
    return Status::error("the CUDA driver " + versionText(out.driverVersion) +
                         " found no usable GPU: " + a.error("cuInit", r));
  int count = 0;
  if (CUresult r = a.cuDeviceGetCount(&count); r != 0)
    return Status::error(a.error("cuDeviceGetCount", r));
  for (int i = 0; i < count; ++i) {
    CUdevice d;
    CudaDevice dev;
    char name[256] = {0};
    if (CUresult r = a.cuDeviceGet(&d, i); r != 0)
      return Status::error(a.error("cuDeviceGet", r));
    if (CUresult r = a.cuDeviceGetName(name, sizeof name - 1, d); r != 0)
      return Status::error(a.error("cuDeviceGetName", r));
    if (CUresult r = a.cuDeviceGetAttribute(&dev.major, kComputeCapabilityMajor, d); r != 0)
      return Status::error(a.error("cuDeviceGetAttribute", r));
    if (CUresult r = a.cuDeviceGetAttribute(&dev.minor, kComputeCapabilityMinor, d); r != 0)
      return Status::error(a.error("cuDeviceGetAttribute", r));
    dev.name = name;
    out.list.push_back(dev);
  }
  return Status();
}

CudaDriver::~CudaDriver() {
  delete api;
  if (handle)
    dlclose(handle);
}

Status CudaDriver::loadKernels(const Artifact &art, int device, std::string &chip,
                               std::vector<LoadedKernel> &out) const {
  if (art.manifest.target.cuda.empty())
    return Status::error("'" + art.path + "' has no CUDA kernels: compile it with gmc --target=cuda");
  if (device < 0 || device >= (int)list.size())
    return Status::error("no CUDA device " + std::to_string(device) + " (the driver sees " +
                         std::to_string(list.size()) + ")");
  const CudaDevice &dev = list[device];
  // The newest chip the device runs: PTX for sm_X runs on compute
  // capability X and later.
  int cc = 10 * dev.major + dev.minor, best = -1;
  const char *ptx = nullptr;
  for (size_t i = 0; i < art.manifest.target.cuda.size(); ++i) {
    const std::string &c = art.manifest.target.cuda[i];
    int n = std::atoi(c.c_str() + 3);
    if (n <= cc && n > best) {
      best = n;
      chip = c;
      ptx = art.cudaPTX[i];
    }
  }
  std::string chips;
  for (const std::string &c : art.manifest.target.cuda)
    chips += (chips.empty() ? "" : ", ") + c;
  if (best < 0)
    return Status::error("'" + art.path + "' has PTX for " + chips + ", which " + dev.name +
                         " (sm_" + std::to_string(cc) + ") cannot run: compile with "
                         "-cuda-arch=sm_" + std::to_string(cc));

  const Api &a = *api;
  CUdevice d;
  CUcontext ctx;
  if (CUresult r = a.cuDeviceGet(&d, device); r != 0)
    return Status::error(a.error("cuDeviceGet", r));
  if (CUresult r = a.cuDevicePrimaryCtxRetain(&ctx, d); r != 0)
    return Status::error(a.error("cuDevicePrimaryCtxRetain", r));
  Status status;
  CUmodule module = nullptr;
  if (CUresult r = a.cuCtxSetCurrent(ctx); r != 0) {
    status = Status::error(a.error("cuCtxSetCurrent", r));
  } else {
    // The driver's JIT compiles the PTX for this device; its log says why
    // it rejects one.
    char log[4096] = {0};
    int options[] = {kJitErrorLogBuffer, kJitErrorLogBufferSize};
    void *values[] = {log, reinterpret_cast<void *>(sizeof log - 1)};
    if (CUresult r = a.cuModuleLoadDataEx(&module, ptx, 2, options, values); r != 0) {
      status = Status::error("the driver rejects the " + chip + " PTX of '" + art.path + "' on " +
                             dev.name + ": " + a.error("cuModuleLoadDataEx", r) +
                             (log[0] ? std::string("\n") + log : ""));
      module = nullptr;
    }
  }
  // Every kernel the PTX defines, by the name the host will launch.
  for (const char *at = module ? std::strstr(ptx, ".entry ") : nullptr; at && status.ok();
       at = std::strstr(at + 1, ".entry ")) {
    const char *name = at + std::strlen(".entry ");
    size_t len = std::strcspn(name, "( \n");
    LoadedKernel k{std::string(name, len), 0};
    CUfunction fn;
    if (CUresult r = a.cuModuleGetFunction(&fn, module, k.name.c_str()); r != 0)
      status = Status::error("kernel " + k.name + ": " + a.error("cuModuleGetFunction", r));
    else if (CUresult r = a.cuFuncGetAttribute(&k.registers, kFuncNumRegs, fn); r != 0)
      status = Status::error("kernel " + k.name + ": " + a.error("cuFuncGetAttribute", r));
    out.push_back(k);
  }
  if (module)
    a.cuModuleUnload(module);
  a.cuDevicePrimaryCtxRelease_v2(d);
  return status;
}

} // namespace gmrt
