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
 *   FAKE_CUDA_TRACE     a file each launch appends "NAME GRID BLOCK" to
 *   FAKE_CUDA_FAIL_LAUNCH  the launch (1 = the first) that fails with
 *                       CUDA_ERROR_LAUNCH_FAILED [none]
 *
 * cuModuleLoadDataEx accepts PTX whose `.target sm_N` the device runs and
 * whose every `.entry` is defined, as the real JIT would need; it rejects
 * anything else with CUDA_ERROR_INVALID_PTX (218) and a log line.
 * cuModuleGetFunction finds `.entry NAME(`; a kernel's register count is
 * its name's length (a value the test can predict).
 *
 * Kernels run on the CPU: the PTX the host loads lies in an artifact built
 * with `gmc --target=cuda -cuda-emulate`, which exports each kernel's
 * emulated grid as gm_emu_NAME(void **params, int64_t grid, int64_t block);
 * cuModuleGetFunction finds it in the library holding the PTX (dladdr), and
 * cuLaunchKernel runs it with the launch's parameters and 1-D grid. Memory
 * is the host's (cuMemAllocManaged: aligned_alloc), as managed memory is
 * the host's too; but a launch whose pointer parameter (gm_emu_NAME_kinds
 * says which are pointers) lies outside every cuMemAllocManaged block
 * fails with CUDA_ERROR_ILLEGAL_ADDRESS, as a GPU would fault on host
 * memory.
 *
 * It is also a fake cuBLAS (GMRT_CUBLAS=<this library>): cublasCreate_v2,
 * cublasGetVersion_v2 and a column-major cublasSgemm_v2 on the CPU, which
 * refuses operands outside the cuMemAllocManaged blocks the same way
 * (CUBLAS_STATUS_EXECUTION_FAILED, 13). FAKE_CUDA_TRACE logs each product
 * as "sgemm TRANSA TRANSB M N K". And a fake cuDNN (GMRT_CUDNN=<it>): the
 * legacy convolution API gm calls, a direct reference convolution in three
 * directions (NCHW, cross-correlation, symmetric padding), a workspace it
 * asks for and checks, and the same device-memory check; traced as
 * "conv fwd|bwd_data|bwd_filter N C H W F KH KW OH OW".
 *
 *===----------------------------------------------------------------------===*/

#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
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

typedef void (*Emulated)(void **params, int64_t grid, int64_t block);
typedef struct {
  const char *entry; /* NAME( in the PTX */
  Emulated run;      /* gm_emu_NAME, or NULL */
  const char *kinds; /* gm_emu_NAME_kinds: p, i or f per parameter */
  char name[64];
} Function;

/* The live cuMemAllocManaged blocks. */
typedef struct {
  uintptr_t start, size;
} Block;
static Block *blocks;
static size_t numBlocks, capBlocks;

static int managed(uintptr_t p) {
  for (size_t i = 0; i < numBlocks; ++i)
    if (p >= blocks[i].start && p < blocks[i].start + blocks[i].size)
      return 1;
  return 0;
}

int cuModuleGetFunction(void **fn, void *module, const char *name) {
  const Module *m = module;
  for (const char *at = strstr(m->ptx, ".entry "); at; at = strstr(at + 1, ".entry ")) {
    const char *n = at + strlen(".entry ");
    size_t len = strlen(name);
    if (strncmp(n, name, len) == 0 && n[len] == '(') {
      Function *f = calloc(1, sizeof *f); /* kept: the driver's handles live with the module */
      f->entry = n;
      snprintf(f->name, sizeof f->name, "%s", name);
      Dl_info info;
      if (dladdr(m->ptx, &info) && info.dli_fname) {
        void *lib = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
        char symbol[96];
        snprintf(symbol, sizeof symbol, "gm_emu_%s", name);
        if (lib) {
          f->run = (Emulated)dlsym(lib, symbol);
          strcat(symbol, "_kinds");
          f->kinds = (const char *)dlsym(lib, symbol);
        }
      }
      *fn = f;
      return 0;
    }
  }
  return 500; /* CUDA_ERROR_NOT_FOUND */
}

int cuFuncGetAttribute(int *v, int attr, void *fn) {
  if (attr != 4)
    return 1;
  *v = (int)strcspn(((const Function *)fn)->entry, "(");
  return 0;
}

