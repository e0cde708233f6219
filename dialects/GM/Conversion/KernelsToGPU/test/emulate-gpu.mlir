// RUN: gm-opt %s --gm-kernels-to-gpu --gm-emulate-gpu --split-input-file --verify-diagnostics | FileCheck %s
// RUN: gm-opt %s --gm-kernels-to-gpu --gm-emulate-gpu="grid=2 block=32" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=GRID
// RUN: gm-opt %s --gm-kernels-to-gpu --gm-host-launch --gm-emulate-gpu="keep-gpu-module=true" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=LAUNCH

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// The CUDA kernel becomes one thread's CPU function, its ids arguments; the
// host kernel the entries call runs every thread of a 3 x 5 grid in turn.
// No gpu op is left.
// CHECK-LABEL: module {
// CHECK-NOT: gpu.
// CHECK: func.func private @gm_kernel_0_thread(%[[X:.*]]: memref<?x20xf32>, %[[Y:.*]]: memref<?xf32>, %[[BID:.*]]: index, %[[BDIM:.*]]: index, %[[TID:.*]]: index, %[[GDIM:.*]]: index)
// CHECK: %[[B:.*]] = arith.muli %[[BID]], %[[BDIM]]
// CHECK: %[[GID:.*]] = arith.addi %[[B]], %[[TID]]
// CHECK: %[[THREADS:.*]] = arith.muli %[[GDIM]], %[[BDIM]]
// CHECK: scf.for %{{.*}} = %[[GID]] to %{{.*}} step %[[THREADS]]
// CHECK: return
// CHECK: func.func private @gm_kernel_0(%[[HX:.*]]: memref<?x20xf32>, %[[HY:.*]]: memref<?xf32>) attributes {gm.kernel}
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C5:.*]] = arith.constant 5 : index
// CHECK: scf.for %[[BLK:.*]] = %[[C0]] to %[[C3]] step %[[C1]]
// CHECK-NEXT: scf.for %[[THR:.*]] = %[[C0]] to %[[C5]] step %[[C1]]
// CHECK-NEXT: func.call @gm_kernel_0_thread(%[[HX]], %[[HY]], %[[BLK]], %[[C5]], %[[THR]], %[[C3]])
// CHECK-NOT: linalg.generic
// CHECK: return
// CHECK-NOT: gpu.
// GRID-LABEL: func.func private @gm_kernel_0(
// GRID-DAG: %[[C2:.*]] = arith.constant 2 : index
// GRID-DAG: %[[C32:.*]] = arith.constant 32 : index
// GRID: func.call @gm_kernel_0_thread({{.*}}, %[[C32]], %{{.*}}, %[[C2]])
// After gm-host-launch the grid replaces the CPU path only: the launch
// stays, and so does the gpu.module (gmc compiles its PTX too).
// LAUNCH-LABEL: module attributes {gpu.container_module}
// LAUNCH: func.func private @gm_kernel_0(
// LAUNCH: %[[RAN:.*]] = call @gmrt_cuda_launch(
// LAUNCH: %[[CPU:.*]] = arith.cmpi eq, %[[RAN]]
// LAUNCH: scf.if %[[CPU]] {
// LAUNCH: scf.for
// LAUNCH-NEXT: scf.for
// LAUNCH-NEXT: func.call @gm_kernel_0_thread(
// LAUNCH-NOT: linalg.generic
// LAUNCH: } {gm.cpu_path}
// LAUNCH-NEXT: return
// LAUNCH: gpu.module @gm_kernels
// LAUNCH: gpu.func @gm_kernel_0(
module {
  func.func private @gm_kernel_0(%x: memref<?x20xf32>, %y: memref<?xf32>) attributes {gm.kernel} {
    linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]} ins(%x : memref<?x20xf32>) outs(%y : memref<?xf32>) {
    ^bb0(%in: f32, %out: f32):
      %s = arith.addf %in, %out : f32
      linalg.yield %s : f32
    }
    return
  }
}
