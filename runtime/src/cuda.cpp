//===- cuda.cpp - the CUDA driver, loaded when asked for ------------------===//

#include "runtime/include/gmrt/cuda.h"

#include "runtime/src/cuda-api.h"

#include "runtime/include/gmrt/artifact.h"
#include "runtime/include/gmrt/memory.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <dlfcn.h>

namespace gmrt {

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
  resolve(a.cuMemAllocManaged, "cuMemAllocManaged");
  resolve(a.cuMemFree_v2, "cuMemFree_v2");
  resolve(a.cuLaunchKernel, "cuLaunchKernel");
  resolve(a.cuCtxSynchronize, "cuCtxSynchronize");
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

Status CudaDriver::pickPTX(const Artifact &art, int device, std::string &chip,
                           const char *&ptx) const {
  if (art.manifest.target.cuda.empty())
    return Status::error("'" + art.path + "' has no CUDA kernels: compile it with gmc --target=cuda");
  if (device < 0 || device >= (int)list.size())
    return Status::error("no CUDA device " + std::to_string(device) + " (the driver sees " +
                         std::to_string(list.size()) + ")");
  const CudaDevice &dev = list[device];
  // The newest chip the device runs: PTX for sm_X runs on compute
  // capability X and later.
  int cc = 10 * dev.major + dev.minor, best = -1;
  ptx = nullptr;
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
  return Status();
}

Status CudaDriver::loadModule(const Artifact &art, int device, const std::string &chip,
                              const char *ptx, void *&context, void *&module) const {
  const Api &a = *api;
  CUdevice d;
  module = nullptr;
  if (CUresult r = a.cuDeviceGet(&d, device); r != 0)
    return Status::error(a.error("cuDeviceGet", r));
  if (CUresult r = a.cuDevicePrimaryCtxRetain(&context, d); r != 0)
    return Status::error(a.error("cuDevicePrimaryCtxRetain", r));
  if (CUresult r = a.cuCtxSetCurrent(context); r != 0)
    return Status::error(a.error("cuCtxSetCurrent", r));
  // The driver's JIT compiles the PTX for this device; its log says why it
  // rejects one.
  char log[4096] = {0};
  int options[] = {kJitErrorLogBuffer, kJitErrorLogBufferSize};
  void *values[] = {log, reinterpret_cast<void *>(sizeof log - 1)};
  if (CUresult r = a.cuModuleLoadDataEx(&module, ptx, 2, options, values); r != 0) {
    module = nullptr;
    return Status::error("the driver rejects the " + chip + " PTX of '" + art.path + "' on " +
                         list[device].name + ": " + a.error("cuModuleLoadDataEx", r) +
                         (log[0] ? std::string("\n") + log : ""));
  }
  return Status();
}

Status CudaDriver::loadKernels(const Artifact &art, int device, std::string &chip,
                               std::vector<LoadedKernel> &out) const {
  const char *ptx = nullptr;
  if (Status s = pickPTX(art, device, chip, ptx); !s)
    return s;
  const Api &a = *api;
  CUcontext ctx = nullptr;
  CUmodule module = nullptr;
  Status status = loadModule(art, device, chip, ptx, ctx, module);
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
  if (ctx) {
    CUdevice d;
    if (a.cuDeviceGet(&d, device) == 0)
      a.cuDevicePrimaryCtxRelease_v2(d);
  }
  return status;
}

namespace {

CudaExecutor *theExecutor = nullptr;
const CudaDriver::Api *managedApi = nullptr; // the executor's driver

void *managedAllocate(size_t bytes) {
  CUdeviceptr p = 0;
  return managedApi->cuMemAllocManaged(&p, bytes, kMemAttachGlobal) == 0
             ? reinterpret_cast<void *>(p)
             : nullptr;
}

void managedRelease(void *p) { managedApi->cuMemFree_v2(reinterpret_cast<CUdeviceptr>(p)); }

const MemorySystem kManaged = {"cuda managed", managedAllocate, managedRelease, true};

} // namespace

CudaExecutor *CudaExecutor::active() { return theExecutor; }

Status CudaExecutor::start(const Artifact &art, int device) {
  if (theExecutor)
    return Status::error("a CUDA executor is already running");
  if (art.manifest.target.cuda.empty())
    return Status::error("'" + art.path + "' has no CUDA kernels: compile it with gmc "
                         "--target=cuda to run it with --device cuda");
  auto *e = new CudaExecutor();
  std::unique_ptr<CudaExecutor> owner(e);
  if (Status s = CudaDriver::load(e->driver); !s)
    return s;
  if (e->driver.devices().empty())
    return Status::error("the CUDA driver (" + e->driver.library() + ") sees no GPU");
  const char *ptx = nullptr;
  if (Status s = e->driver.pickPTX(art, device, e->ptxChip, ptx); !s)
    return s;
  e->ordinal = device;
  const CudaDriver::Api &a = *e->driver.api;
  if (Status s = e->driver.loadModule(art, device, e->ptxChip, ptx, e->context, e->module); !s)
    return s;
  for (const char *at = std::strstr(ptx, ".entry "); at; at = std::strstr(at + 1, ".entry "))
    ++e->entryCount;
  // Every buffer an entry gets from now on is managed memory.
  managedApi = &a;
  if (!setMemorySystem(kManaged))
    return Status::error("internal error: the CUDA executor must start before any tensor is "
                         "allocated (and cached scratch given back: gmrt::trimScratch)");
  e->loadBlas();
  e->loadDnn();
  theExecutor = owner.release();
  return Status();
}

std::string CudaExecutor::summary() const {
  auto count = [](const uint64_t (&n)[2], const char *what) {
    return std::to_string(n[0] + n[1]) + " " + what + " (" + std::to_string(n[1]) +
           " on the CPU)";
  };
  return std::to_string(launchCount) + " kernel launches, " + count(products, "products") + ", " +
         count(convolutions, "convolutions");
}

void *CudaExecutor::constant(const void *tensor, int64_t bytes) {
  std::lock_guard<std::mutex> lock(constantsMutex);
  void *&copy = constants[tensor];
  if (!copy) {
    copy = memoryAllocate(bytes);
    if (!copy) {
      std::fprintf(stderr, "gmrun: error: out of CUDA memory for a constant tensor of %lld bytes\n",
                   (long long)bytes);
      std::exit(1);
    }
    std::memcpy(copy, tensor, bytes);
  }
  return copy;
}

void CudaExecutor::launch(int32_t kernel, int64_t *params, int32_t count, int64_t points) {
  const CudaDriver::Api &a = *driver.api;
  auto fail = [&](const std::string &what) {
    std::fflush(stdout);
    std::fprintf(stderr, "gmrun: error: CUDA kernel gm_kernel_%d on %s: %s\n", kernel,
                 device().name.c_str(), what.c_str());
    std::exit(1);
  };
  // Entries may run on any thread; the context is per thread.
  thread_local void *current = nullptr;
  if (current != context) {
    if (CUresult r = a.cuCtxSetCurrent(context); r != 0)
      fail(a.error("cuCtxSetCurrent", r));
    current = context;
  }
  if (kernel < 0)
    fail("no such kernel");
  if ((size_t)kernel >= functions.size())
    functions.resize(kernel + 1, nullptr);
  if (!functions[kernel]) {
    std::string name = "gm_kernel_" + std::to_string(kernel);
    if (CUresult r = a.cuModuleGetFunction(&functions[kernel], module, name.c_str()); r != 0)
      fail("not in the " + ptxChip + " PTX: " + a.error("cuModuleGetFunction", r));
  }
  if (points <= 0)
    return;
  // A thread per point up to 65535 blocks; the kernel's grid-stride loop
  // takes the rest.
  constexpr int64_t kBlock = 256, kMaxBlocks = 65535;
  unsigned blocks = (unsigned)std::min((points + kBlock - 1) / kBlock, kMaxBlocks);
  // (Kept between launches: this is every kernel's path.)
  thread_local std::vector<void *> pointers;
  pointers.resize(count);
  for (int32_t i = 0; i < count; ++i)
    pointers[i] = &params[i];
  ++launchCount;
  if (CUresult r = a.cuLaunchKernel(functions[kernel], blocks, 1, 1, kBlock, 1, 1, 0, nullptr,
                                    pointers.data(), nullptr);
      r != 0)
    fail(a.error("cuLaunchKernel", r));
  if (CUresult r = a.cuCtxSynchronize(); r != 0)
    fail(a.error("cuCtxSynchronize", r));
}

} // namespace gmrt

extern "C" void *gmrt_cuda_constant(const void *tensor, int64_t bytes) {
  gmrt::CudaExecutor *e = gmrt::CudaExecutor::active();
  return e ? e->constant(tensor, bytes) : const_cast<void *>(tensor);
}

extern "C" int32_t gmrt_cuda_launch(int32_t kernel, int64_t *params, int32_t count,
                                    int64_t points) {
  gmrt::CudaExecutor *e = gmrt::CudaExecutor::active();
  if (!e)
    return 0;
  e->launch(kernel, params, count, points);
  return 1;
}