int cuMemAllocManaged(unsigned long long *p, size_t bytes, unsigned flags) {
  void *m = aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!m || flags != 1)
    return m ? (free(m), 1) : 2; /* CUDA_ERROR_INVALID_VALUE, _OUT_OF_MEMORY */
  if (numBlocks == capBlocks) {
    capBlocks = capBlocks ? 2 * capBlocks : 256;
    blocks = realloc(blocks, capBlocks * sizeof *blocks);
  }
  blocks[numBlocks++] = (Block){(uintptr_t)m, bytes ? bytes : 1};
  *p = (unsigned long long)(uintptr_t)m;
  return 0;
}

int cuMemFree_v2(unsigned long long p) {
  for (size_t i = 0; i < numBlocks; ++i)
    if (blocks[i].start == p) {
      blocks[i] = blocks[--numBlocks];
      free((void *)(uintptr_t)p);
      return 0;
    }
  return 1; /* CUDA_ERROR_INVALID_VALUE: not a block of cuMemAllocManaged */
}

static int launches;

int cuLaunchKernel(void *fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                   unsigned bz, unsigned shared, void *stream, void **params, void **extra) {
  const Function *f = fn;
  if (gy != 1 || gz != 1 || by != 1 || bz != 1 || bx > 1024 || gx == 0 || extra)
    return 1; /* CUDA_ERROR_INVALID_VALUE: gm launches 1-D grids with parameters */
  if (++launches == env("FAKE_CUDA_FAIL_LAUNCH", 0))
    return 719;
  if (!f->run) {
    fprintf(stderr, "fake-cuda: no gm_emu_%s beside the PTX (compile with -cuda-emulate)\n",
            f->name);
    return 801; /* CUDA_ERROR_NOT_SUPPORTED */
  }
  for (size_t i = 0; f->kinds && f->kinds[i]; ++i) {
    uintptr_t p = *(uintptr_t *)params[i];
    if (f->kinds[i] == 'p' && !managed(p)) {
      fprintf(stderr, "fake-cuda: %s's parameter %zu points at %#lx, which is not device "
                      "memory\n", f->name, i, (unsigned long)p);
      return 700; /* CUDA_ERROR_ILLEGAL_ADDRESS */
    }
  }
  const char *trace = getenv("FAKE_CUDA_TRACE");
  if (trace && *trace) {
    FILE *out = fopen(trace, "a");
    if (out) {
      fprintf(out, "%s %u %u\n", f->name, gx, bx);
      fclose(out);
    }
  }
  f->run(params, gx, bx);
  return 0;
}

int cuCtxSynchronize(void) { return 0; }

int cuModuleUnload(void *module) { free(module); return 0; }

int cuGetErrorString(int r, const char **text) {
  switch (r) {
  case 101: *text = "invalid device ordinal"; return 0;
  case 218: *text = "a PTX JIT compilation failed"; return 0;
  case 500: *text = "named symbol not found"; return 0;
  case 700: *text = "an illegal memory access was encountered"; return 0;
  case 719: *text = "unspecified launch failure"; return 0;
  case 801: *text = "operation not supported"; return 0;
  default: *text = "unknown error"; return 0;
  }
}

/* cuBLAS. */
static int handle;

int cublasCreate_v2(void **h) { *h = &handle; return 0; }
int cublasGetVersion_v2(void *h, int *v) { *v = 130000; return h == &handle ? 0 : 1; }

int cublasSgemm_v2(void *h, int transa, int transb, int m, int n, int k, const float *alpha,
                   const float *a, int lda, const float *b, int ldb, const float *beta, float *c,
                   int ldc) {
  if (h != &handle || transa < 0 || transa > 1 || transb < 0 || transb > 1 || m < 0 || n < 0 ||
      k < 0)
    return 7; /* CUBLAS_STATUS_INVALID_VALUE */
  if ((k && m && !managed((uintptr_t)a)) || (k && n && !managed((uintptr_t)b)) ||
      (m && n && !managed((uintptr_t)c))) {
    fprintf(stderr, "fake-cuda: cublasSgemm_v2's operand is not device memory\n");
    return 13; /* CUBLAS_STATUS_EXECUTION_FAILED */
  }
  const char *trace = getenv("FAKE_CUDA_TRACE");
  if (trace && *trace) {
    FILE *out = fopen(trace, "a");
    if (out) {
      fprintf(out, "sgemm %c %c %d %d %d\n", transa ? 'T' : 'N', transb ? 'T' : 'N', m, n, k);
      fclose(out);
    }
  }
  /* Column-major: C(i, j) = alpha sum_p op(A)(i, p) op(B)(p, j) + beta C(i, j),
   * a column at a time, summed in double (a reference, not a rival). */
  double *column = calloc(m ? m : 1, sizeof *column);
  for (int j = 0; j < n; ++j) {
    memset(column, 0, (m ? m : 1) * sizeof *column);
    for (int p = 0; p < k; ++p) {
      double bp = transb ? b[j + (size_t)p * ldb] : b[p + (size_t)j * ldb];
      if (transa)
        for (int i = 0; i < m; ++i)
          column[i] += a[p + (size_t)i * lda] * bp;
      else
        for (int i = 0; i < m; ++i)
          column[i] += a[i + (size_t)p * lda] * bp;
    }
    for (int i = 0; i < m; ++i) {
      float *out = &c[i + (size_t)j * ldc];
      *out = (float)(*alpha * column[i] + (*beta == 0 ? 0 : *beta * *out));
    }
  }
  free(column);
  return 0;
}

