//===- host.cpp - the host functions an artifact imports (abi.h) ----------===//
//
// Linked into the program that loads artifacts, which exports them to the
// artifact's dynamic symbol lookups (-rdynamic).
//
// GEMM goes to oneDNN (dnnl_sgemm), which dispatches on the CPU's ISA
// features; OpenBLAS 0.3.21 picks kernels from a table of CPU models and
// serves the ones it does not know with generic SSE3 code, 5x slower. On a
// CPU it does know (SkylakeX kernels), oneDNN still measured 1.0-1.6x
// faster on every shape of gm's VAE and DCGAN steps (bench/gemm.cpp).
// GM_GEMM=openblas selects OpenBLAS, for comparison.
//
//===----------------------------------------------------------------------===//

#include "runtime/include/gmrt/abi.h"
#include "runtime/include/gmrt/gemm.h"
#include "runtime/include/gmrt/numerics.h"
#include "runtime/src/gomp.h"

#include <cblas.h>
#include <dnnl.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

extern "C" void openblas_set_num_threads(int);
extern "C" char *openblas_get_config(void);
extern "C" char *openblas_get_corename(void);

gmrt::GemmLibrary gmrt::gemmLibrary() {
  static const GemmLibrary library = [] {
    const char *env = std::getenv("GM_GEMM");
    return env && !std::strcmp(env, "openblas") ? GemmLibrary::OpenBLAS : GemmLibrary::OneDNN;
  }();
  return library;
}

namespace {
int gemmLevelLimit = 4;
} // namespace

void gmrt::limitGemmISA(int level) {
  gemmLevelLimit = level;
  dnnl_set_max_cpu_isa(level >= 4   ? dnnl_cpu_isa_avx512_core
                       : level == 3 ? dnnl_cpu_isa_avx2
                                    : dnnl_cpu_isa_sse41);
}

void gmrt::setGemmThreads(int n) {
  openblas_set_num_threads(n);
  omp_set_num_threads(n);
}

std::string gmrt::describeGemm() {
  if (gemmLibrary() == GemmLibrary::OpenBLAS) {
    std::string config = openblas_get_config();
    while (!config.empty() && config.back() == ' ')
      config.pop_back();
    const char *core = openblas_get_corename();
    return config + " (GM_GEMM=openblas); kernel " + (core ? core : "?");
  }
  // oneDNN's f32 GEMM has AVX-512, AVX2 and SSE4.1 kernels and takes the
  // widest this CPU has (dnnl_get_effective_cpu_isa reports only the
  // ceiling the library allows, not what it dispatched to).
  const dnnl_version_t *v = dnnl_version();
  __builtin_cpu_init();
  bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const char *isa = avx512 && gemmLevelLimit >= 4             ? "avx512_core"
                    : avx2 && gemmLevelLimit >= 3               ? "avx2"
                    : __builtin_cpu_supports("sse4.1") ? "sse41"
                                                       : "reference";
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch) + "; kernel " + isa;
}

namespace {
gmrt::DeviceGemm deviceGemm = nullptr;
} // namespace

void gmrt::setDeviceGemm(DeviceGemm gemm) { deviceGemm = gemm; }

extern "C" void gmrt_sgemm(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k,
                           const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                           float *c, int64_t ldc) {
  if (deviceGemm && deviceGemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc))
    return;
  if (gmrt::gemmLibrary() == gmrt::GemmLibrary::OpenBLAS) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, (blasint)k, 1.0f, a,
                (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
    return;
  }
  dnnl_status_t status = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, 1.0f, a,
                                     lda, b, ldb, beta, c, ldc);
  if (status != dnnl_success) {
    // Only invalid arguments fail; gm's lowering never passes them.
    std::fprintf(stderr, "gmrun: internal error: dnnl_sgemm(%c, %c, %lld, %lld, %lld) failed "
                         "with status %d\n", trans_a ? 'T' : 'N', trans_b ? 'T' : 'N',
                 (long long)m, (long long)n, (long long)k, (int)status);
    std::abort();
  }
}

namespace {
/// MLIR's unranked memref: a rank and a pointer to a ranked descriptor
/// {allocated, aligned, offset, sizes[rank], strides[rank]}.
struct UnrankedMemRef {
  int64_t rank;
  void *descriptor;
};
struct Ranked {
  char *allocated, *aligned;
  int64_t offset;
  int64_t sizesAndStrides[];
};
} // namespace

