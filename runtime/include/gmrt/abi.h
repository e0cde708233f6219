/*===- abi.h - the contract between gmc's artifacts and their host -------===*
 *
 * An artifact (`gmc model.gm -o model.gmx`) is an ELF shared library for the
 * CPU chosen by `gmc -mcpu` (default: the compiling machine's). It exports:
 *
 *   const char    gm_artifact_magic[];  GM_ARTIFACT_MAGIC
 *   const int32_t gm_abi_version;       GM_ABI_VERSION of the gmc that wrote it
 *   const char    gm_manifest[];        the model's description, JSON (below)
 *   void gm_entry_<n>(void **args);     one per entry point
 *
 * and imports from the program that loads it (gmrun provides them):
 *
 *   void gmrt_sgemm(...)   row-major C = op(A) op(B) + beta C (below)
 *   void _mlir_ciface_gmrt_conv2d(...)
 *                          one direction of a 2-D convolution (below)
 *   void *gmrt_alloc(uint64_t size), void gmrt_free(void *)
 *                          every scratch buffer an entry allocates and frees
 *                          (malloc's contract; gmrun caches freed blocks by
 *                          size, gmrt/scratch.h)
 *   int32_t gmrt_omp_global_thread_num(ident *)
 *   void gmrt_omp_fork_call_if(ident *, int32_t argc, microtask, int32_t cond,
 *                              void *args)
 *   void gmrt_omp_for_static_init_8u(ident *, int32_t tid, int32_t schedule,
 *                              int32_t *last, uint64_t *lower, uint64_t *upper,
 *                              int64_t *stride, int64_t increment, int64_t chunk)
 *   void gmrt_omp_for_static_fini(ident *, int32_t tid)
 *                          the parallel loops of gm-parallel-loops: LLVM's
 *                          OpenMP lowering calls libomp's __kmpc_<name>
 *                          entry points, renamed; the host runs them on its
 *                          threads (gmrun: libgomp, runtime/src/parallel.cpp)
 *   void memrefCopy(...)   MLIR's copy between strided views (its C runner
 *                          utilities' signature)
 *   void _mlir_ciface_gmrt_check_finite(int32_t site, unranked memref *)
 *                          only with `gmc -check-numerics`: called on every
 *                          f32 buffer the artifact computes; such an
 *                          artifact also exports gm_check_sites, one
 *                          NUL-terminated "file:line:col: op, shape" per
 *                          site, ending with an empty string
 *   int32_t gmrt_cuda_launch(int32_t kernel, int64_t *params, int32_t count,
 *                            int64_t points)
 *   void *gmrt_cuda_constant(const void *tensor, int64_t bytes)
 *                          only in an artifact built with `gmc --target=cuda`:
 *                          each kernel calls the first (below); the second
 *                          gives the device's copy of a constant tensor
 *   libm's expf, logf, ... for what is not inlined
 *
 * Entry arguments. args[i] points at a memref descriptor (gm_memref) for
 * argument i, in this order:
 *   1. every `state` tensor of the manifest, in manifest order (parameters
 *      and optimizer slots; the entry reads them, a training step writes
 *      them in place);
 *   2. the entry's manifest `inputs` in order: data batches [B, ...],
 *      hyper-parameters as rank-0 f32, the random key as a rank-0 int64
 *      (the seed of gm's Philox streams, rng.h);
 *   3. one buffer per manifest `outputs` element, which the entry writes.
 * Tensors are f32 except token data (kind tokens: int32 ids below the
 * data's `classes`) and the key, row-major and contiguous; -1 in a manifest shape is
 * the batch size, the same for every batched argument of one call. Entries
 * allocate scratch memory internally and free it before returning; they
 * keep no state between calls and may run concurrently on different
 * buffers.
 *
 * The manifest is one JSON object, defined field by field in manifest.h
 * (the schema gmc writes and gmrun reads with; abi.h stays C and carries
 * no parser). It names the model; lists the `state` tensors (name, shape,
 * how to initialise them; slots name their parameter), the `data` sets
 * (per-batch shape, kind, source) and the `entries` (symbol, kind, inputs,
 * output shapes, and how a host schedules them); and records the `target`:
 * the CPU gmc compiled for (LLVM's name: `gmc -mcpu`) and the ISA
 * extensions of isa.h that CPU enables. A host refuses to call into an
 * artifact needing an extension its CPU lacks.
 *
 * Any change to the above, the manifest's layout included, bumps
 * GM_ABI_VERSION; a host refuses artifacts of another version. (Version 7:
 * gmrt_cuda_launch; 6:
 * the gmrt_omp_* imports; 5:
 * gmrt_alloc and gmrt_free instead of malloc and free; 4: gmrt_conv2d; 3: the manifest became JSON; 2 added its target record.)
 *
 *===----------------------------------------------------------------------===*/

#ifndef GMRT_ABI_H
#define GMRT_ABI_H

#include <stdint.h>

#define GM_ABI_VERSION 7
#define GM_ARTIFACT_MAGIC "gm-artifact"
#define GM_MAX_RANK 8

