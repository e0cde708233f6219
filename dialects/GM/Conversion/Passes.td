//===- Passes.td - gm conversions to upstream dialects -----*- tablegen -*-===//

#ifndef GM_CONVERSION_PASSES_TD
#define GM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def GMToABIPass : Pass<"gm-to-abi", "::mlir::ModuleOp"> {
  let summary = "entry points as functions with the artifact's calling convention, and the manifest";
  let description = [{
    Every `gm.func` whose role is an entry point (training steps,
    evaluations, encoders, decoders, generators) becomes a
    `func.func @gm_entry_<n>_impl` with the artifact ABI
    (runtime/include/gmrt/abi.h): one memref argument per model parameter
    and optimizer slot (the state, in declaration order), then the entry's
    inputs (data, hyper-parameters as `memref<f32>`, the key as
    `memref<i64>`), an importance-weighted bound's number of draws, then one
    memref per result. Parameters are read through
    `bufferization.to_tensor restrict writable`; `gm.assign` and results
    become `bufferization.materialize_in_destination`, so the function
    writes the caller's buffers and allocates nothing the caller must free.
    The bodies keep their gm ops (calls inlined); the manifest
    (gmrt/manifest.h) describing the state, the data and the entries is
    written to the module's `gm.manifest`, and the gm.model is erased.

    An entry that uses an op code generation cannot lower is reported with
    the op's location: an error for a training step, a warning (and the
    entry is left out) otherwise.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect"];
}

