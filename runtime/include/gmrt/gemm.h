//===- gemm.h - which GEMM library the host's gmrt_sgemm calls -*- C++ -*-===//
//
// Defined in src/host.cpp, linked into programs that load artifacts.
//
//===----------------------------------------------------------------------===//

#ifndef GM_RUNTIME_GMRT_GEMM_H
#define GM_RUNTIME_GMRT_GEMM_H

#include <cstdint>
#include <string>

namespace gmrt {

enum class GemmLibrary { OneDNN, OpenBLAS };

/// oneDNN, unless the environment says GM_GEMM=openblas (read once).
GemmLibrary gemmLibrary();

/// "oneDNN 2.6.3; kernel avx512_core_bf16": the library and the kernel
/// family it dispatched to on this CPU.
std::string describeGemm();

/// The threads either library uses for one product.
void setGemmThreads(int n);

/// Keeps oneDNN to the kernels of x86-64 level |level| (4: AVX-512, 3:
/// AVX2, 2 and 1: SSE4.1, oneDNN's floor), as GMRUN_MAX_CPU_ISA pretends a
/// smaller CPU; before the first product.
void limitGemmISA(int level);

/// A product run elsewhere (the CUDA executor's cuBLAS): gmrt_sgemm's
/// arguments; returns false to have the CPU run it.
using DeviceGemm = bool (*)(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k,
                            const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                            float *c, int64_t ldc);

/// Makes gmrt_sgemm offer every product to |gemm| first (nullptr: none).
void setDeviceGemm(DeviceGemm gemm);

} // namespace gmrt

#endif // GM_RUNTIME_GMRT_GEMM_H