/* cuDNN. Descriptors are small structs; the handle is one static. */
typedef struct {
  int dims[4];
} Desc;
typedef struct {
  int pad[2], stride[2], math;
} ConvDesc;
static int dnnHandle;
static const size_t kWorkspace = 4096; /* what every direction asks for */

size_t cudnnGetVersion(void) { return 91900; }
int cudnnCreate(void **h) { *h = &dnnHandle; return 0; }
const char *cudnnGetErrorString(int s) {
  return s == 3 ? "CUDNN_STATUS_BAD_PARAM" : s == 8 ? "CUDNN_STATUS_EXECUTION_FAILED" : "CUDNN_STATUS_?";
}
static int createDesc(void **d, size_t size) { *d = calloc(1, size); return *d ? 0 : 4; }
static int destroyDesc(void *d) { free(d); return 0; }
int cudnnCreateTensorDescriptor(void **d) { return createDesc(d, sizeof(Desc)); }
int cudnnCreateFilterDescriptor(void **d) { return createDesc(d, sizeof(Desc)); }
int cudnnCreateConvolutionDescriptor(void **d) { return createDesc(d, sizeof(ConvDesc)); }
int cudnnDestroyTensorDescriptor(void *d) { return destroyDesc(d); }
int cudnnDestroyFilterDescriptor(void *d) { return destroyDesc(d); }
int cudnnDestroyConvolutionDescriptor(void *d) { return destroyDesc(d); }
static int set4d(void *d, int format, int type, int n, int c, int h, int w) {
  if (format != 0 || type != 0 || n < 1 || c < 1 || h < 1 || w < 1)
    return 3; /* NCHW floats only */
  Desc *t = d;
  t->dims[0] = n, t->dims[1] = c, t->dims[2] = h, t->dims[3] = w;
  return 0;
}
int cudnnSetTensor4dDescriptor(void *d, int format, int type, int n, int c, int h, int w) {
  return set4d(d, format, type, n, c, h, w);
}
int cudnnSetFilter4dDescriptor(void *d, int type, int format, int k, int c, int h, int w) {
  return set4d(d, format, type, k, c, h, w);
}
int cudnnSetConvolution2dDescriptor(void *d, int ph, int pw, int sh, int sw, int dh, int dw,
                                    int mode, int type) {
  ConvDesc *c = d;
  if (ph < 0 || pw < 0 || sh < 1 || sw < 1 || dh != 1 || dw != 1 || mode != 1 || type != 0)
    return 3; /* gm: cross-correlation, no dilation, f32 */
  c->pad[0] = ph, c->pad[1] = pw, c->stride[0] = sh, c->stride[1] = sw;
  return 0;
}
int cudnnSetConvolutionMathType(void *d, int math) {
  ((ConvDesc *)d)->math = math;
  return math == 3 ? 0 : 3; /* gm asks for FMA math: no TF32 */
}

/* The geometry's consistency, as cuDNN checks it. */
static int geometry(const Desc *x, const Desc *w, const ConvDesc *c, const Desc *y) {
  if (x->dims[1] != w->dims[1] || y->dims[0] != x->dims[0] || y->dims[1] != w->dims[0])
    return 3;
  for (int i = 0; i < 2; ++i)
    if ((x->dims[2 + i] + 2 * c->pad[i] - w->dims[2 + i]) / c->stride[i] + 1 != y->dims[2 + i])
      return 3;
  return 0;
}
int cudnnGetConvolutionForwardWorkspaceSize(void *h, void *x, void *w, void *c, void *y, int algo,
                                            size_t *bytes) {
  *bytes = kWorkspace;
  return h == &dnnHandle && algo == 1 ? geometry(x, w, c, y) : 3;
}
int cudnnGetConvolutionBackwardDataWorkspaceSize(void *h, void *w, void *dy, void *c, void *dx,
                                                 int algo, size_t *bytes) {
  *bytes = kWorkspace;
  return h == &dnnHandle && algo == 1 ? geometry(dx, w, c, dy) : 3;
}
int cudnnGetConvolutionBackwardFilterWorkspaceSize(void *h, void *x, void *dy, void *c, void *dw,
                                                   int algo, size_t *bytes) {
  *bytes = kWorkspace;
  return h == &dnnHandle && algo == 1 ? geometry(x, dw, c, dy) : 3;
}

