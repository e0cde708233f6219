// RUN: gm-opt %s --gm-emulate-gpu --split-input-file --verify-diagnostics
// RUN: not gm-opt %s --gm-emulate-gpu="grid=0" 2>&1 | FileCheck %s --check-prefix=ZERO
// ZERO: error: gm-emulate-gpu needs grid and block of at least 1

// A CUDA kernel with no host kernel to stand in for is reported.
module attributes {gpu.container_module} {
  gpu.module @gm_kernels {
    // expected-error @+1 {{no host kernel of this name and type to emulate it in}}
    gpu.func @gm_kernel_9(%x: memref<4xf32>) kernel {
      gpu.return
    }
  }
}

// -----

// Only a one-dimensional grid is emulated (gm-kernels-to-gpu makes no other).
module attributes {gpu.container_module} {
  func.func private @gm_kernel_8(%x: memref<4xf32>) attributes {gm.kernel} {
    return
  }
  gpu.module @gm_kernels {
    gpu.func @gm_kernel_8(%x: memref<4xf32>) kernel {
      // expected-error @+1 {{gm-emulate-gpu runs a one-dimensional grid only}}
      %t = gpu.thread_id y
      gpu.return
    }
  }
}