def ConvertGMToLinalgPass : Pass<"convert-gm-to-linalg", "::mlir::ModuleOp"> {
  let summary = "gm core ops to linalg, tensor, arith, math and scf";
  let description = [{
    A dialect conversion with one pattern per core op, grouped by family in
    dialects/GM/Conversion/GMToLinalg (elementwise, reductions, shapes,
    products, random, optimizers), each family tested in test/ beside it.
    Elementwise ops become parallel `linalg.generic`s (fused later), matrix
    products `linalg.matmul` (a transposed operand folds into
    `linalg.matmul_transpose_a/b`), convolutions im2col and a product,
    reductions reduction generics, `gm.sample` a generic running
    Philox4x32-10 (rng.h) on the element index. Expects gm-to-abi and
    gm-decompose to have run: func.func bodies of core ops, with !gm.key
    values that become tensor<i64>.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::bufferization::BufferizationDialect", "::mlir::scf::SCFDialect"];
}

def GMConvToRuntimePass : Pass<"gm-conv-to-runtime", "::mlir::ModuleOp"> {
  let summary = "call the runtime's convolutions for gm.conv2d, its transpose and weight gradient";
  let description = [{
    Before convert-gm-to-linalg, replaces `gm.conv2d`, `gm.conv2d_transpose`
    and `gm.conv2d_weight_grad` by a call to the host's `gmrt_conv2d`
    (abi.h: forward, backward-data and backward-weights, on oneDNN in
    gmrun) on the operands' buffers, plus a bias broadcast-add generic
    where the op has a bias. A convolution whose windows would need
    negative bottom/right padding (a crop) is left to the im2col lowering.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
    "::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
    "::mlir::bufferization::BufferizationDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"];
}

def GMCheckNumericsPass : Pass<"gm-check-numerics", "::mlir::ModuleOp"> {
  let summary = "check every computed f32 buffer for NaN and Inf (gmc -check-numerics)";
  let description = [{
    After bufferization and before gm-matmul-to-blas: follows every linalg
    op (but fills and copies) and every gmrt_conv2d call with a call of the
    host's `gmrt_check_finite(site, buffer)` on each f32 buffer it computes,
    and records each site's .gm location(s), op and shape in the module's
    `gm.check_sites` array (index = site).
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
    "::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
    "::mlir::LLVM::LLVMDialect"];
}

def GMMatmulToBlasPass : Pass<"gm-matmul-to-blas", "::mlir::ModuleOp"> {
  let summary = "call the runtime's SGEMM for bufferized matrix products";
  let description = [{
    After bufferization, replaces `linalg.matmul`,
    `linalg.matmul_transpose_a` and `linalg.matmul_transpose_b` on f32
    memrefs whose rows are contiguous by a call to `gmrt_sgemm` (abi.h),
    which the runtime implements with oneDNN (or OpenBLAS). A zero `linalg.fill` of the
    output right before the product becomes beta = 0. Products with other
    layouts stay and are lowered to loops.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
    "::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
    "::mlir::LLVM::LLVMDialect"];
}

def GMOutlineKernelsPass : Pass<"gm-outline-kernels", "::mlir::ModuleOp"> {
  let summary = "each distinct bufferized linalg op as one private function its copies call";
  let description = [{
    After bufferization and gm-matmul-to-blas: every linalg op on buffers
    becomes a call to a private function marked `gm.kernel` that holds the
    op alone. Ops that are the same up to their operands (the copies of a
    net that entry points and losses call several times, the steps of an
    unrolled recurrence) call one function, so generated code grows with the
    model rather than with the number of calls. The kernel's arguments are
    the op's distinct operands, then the non-constant values its payload
    uses from outside; constants are cloned in. An op two of whose distinct
    operands are views of one buffer is left in place (gm-parallel-loops
    takes distinct arguments to be distinct buffers).
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def GMParallelLoopsPass : Pass<"gm-parallel-loops", "::mlir::ModuleOp"> {
  let summary = "large bufferized linalg ops as OpenMP worksharing loops over their first dimension";
  let description = [{
    After bufferization and gm-matmul-to-blas, before the linalg ops become
    loops: a linalg op on buffers whose first loop is parallel, whose every
    output is indexed by that loop (so two of its iterations never write one
    element) and whose payload has no side effects, is tiled along that loop
    and the tile loop becomes `omp.parallel if(work >= min-work)` around an
    `omp.wsloop nowait` with one `omp.loop_nest`. Work is the op's
    iteration count times its payload's cost (a transcendental function
    counts 8), computed at run time where the batch is dynamic; an op that
    can never reach min-work is left alone. Each iteration of the outer
    loop runs about `grain` elements of the inner loops, so the innermost
    loop keeps its length for vectorisation. A one-dimensional scf.forall on
    buffers (iterations that share nothing, NADE's chunks of hidden units)
    becomes the same parallel worksharing loop, unconditionally. The result
    of every element is the same whatever the number of threads: the loop
    only divides work.
  }];
  let options = [
    Option<"minWork", "min-work", "int64_t", "262144",
           "least work (iterations times payload cost) worth a fork and join">,
    Option<"grain", "grain", "int64_t", "1024",
           "elements of the inner loops per parallel iteration">,
  ];
  let dependentDialects = ["::mlir::omp::OpenMPDialect", "::mlir::scf::SCFDialect",
    "::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
    "::mlir::affine::AffineDialect", "::mlir::linalg::LinalgDialect"];
}

def GMKernelsToGPUPass : Pass<"gm-kernels-to-gpu", "::mlir::ModuleOp"> {
  let summary = "each gm kernel also as a CUDA kernel: a gpu.func, one thread per parallel point";
  let description = [{
    After gm-outline-kernels (gmc --target=cuda): every `func.func` marked
    `gm.kernel` is written again as a `gpu.func ... kernel` of the same
    name and arguments in `gpu.module @gm_kernels`. Its linalg op becomes a
    grid-stride loop over the points of its parallel loops (delinearised,
    innermost fastest), each running the op's reduction loops in order, so
    any launch computes the whole op and the result does not depend on it.
    The host functions are left as they are.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
    "::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
    "::mlir::affine::AffineDialect", "::mlir::linalg::LinalgDialect"];
}

def GMHostLaunchPass : Pass<"gm-host-launch", "::mlir::ModuleOp"> {
  let summary = "host kernels offer themselves to a CUDA executor before running on the CPU";
  let description = [{
    After gm-kernels-to-gpu (gmc --target=cuda): every host kernel that has
    a CUDA kernel of the same name packs its arguments as the CUDA kernel's
    parameters (a memref as its descriptor: allocated and aligned pointer,
    offset, sizes, strides; a scalar widened to 64 bits), computes its
    parallel points (the launch's size) and calls the host's
    `gmrt_cuda_launch(kernel, slots, count, points)` (abi.h). When that
    returns nonzero the kernel ran on the device; otherwise the linalg op
    runs on the CPU, inside an `scf.if` marked `gm.cpu_path`.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::scf::SCFDialect",
    "::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect"];
}

def GMEmulateGPUPass : Pass<"gm-emulate-gpu", "::mlir::ModuleOp"> {
  let summary = "run the CUDA kernels of gm-kernels-to-gpu on the CPU, thread by thread (tests)";
  let description = [{
    After gm-kernels-to-gpu (gmc --target=cuda -cuda-emulate): each
    `gpu.func` of `gpu.module @gm_kernels` becomes a CPU function of one
    thread (its block and thread ids as arguments), and the host kernel of
    the same name, which the entries call, runs every thread of a `grid` of
    `block` threads in turn (after gm-host-launch: its CPU path does). The
    gpu.module is erased unless `keep-gpu-module` (gmc keeps it to compile
    its PTX too, and exports each kernel's grid as `gm_emu_<kernel>` for
    the suite's fake CUDA driver). The suite trains
    models this way against the CPU path, so the kernels' thread mapping is
    tested without a GPU.
  }];
  let options = [
    Option<"grid", "grid", "int64_t", "3", "blocks in the emulated grid">,
    Option<"block", "block", "int64_t", "5", "threads per emulated block">,
    Option<"keepGPUModule", "keep-gpu-module", "bool", "false",
           "leave the gpu.module for the PTX pipeline">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::scf::SCFDialect",
    "::mlir::arith::ArithDialect"];
}

#endif // GM_CONVERSION_PASSES_TD
