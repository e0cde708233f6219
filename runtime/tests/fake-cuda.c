/*===- fake-cuda.c - a CUDA driver without a GPU, for the suite ------------===
 *
 * The driver functions gmrt's CudaDriver calls (runtime/src/cuda.cpp),
 * implemented on the CPU, so the suite tests the host side of the CUDA
 * path where no GPU is (GMRT_CUDA_DRIVER=<this library>). The device and the
 * failures are set by the environment:
 *
 *   FAKE_CUDA_VERSION   cuDriverGetVersion's value [13000]
 *   FAKE_CUDA_DEVICES   how many devices [1]
 *   FAKE_CUDA_CC        their compute capability, e.g. 90 or 75 [90]
 *
 * cuModuleLoadDataEx accepts PTX whose `.target sm_N` the device runs and
 * whose every `.entry` is defined, as the real JIT would need; it rejects
 * anything else with CUDA_ERROR_INVALID_PTX (218) and a log line.
 * cuModuleGetFunction finds `.entry NAME(`; a kernel's register count is
 * its name's length (a value the test can predict).
 *
 *===----------------------------------------------------------------------===*/

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int env(const char *name, int fallback) {
  const char *v = getenv(name);
  return v && *v ? atoi(v) : fallback;
}

typedef struct {
  const char *ptx;
} Module;

int cuInit(unsigned flags) { return flags == 0 ? 0 : 1; }
int cuDriverGetVersion(int *v) { *v = env("FAKE_CUDA_VERSION", 13000); return 0; }
int cuDeviceGetCount(int *n) { *n = env("FAKE_CUDA_DEVICES", 1); return 0; }
int cuDeviceGet(int *d, int i) {
  if (i < 0 || i >= env("FAKE_CUDA_DEVICES", 1))
    return 101; /* CUDA_ERROR_INVALID_DEVICE */
  *d = i;
  return 0;
}
int cuDeviceGetName(char *name, int len, int d) {
  snprintf(name, len, "Fake GPU %d", d);
  return 0;
}
int cuDeviceGetAttribute(int *v, int attr, int d) {
  int cc = env("FAKE_CUDA_CC", 90);
  if (attr == 75) *v = cc / 10;
  else if (attr == 76) *v = cc % 10;
  else return 1;
  return 0;
}
static int context;
int cuDevicePrimaryCtxRetain(void **ctx, int d) { *ctx = &context; return 0; }
int cuDevicePrimaryCtxRelease_v2(int d) { return 0; }
int cuCtxSetCurrent(void *ctx) { return ctx == &context ? 0 : 201; }

int cuModuleLoadDataEx(void **module, const void *image, unsigned n, int *options, void **values) {
  const char *ptx = (const char *)image, *log = NULL;
  char *buffer = NULL;
  size_t size = 0;
  for (unsigned i = 0; i < n; ++i) {
    if (options[i] == 5) buffer = (char *)values[i];
    if (options[i] == 6) size = (size_t)values[i];
  }
  const char *target = strstr(ptx, "\n.target sm_");
  if (!strstr(ptx, "\n.version "))
    log = "ptxas fatal   : not PTX";
  else if (!target || atoi(target + strlen("\n.target sm_")) > env("FAKE_CUDA_CC", 90))
    log = "ptxas fatal   : the PTX's .target is newer than this device";
  else if (strstr(ptx, ".extern .func"))
    log = "ptxas fatal   : unresolved extern function";
  if (log) {
    if (buffer && size)
      snprintf(buffer, size, "%s", log);
    return 218; /* CUDA_ERROR_INVALID_PTX */
  }
  Module *m = malloc(sizeof *m);
  m->ptx = ptx;
  *module = m;
  return 0;
}

int cuModuleGetFunction(void **fn, void *module, const char *name) {
  const Module *m = module;
  for (const char *at = strstr(m->ptx, ".entry "); at; at = strstr(at + 1, ".entry ")) {
    const char *n = at + strlen(".entry ");
    size_t len = strlen(name);
    if (strncmp(n, name, len) == 0 && n[len] == '(') {
      *fn = (void *)(size_t)n; /* the driver's handles are opaque */
      return 0;
    }
  }
  return 500; /* CUDA_ERROR_NOT_FOUND */
}

int cuFuncGetAttribute(int *v, int attr, void *fn) {
  if (attr != 4)
    return 1;
  *v = (int)strcspn((const char *)fn, "(");
  return 0;
}

int cuModuleUnload(void *module) { free(module); return 0; }

int cuGetErrorString(int r, const char **text) {
  switch (r) {
  case 101: *text = "invalid device ordinal"; return 0;
  case 218: *text = "a PTX JIT compilation failed"; return 0;
  case 500: *text = "named symbol not found"; return 0;
  default: *text = "unknown error"; return 0;
  }
}
