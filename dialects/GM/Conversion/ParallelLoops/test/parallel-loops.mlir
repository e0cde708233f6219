// RUN: gm-opt %s --gm-parallel-loops --cse | FileCheck %s
// RUN: gm-opt %s --gm-parallel-loops="min-work=10000000000" | FileCheck %s --check-prefix=NONE

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id1 = affine_map<(d0) -> (d0)>

// A batched elementwise op: the batch is known at run time only, so the
// region runs in parallel when B * 400 * cost reaches min-work; each
// parallel iteration takes ceil(1024 / 400) = 3 rows.
// CHECK-LABEL: func.func @batched
// CHECK-SAME: (%[[X:.*]]: memref<?x400xf32>, %[[Y:.*]]: memref<?x400xf32>)
// CHECK-DAG: %[[COST:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[B:.*]] = memref.dim %[[X]], %[[C0]]
// CHECK: %[[W0:.*]] = arith.muli %[[COST]], %[[B]]
// CHECK: %[[C400:.*]] = arith.constant 400 : index
// CHECK: %[[W1:.*]] = arith.muli %[[W0]], %[[C400]]
// CHECK: %[[MIN:.*]] = arith.constant 262144 : index
// CHECK: %[[COND:.*]] = arith.cmpi sge, %[[W1]], %[[MIN]]
// CHECK: %[[C3:.*]] = arith.constant 3 : index
// CHECK: omp.parallel if(%[[COND]]) {
// CHECK-NEXT: omp.wsloop nowait {
// CHECK-NEXT: omp.loop_nest (%[[I:.*]]) : index = (%[[C0]]) to (%[[B]]) step (%[[C3]]) {
// CHECK: %[[SX:.*]] = memref.subview %[[X]][%[[I]], 0] [%[[N:.*]], 400] [1, 1]
// CHECK: %[[SY:.*]] = memref.subview %[[Y]][%[[I]], 0] [%[[N]], 400] [1, 1]
// CHECK: linalg.generic {{.*}} ins(%[[SX]] : {{.*}}) outs(%[[SY]] : {{.*}})
// CHECK: math.exp
// CHECK: omp.yield
// CHECK: omp.terminator
// CHECK: omp.terminator
func.func @batched(%x: memref<?x400xf32>, %y: memref<?x400xf32>) {
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x400xf32>) outs(%y : memref<?x400xf32>) {
  ^bb0(%a: f32, %b: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  return
}

// A large static op always runs in parallel, 1024 elements per iteration
// (unless min-work asks for more).
// NONE-LABEL: func.func @flat
// NONE-NOT: omp.
// NONE: linalg.fill
// CHECK-LABEL: func.func @flat
// CHECK: %[[TRUE:.*]] = arith.constant true
// CHECK: omp.parallel if(%[[TRUE]])
// CHECK: omp.loop_nest (%{{.*}}) : index = (%{{.*}}) to (%c1000000) step (%c1024)
// CHECK: linalg.fill
func.func @flat(%y: memref<1000000xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%y : memref<1000000xf32>)
  return
}

// Too little work for a fork and join: left alone.
// CHECK-LABEL: func.func @small
// CHECK-NOT: omp.
// CHECK: linalg.generic
func.func @small(%x: memref<64x64xf32>, %y: memref<64x64xf32>) {
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<64x64xf32>) outs(%y : memref<64x64xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %a : f32
    linalg.yield %s : f32
  }
  return
}

// Column sums: the first loop is a reduction, so its iterations are not
// independent. Left alone.
// CHECK-LABEL: func.func @column_sums
// CHECK-NOT: omp.
// CHECK: linalg.generic
func.func @column_sums(%x: memref<4096x512xf32>, %y: memref<512xf32>) {
  linalg.generic {indexing_maps = [#id2, affine_map<(d0, d1) -> (d1)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<4096x512xf32>) outs(%y : memref<512xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  return
}

// Two iterations of the first loop write one element (an upsample's
// gradient accumulated in place): left alone.
// CHECK-LABEL: func.func @shared_output
// CHECK-NOT: omp.
// CHECK: linalg.generic
func.func @shared_output(%x: memref<4096x512xf32>, %y: memref<2048x512xf32>) {
  linalg.generic {indexing_maps = [#id2, affine_map<(d0, d1) -> (d0 floordiv 2, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4096x512xf32>) outs(%y : memref<2048x512xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  return
}

// In place, reading other elements than it writes (a shift): another
// thread's rows would be read while they change. Left alone.
// CHECK-LABEL: func.func @in_place_shift
// CHECK-NOT: omp.
// CHECK: linalg.generic
func.func @in_place_shift(%y: memref<1000000xf32>) {
  %v = memref.subview %y[1] [999999] [1] : memref<1000000xf32> to memref<999999xf32, strided<[1], offset: 1>>
  %w = memref.subview %y[0] [999999] [1] : memref<1000000xf32> to memref<999999xf32, strided<[1]>>
  linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%v : memref<999999xf32, strided<[1], offset: 1>>) outs(%w : memref<999999xf32, strided<[1]>>) {
  ^bb0(%a: f32, %b: f32):
    linalg.yield %a : f32
  }
  return
}

// A payload with a side effect keeps its order. Left alone.
// CHECK-LABEL: func.func @effects
// CHECK-NOT: omp.
// CHECK: linalg.generic
func.func private @report(f32)
func.func @effects(%x: memref<1000000xf32>, %y: memref<1000000xf32>) {
  linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%x : memref<1000000xf32>) outs(%y : memref<1000000xf32>) {
  ^bb0(%a: f32, %b: f32):
    func.call @report(%a) : (f32) -> ()
    linalg.yield %a : f32
  }
  return
}

// A batched op too small to reach min-work even at a batch of 1024
// (20 * 1024 < 262144) gets no region, which would only cost code size.
// CHECK-LABEL: func.func @narrow_batched
// CHECK-NOT: omp.
// CHECK: linalg.generic
func.func @narrow_batched(%x: memref<?x20xf32>, %y: memref<?x20xf32>) {
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x20xf32>) outs(%y : memref<?x20xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %a : f32
    linalg.yield %s : f32
  }
  return
}
