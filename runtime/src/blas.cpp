//===- blas.cpp - the host functions an artifact imports (abi.h) ----------===//
//
// Linked into the program that loads artifacts, which exports them to the
// artifact's dynamic symbol lookups (-rdynamic).
//
//===----------------------------------------------------------------------===//

#include "runtime/include/gmrt/abi.h"

#include <cblas.h>

extern "C" void gmrt_sgemm(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k,
                           const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                           float *c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, (blasint)k, 1.0f, a,
              (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
}