extern "C" void memrefCopy(int64_t elemSize, UnrankedMemRef *src, UnrankedMemRef *dst) {
  auto *s = static_cast<Ranked *>(src->descriptor), *d = static_cast<Ranked *>(dst->descriptor);
  int64_t rank = src->rank;
  const int64_t *sizes = s->sizesAndStrides, *ss = s->sizesAndStrides + rank,
                *ds = d->sizesAndStrides + rank;
  int64_t total = 1;
  for (int64_t i = 0; i < rank; ++i)
    total *= sizes[i];
  if (total == 0)
    return;
  char *from = s->aligned + s->offset * elemSize, *to = d->aligned + d->offset * elemSize;
  // Row by row: the innermost dimension in one memcpy when contiguous on
  // both sides, else element by element (4-byte elements without a call).
  int64_t inner = rank ? sizes[rank - 1] : 1;
  bool contiguous = rank == 0 || (ss[rank - 1] == 1 && ds[rank - 1] == 1);
  int64_t index[GM_MAX_RANK * 2] = {0};
  for (int64_t n = 0; n < total; n += inner) {
    int64_t so = 0, dof = 0;
    for (int64_t i = 0; i + 1 < rank; ++i) {
      so += index[i] * ss[i];
      dof += index[i] * ds[i];
    }
    if (contiguous) {
      std::memcpy(to + dof * elemSize, from + so * elemSize, (size_t)(inner * elemSize));
    } else if (elemSize == 4) {
      const float *f = reinterpret_cast<const float *>(from) + so;
      float *t = reinterpret_cast<float *>(to) + dof;
      for (int64_t j = 0; j < inner; ++j)
        t[j * ds[rank - 1]] = f[j * ss[rank - 1]];
    } else {
      for (int64_t j = 0; j < inner; ++j)
        std::memcpy(to + (dof + j * ds[rank - 1]) * elemSize,
                    from + (so + j * ss[rank - 1]) * elemSize, (size_t)elemSize);
    }
    for (int64_t i = rank - 2; i >= 0; --i) {
      if (++index[i] < sizes[i])
        break;
      index[i] = 0;
    }
  }
}

namespace {
bool numericChecks = false;
// Checks run on several threads at once where an entry's loops do (NADE's
// chunks of hidden units): the first failure is kept under a lock, and
// |failed| lets every later check return early without taking it.
std::mutex failureMutex;
std::atomic<bool> failed{false};
std::optional<gmrt::NumericFailure> firstFailure;
} // namespace

void gmrt::enableNumericChecks(bool on) { numericChecks = on; }

std::optional<gmrt::NumericFailure> gmrt::takeNumericFailure() {
  std::lock_guard<std::mutex> lock(failureMutex);
  std::optional<NumericFailure> f = firstFailure;
  firstFailure.reset();
  failed = false;
  return f;
}

extern "C" void _mlir_ciface_gmrt_check_finite(int32_t site, UnrankedMemRef *m) {
  // Only the first failure matters: later ones are its consequences.
  if (!numericChecks || failed.load(std::memory_order_relaxed))
    return;
  auto *d = static_cast<Ranked *>(m->descriptor);
  int64_t rank = m->rank;
  const int64_t *sizes = d->sizesAndStrides, *strides = d->sizesAndStrides + rank;
  int64_t total = 1;
  for (int64_t i = 0; i < rank; ++i)
    total *= sizes[i];
  const float *base = reinterpret_cast<const float *>(d->aligned) + d->offset;
  int64_t index[GM_MAX_RANK] = {0};
  for (int64_t flat = 0; flat < total; ++flat) {
    int64_t at = 0;
    for (int64_t i = 0; i < rank; ++i)
      at += index[i] * strides[i];
    if (!std::isfinite(base[at])) {
      std::lock_guard<std::mutex> lock(failureMutex);
      if (!firstFailure) // (two threads' chunks run the same ops: either names the op)
        firstFailure = gmrt::NumericFailure{site, base[at], flat,
                                            std::vector<int64_t>(sizes, sizes + rank)};
      failed = true;
      return;
    }
    for (int64_t i = rank - 1; i >= 0; --i) {
      if (++index[i] < sizes[i])
        break;
      index[i] = 0;
    }
  }
}
