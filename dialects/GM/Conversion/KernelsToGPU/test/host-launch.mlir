// RUN: gm-opt %s --gm-kernels-to-gpu --gm-host-launch --canonicalize --cse --split-input-file --verify-diagnostics | FileCheck %s

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// A row sum scaled by a scalar: the host kernel packs its parameters as the
// CUDA kernel's (x: 3 + 2 * 2 slots, y: 3 + 2, s: 1; 13 in all), passes the
// rows as the launch's size, and runs the op on the CPU only when the host
// did not launch it.
// CHECK-LABEL: func.func private @gmrt_cuda_launch(i32, i64, i32, i64) -> i32
// CHECK: func.func private @gm_kernel_7(%[[X:.*]]: memref<?x20xf32>, %[[Y:.*]]: memref<?xf32>, %[[S:.*]]: f32) attributes {gm.kernel}
// CHECK-DAG: %[[C13:.*]] = arith.constant 13 : i32
// CHECK-DAG: %[[C7:.*]] = arith.constant 7 : i32
// CHECK-DAG: %[[Z32:.*]] = arith.constant 0 : i32
// CHECK-DAG: %[[C20:.*]] = arith.constant 20 : i64
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK: %[[SLOTS:.*]] = memref.alloca() : memref<13xi64>
// x: allocated and aligned pointer, offset, sizes, strides.
// CHECK: %[[XP:.*]] = memref.extract_aligned_pointer_as_index %[[X]]
// CHECK: %[[XI:.*]] = arith.index_castui %[[XP]] : index to i64
// CHECK: memref.store %[[XI]], %[[SLOTS]][%c0]
// CHECK: memref.store %[[XI]], %[[SLOTS]][%c1]
// CHECK: %{{.*}}, %[[XOFF:.*]], %[[XSIZES:.*]]:2, %[[XSTRIDES:.*]]:2 = memref.extract_strided_metadata %[[X]]
// CHECK: memref.store %{{.*}}, %[[SLOTS]][%c2]
// CHECK: %[[ROWS:.*]] = arith.index_castui %[[XSIZES]]#0 : index to i64
// CHECK: memref.store %[[ROWS]], %[[SLOTS]][%c3]
// CHECK: memref.store %[[C20]], %[[SLOTS]][%c4]
// CHECK: memref.store %[[C20]], %[[SLOTS]][%c5]
// CHECK: memref.store %[[ONE]], %[[SLOTS]][%c6]
// y: slots 7 to 11.
// CHECK: memref.extract_aligned_pointer_as_index %[[Y]]
// CHECK: memref.store %{{.*}}, %[[SLOTS]][%c11]
// The scalar's bits, widened.
// CHECK: %[[BITS:.*]] = arith.bitcast %[[S]] : f32 to i32
// CHECK: %[[WIDE:.*]] = arith.extui %[[BITS]] : i32 to i64
// CHECK: memref.store %[[WIDE]], %[[SLOTS]][%c12]
// The launch: kernel 7, the slots' address, 13 slots, one point per row.
// CHECK: %[[N:.*]] = memref.dim %[[X]], %c0
// CHECK: %[[ADDR:.*]] = memref.extract_aligned_pointer_as_index %[[SLOTS]]
// CHECK: %[[A64:.*]] = arith.index_castui %[[ADDR]] : index to i64
// CHECK: %[[N64:.*]] = arith.index_castui %[[N]] : index to i64
// CHECK: %[[RAN:.*]] = call @gmrt_cuda_launch(%[[C7]], %[[A64]], %[[C13]], %[[N64]])
// CHECK: %[[CPU:.*]] = arith.cmpi eq, %[[RAN]], %[[Z32]]
// CHECK: scf.if %[[CPU]] {
// CHECK-NEXT: linalg.generic
// CHECK: } {gm.cpu_path}
// CHECK-NEXT: return
module {
  func.func private @gm_kernel_7(%x: memref<?x20xf32>, %y: memref<?xf32>, %s: f32) attributes {gm.kernel} {
    linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]} ins(%x : memref<?x20xf32>) outs(%y : memref<?xf32>) {
    ^bb0(%in: f32, %out: f32):
      %t = arith.mulf %in, %s : f32
      %r = arith.addf %t, %out : f32
      linalg.yield %r : f32
    }
    return
  }
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#all = affine_map<(d0, d1) -> ()>

// A sum to a scalar: no parallel loop, one point (the first thread runs
// it); 7 slots for x, 3 for the rank-0 y.
// CHECK-LABEL: func.func private @gm_kernel_2(
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C10:.*]] = arith.constant 10 : i32
// CHECK: call @gmrt_cuda_launch(%{{.*}}, %{{.*}}, %[[C10]], %[[ONE]])
module {
  func.func private @gm_kernel_2(%x: memref<?x20xf32>, %y: memref<f32>) attributes {gm.kernel} {
    linalg.generic {indexing_maps = [#id2, #all], iterator_types = ["reduction", "reduction"]} ins(%x : memref<?x20xf32>) outs(%y : memref<f32>) {
    ^bb0(%in: f32, %out: f32):
      %s = arith.addf %in, %out : f32
      linalg.yield %s : f32
    }
    return
  }
}

// -----

#id = affine_map<(d0) -> (d0)>

// A kernel name the host cannot launch by number.
module {
  // expected-error @+1 {{a CUDA kernel's host function must be called gm_kernel_<N>}}
  func.func private @gm_kernel_x(%x: memref<?xf32>) attributes {gm.kernel} {
    linalg.generic {indexing_maps = [#id], iterator_types = ["parallel"]} outs(%x : memref<?xf32>) {
    ^bb0(%out: f32):
      %s = arith.addf %out, %out : f32
      linalg.yield %s : f32
    }
    return
  }
}

// -----

// A CUDA kernel whose host function is not there.
module attributes {gpu.container_module} {
  gpu.module @gm_kernels {
    // expected-error @+1 {{no host kernel of this name and type to launch it from}}
    gpu.func @gm_kernel_3(%x: memref<?xf32>) kernel {
      gpu.return
    }
  }
}
