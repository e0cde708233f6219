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
