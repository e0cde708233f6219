//===- host.cpp - the host functions an artifact imports (abi.h) ----------===//
//
// Linked into the program that loads artifacts, which exports them to the
// artifact's dynamic symbol lookups (-rdynamic).
//
//===----------------------------------------------------------------------===//

#include "runtime/include/gmrt/abi.h"

#include <cblas.h>
#include <cstring>

extern "C" void gmrt_sgemm(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k,
                           const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                           float *c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, (blasint)k, 1.0f, a,
              (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
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
  // Element by element in row-major order (views: strided on either side).
  int64_t index[GM_MAX_RANK * 2] = {0};
  for (int64_t n = 0; n < total; ++n) {
    int64_t so = 0, dof = 0;
    for (int64_t i = 0; i < rank; ++i) {
      so += index[i] * ss[i];
      dof += index[i] * ds[i];
    }
    std::memcpy(to + dof * elemSize, from + so * elemSize, (size_t)elemSize);
    for (int64_t i = rank - 1; i >= 0; --i) {
      if (++index[i] < sizes[i])
        break;
      index[i] = 0;
    }
  }
}