/* The file's integrity: gmc appends a 16-byte trailer to the ELF file, the
 * 8 bytes GM_ARTIFACT_TRAILER, the CRC-32 (zlib's polynomial) of every byte
 * before the trailer as a little-endian uint32, and 4 zero bytes. Loaders
 * ignore bytes past an ELF file's sections; a host checks the CRC before
 * dlopen, so a flipped bit or a partial copy is an error, not a crash. */
#define GM_ARTIFACT_TRAILER "gm-crc32"
#define GM_ARTIFACT_TRAILER_SIZE 16

#ifdef __cplusplus
extern "C" {
#endif

/* MLIR's ranked memref descriptor: for rank R, sizes occupy
 * shape_and_strides[0, R) and strides [R, 2R) (the C interface of
 * `llvm.emit_c_interface` functions). */
typedef struct gm_memref {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t shape_and_strides[2 * GM_MAX_RANK];
} gm_memref;

typedef void (*gm_entry_fn)(void **args);

/* Provided by the host. Row-major single-precision GEMM:
 * C[m,n] = op(A)[m,k] op(B)[k,n] + beta C, op(X) = X^T when trans is 1;
 * lda/ldb/ldc are row strides in elements. */
void gmrt_sgemm(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n, int64_t k,
                const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                float *c, int64_t ldc);

/* Provided by the host. One direction of the 2-D convolution with src
 * [N, C, H, W], weights [F, C, KH, KW] and dst [N, F, OH, OW] (plain
 * row-major NCHW / OIHW), stride (stride_h, stride_w), zero padding
 * pad_top/pad_left before the input and whatever the last window reads past
 * its end after it:
 *   GM_CONV_FORWARD           a = src,      b = weights,  out = dst
 *   GM_CONV_BACKWARD_DATA     a = diff_dst, b = weights,  out = diff_src
 *                             (also the transposed convolution of a by b)
 *   GM_CONV_BACKWARD_WEIGHTS  a = src,      b = diff_dst, out = diff_weights
 * Each operand is a contiguous rank-4 descriptor (its sizes give the
 * geometry); out is overwritten. The MLIR C-interface name, as gmc declares
 * it with `llvm.emit_c_interface`. */
#define GM_CONV_FORWARD 0
#define GM_CONV_BACKWARD_DATA 1
#define GM_CONV_BACKWARD_WEIGHTS 2
void _mlir_ciface_gmrt_conv2d(int32_t kind, int64_t stride_h, int64_t stride_w, int64_t pad_top,
                              int64_t pad_left, gm_memref *a, gm_memref *b, gm_memref *out);
/* Provided by the host. An entry's scratch memory, with malloc's and free's
 * contract (at least 16-byte aligned; NULL when out of memory). */
void *gmrt_alloc(uint64_t size);
void gmrt_free(void *p);

/* Provided by the host. libomp's entry points of the same names after
 * __kmpc_, as LLVM's OpenMPIRBuilder calls them (|ident| is its source
 * location record, unused). fork_call_if runs microtask(&tid, &zero, args)
 * on every thread of a team, or on the caller alone when |cond| is 0;
 * for_static_init_8u narrows the inclusive range [*lower, *upper] to the
 * calling thread's contiguous share (schedule 34, static, is the only one
 * gmc emits). */
int32_t gmrt_omp_global_thread_num(void *ident);
void gmrt_omp_fork_call_if(void *ident, int32_t argc, void *microtask, int32_t cond, void *args);
void gmrt_omp_for_static_init_8u(void *ident, int32_t tid, int32_t schedule, int32_t *last,
                                 uint64_t *lower, uint64_t *upper, int64_t *stride,
                                 int64_t increment, int64_t chunk);
void gmrt_omp_for_static_fini(void *ident, int32_t tid);

/* Provided by the host; called by every kernel of an artifact built with
 * `gmc --target=cuda` before it runs on the CPU (gm-host-launch). |kernel|
 * is N of the PTX's `.entry gm_kernel_N`; params[0, count) are its
 * parameters, each in 64 bits (a memref's descriptor fields: allocated and
 * aligned pointer, offset, sizes, strides; a narrower scalar in the low
 * bits), so &params[i] is what cuLaunchKernel takes for parameter i;
 * |points| is the number of parallel points the kernel covers (its
 * grid-stride loop computes all of them whatever the grid). Returns nonzero
 * when the kernel ran on the device (its results there once the call
 * returns), 0 when the caller is to run it on the CPU. */
int32_t gmrt_cuda_launch(int32_t kernel, int64_t *params, int32_t count, int64_t points);

/* Provided by the host; called by an artifact built with `gmc --target=cuda`
 * for each constant tensor of its own (a mask, in the artifact's read-only
 * data) a function uses, on entry to it: the copy of the |bytes| at
 * |tensor| the device's kernels may read (made once, kept for the
 * process), or |tensor| itself when the kernels run on the CPU. */
void *gmrt_cuda_constant(const void *tensor, int64_t bytes);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GMRT_ABI_H */
