// RUN: gm-opt %s --gm-kernels-to-gpu --canonicalize --cse --split-input-file --verify-diagnostics | FileCheck %s

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// A row sum: one thread per row (the parallel loop), striding by the grid,
// each summing its row in order. The host kernel stays as it was.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: func.func private @gm_kernel_0({{.*}}) attributes {gm.kernel}
// CHECK-NEXT: linalg.generic
// CHECK: gpu.module @gm_kernels
// CHECK: gpu.func @gm_kernel_0(%[[X:.*]]: memref<?x20xf32>, %[[Y:.*]]: memref<?xf32>) kernel
// CHECK-DAG: %[[C20:.*]] = arith.constant 20 : index
// CHECK-DAG: %[[BID:.*]] = gpu.block_id x
// CHECK-DAG: %[[BDIM:.*]] = gpu.block_dim x
// CHECK-DAG: %[[TID:.*]] = gpu.thread_id x
// CHECK-DAG: %[[GDIM:.*]] = gpu.grid_dim x
// CHECK: %[[B:.*]] = arith.muli %[[BID]], %[[BDIM]]
// CHECK: %[[GID:.*]] = arith.addi %[[B]], %[[TID]]
// CHECK: %[[THREADS:.*]] = arith.muli %[[GDIM]], %[[BDIM]]
// CHECK: %[[N:.*]] = memref.dim %[[X]]
// CHECK: scf.for %[[I:.*]] = %[[GID]] to %[[N]] step %[[THREADS]] {
// CHECK-NEXT: scf.for %[[J:.*]] = %{{.*}} to %[[C20]]
// CHECK-NEXT: memref.load %[[X]][%[[I]], %[[J]]]
// CHECK-NEXT: memref.load %[[Y]][%[[I]]]
// CHECK-NEXT: arith.addf
// CHECK-NEXT: memref.store %{{.*}}, %[[Y]][%[[I]]]
// CHECK: gpu.return
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

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

// A column sum (a bias gradient): the reduction loop comes first in the op,
// the parallel one goes outside, so a thread owns a column and walks the
// rows.
// CHECK-LABEL: gpu.func @gm_kernel_1(
// CHECK-SAME: %[[X:.*]]: memref<?x20xf32>, %[[Y:.*]]: memref<20xf32>) kernel
// CHECK-DAG: %[[C20:.*]] = arith.constant 20 : index
// CHECK: %[[N:.*]] = memref.dim %[[X]]
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %[[C20]] step
// CHECK-NEXT: scf.for %[[I:.*]] = %{{.*}} to %[[N]]
// CHECK-NEXT: memref.load %[[X]][%[[I]], %[[J]]]
// CHECK-NEXT: memref.load %[[Y]][%[[J]]]
// CHECK: memref.store %{{.*}}, %[[Y]][%[[J]]]
module {
  func.func private @gm_kernel_1(%x: memref<?x20xf32>, %y: memref<20xf32>) attributes {gm.kernel} {
    linalg.generic {indexing_maps = [#id2, #col], iterator_types = ["reduction", "parallel"]} ins(%x : memref<?x20xf32>) outs(%y : memref<20xf32>) {
    ^bb0(%in: f32, %out: f32):
      %s = arith.addf %in, %out : f32
      linalg.yield %s : f32
    }
    return
  }
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#all = affine_map<(d0, d1) -> ()>

// A sum to a scalar (a loss): no parallel loop, so the first thread alone
// runs it; the others would race on the one output.
// CHECK-LABEL: gpu.func @gm_kernel_2(
// CHECK-SAME: %[[X:.*]]: memref<?x20xf32>, %[[Y:.*]]: memref<f32>) kernel
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-NOT: gpu.grid_dim
// CHECK: %[[GID:.*]] = arith.addi
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[GID]], %[[C0]]
// CHECK: scf.if %[[FIRST]] {
// CHECK: scf.for
// CHECK-NEXT: scf.for
// CHECK-NEXT: memref.load %[[X]]
// CHECK-NEXT: memref.load %[[Y]][]
// CHECK: memref.store %{{.*}}, %[[Y]][]
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

// A fill of a view at a dynamic offset (a row block of a sequence): two
// parallel loops, one flat index delinearised, the inner loop fastest.
// CHECK-LABEL: gpu.func @gm_kernel_3(
// CHECK-SAME: %[[V:.*]]: f32, %[[Y:.*]]: memref<?x7xf32, strided<[7, 1], offset: ?>>) kernel
// CHECK-DAG: %[[C7:.*]] = arith.constant 7 : index
// CHECK: %[[ROWS:.*]] = memref.dim %[[Y]]
// CHECK: %[[N:.*]] = arith.muli %[[ROWS]], %[[C7]]
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %[[N]] step
// CHECK-NEXT: %[[COL:.*]] = arith.remui %[[I]], %[[C7]]
// CHECK-NEXT: %[[ROW:.*]] = arith.divui %[[I]], %[[C7]]
// CHECK-NEXT: memref.store %[[V]], %[[Y]][%[[ROW]], %[[COL]]]
module {
  func.func private @gm_kernel_3(%v: f32, %y: memref<?x7xf32, strided<[7, 1], offset: ?>>) attributes {gm.kernel} {
    linalg.fill ins(%v : f32) outs(%y : memref<?x7xf32, strided<[7, 1], offset: ?>>)
    return
  }
}

// -----

// A module without kernels is left alone: no gpu.module, no container
// attribute.
// CHECK-LABEL: module {
// CHECK-NOT: gpu
// CHECK: func.func @host
module {
  func.func @host() {
    return
  }
}

// -----

// A kernel without a linalg op is a bug upstream, reported on it.
module {
  // expected-error @+1 {{gm kernel without a linalg op}}
  func.func private @gm_kernel_4(%x: memref<4xf32>) attributes {gm.kernel} {
    return
  }
}