/* One direction of the reference convolution: 0 forward (y from x, w), 1
 * backward data (x from y, w), 2 backward filter (w from x, y); the output
 * overwritten (gm passes beta 0), summed in double. */
static int convolve(int dir, const Desc *xd, float *x, const Desc *wd, float *w,
                    const ConvDesc *c, const Desc *yd, float *y, void *work, size_t workBytes) {
  if (geometry(xd, wd, c, yd))
    return 3;
  if (!managed((uintptr_t)x) || !managed((uintptr_t)w) || !managed((uintptr_t)y) ||
      !managed((uintptr_t)work) || workBytes < kWorkspace) {
    fprintf(stderr, "fake-cuda: a convolution's operand or workspace is not device memory\n");
    return 8; /* CUDNN_STATUS_EXECUTION_FAILED */
  }
  int N = xd->dims[0], C = xd->dims[1], H = xd->dims[2], W = xd->dims[3];
  int F = wd->dims[0], KH = wd->dims[2], KW = wd->dims[3], OH = yd->dims[2], OW = yd->dims[3];
  const char *trace = getenv("FAKE_CUDA_TRACE");
  if (trace && *trace) {
    FILE *out = fopen(trace, "a");
    static const char *names[] = {"fwd", "bwd_data", "bwd_filter"};
    if (out) {
      fprintf(out, "conv %s %d %d %d %d %d %d %d %d %d\n", names[dir], N, C, H, W, F, KH, KW, OH,
              OW);
      fclose(out);
    }
  }
  size_t count = dir == 0 ? (size_t)N * F * OH * OW
               : dir == 1 ? (size_t)N * C * H * W
                          : (size_t)F * C * KH * KW;
  double *sum = calloc(count, sizeof *sum);
  for (int n = 0; n < N; ++n)
    for (int f = 0; f < F; ++f)
      for (int oh = 0; oh < OH; ++oh)
        for (int ow = 0; ow < OW; ++ow)
          for (int ch = 0; ch < C; ++ch)
            for (int kh = 0; kh < KH; ++kh)
              for (int kw = 0; kw < KW; ++kw) {
                int h = oh * c->stride[0] + kh - c->pad[0];
                int wi = ow * c->stride[1] + kw - c->pad[1];
                if (h < 0 || h >= H || wi < 0 || wi >= W)
                  continue;
                size_t xi = (((size_t)n * C + ch) * H + h) * W + wi;
                size_t wk = (((size_t)f * C + ch) * KH + kh) * KW + kw;
                size_t yi = (((size_t)n * F + f) * OH + oh) * OW + ow;
                if (dir == 0)
                  sum[yi] += (double)x[xi] * w[wk];
                else if (dir == 1)
                  sum[xi] += (double)y[yi] * w[wk];
                else
                  sum[wk] += (double)x[xi] * y[yi];
              }
  float *out = dir == 0 ? y : dir == 1 ? x : w;
  for (size_t i = 0; i < count; ++i)
    out[i] = (float)sum[i];
  free(sum);
  return 0;
}

int cudnnConvolutionForward(void *h, const float *alpha, void *xd, float *x, void *wd, float *w,
                            void *c, int algo, void *work, size_t bytes, const float *beta,
                            void *yd, float *y) {
  if (h != &dnnHandle || algo != 1 || *alpha != 1 || *beta != 0)
    return 3;
  return convolve(0, xd, x, wd, w, c, yd, y, work, bytes);
}
int cudnnConvolutionBackwardData(void *h, const float *alpha, void *wd, float *w, void *dyd,
                                 float *dy, void *c, int algo, void *work, size_t bytes,
                                 const float *beta, void *dxd, float *dx) {
  if (h != &dnnHandle || algo != 1 || *alpha != 1 || *beta != 0)
    return 3;
  return convolve(1, dxd, dx, wd, w, c, dyd, dy, work, bytes);
}
int cudnnConvolutionBackwardFilter(void *h, const float *alpha, void *xd, float *x, void *dyd,
                                   float *dy, void *c, int algo, void *work, size_t bytes,
                                   const float *beta, void *dwd, float *dw) {
  if (h != &dnnHandle || algo != 1 || *alpha != 1 || *beta != 0)
    return 3;
  return convolve(2, xd, x, dwd, dw, c, dyd, dy, work, bytes);
}
