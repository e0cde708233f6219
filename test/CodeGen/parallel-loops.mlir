// RUN: gm-opt %s --gm-parallel-loops --split-input-file | FileCheck %s

// A loop nest over 1024 x 1024 with a transcendental payload: its first loop
// is split over the threads, a row per parallel iteration (1024 elements,
// the grain), always (the work is known and far above min-work).
// CHECK-LABEL: func.func @large
// CHECK: %[[TRUE:.*]] = arith.constant true
// CHECK: omp.parallel if(%[[TRUE]]) {
// CHECK-NEXT: omp.wsloop nowait {
// CHECK-NEXT: omp.loop_nest (%[[I:.*]]) : index = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK: memref.subview %{{.*}}[%[[I]], 0] [1, 1024] [1, 1]
// CHECK: linalg.generic
// CHECK: omp.yield
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @large(%x: memref<1024x1024xf32>, %y: memref<1024x1024xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<1024x1024xf32>) outs(%y : memref<1024x1024xf32>) {
  ^bb0(%a: f32, %b: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// 128 elements are never worth a fork and join: no parallel region.
// CHECK-LABEL: func.func @small
// CHECK-NOT: omp.parallel
// CHECK: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @small(%x: memref<8x16xf32>, %y: memref<8x16xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<8x16xf32>) outs(%y : memref<8x16xf32>) {
  ^bb0(%a: f32, %b: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// A dynamic batch: the region runs in parallel when cost (8, for exp) x B x
// 1024 reaches min-work at run time, on the calling thread otherwise.
// CHECK-LABEL: func.func @batch
// CHECK: %[[B:.*]] = memref.dim %arg0, %{{.*}}
// CHECK: %[[W:.*]] = arith.muli %{{.*}}, %[[B]]
// CHECK: %[[WORK:.*]] = arith.muli %[[W]], %{{.*}}
// CHECK: %[[MIN:.*]] = arith.constant 262144 : index
// CHECK: %[[COND:.*]] = arith.cmpi sge, %[[WORK]], %[[MIN]]
// CHECK: omp.parallel if(%[[COND]])
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @batch(%x: memref<?x1024xf32>, %y: memref<?x1024xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x1024xf32>) outs(%y : memref<?x1024xf32>) {
  ^bb0(%a: f32, %b: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// A one-dimensional scf.forall on buffers (NADE's chunks of hidden units):
// its iterations become the worksharing loop's, always in parallel.
// CHECK-LABEL: func.func @chunks
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[FOUR:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[TRUE:.*]] = arith.constant true
// CHECK: omp.parallel if(%[[TRUE]]) {
// CHECK-NEXT: omp.wsloop nowait {
// CHECK-NEXT: omp.loop_nest (%[[C:.*]]) : index = (%[[ZERO]]) to (%[[FOUR]]) step (%[[ONE]]) {
// CHECK-NEXT: func.call @chunk(%[[C]], %arg0)
// CHECK-NEXT: omp.yield
// CHECK-NOT: scf.forall
func.func private @chunk(index, memref<4x128xf32>)
func.func @chunks(%out: memref<4x128xf32>) {
  scf.forall (%c) in (4) {
    func.call @chunk(%c, %out) : (index, memref<4x128xf32>) -> ()
  }
  return
}

// -----

// A forall over two dimensions is left as it is (gmc runs it in order).
// CHECK-LABEL: func.func @grid
// CHECK-NOT: omp.parallel
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (2, 2)
func.func private @chunk(index, memref<4x128xf32>)
func.func @grid(%out: memref<4x128xf32>) {
  scf.forall (%i, %j) in (2, 2) {
    func.call @chunk(%i, %out) : (index, memref<4x128xf32>) -> ()
  }
  return
}
