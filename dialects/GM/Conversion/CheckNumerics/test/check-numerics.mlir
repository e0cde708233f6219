// RUN: gm-opt %s --gm-check-numerics | FileCheck %s

// Tests that every op computing an f32 buffer is followed by a check of it
// with its own site number (a generic, a product, a convolution call), that
// a fill gets none (nothing may sit between a zero fill and the product
// gm-matmul-to-blas folds it into), and that each site records its .gm
// location, op and shape, in site order.

// CHECK: module attributes {gm.check_sites = ["m.gm:3:5: linalg.generic, Bx4", "m.gm:4:7: linalg.matmul, Bx3", "m.gm:5:9, m.gm:6:9: call @gmrt_conv2d, BxBxBxB"]}
// CHECK-LABEL: func.func @f
// CHECK: linalg.generic
// CHECK: linalg.yield
// CHECK-NEXT: }
// CHECK-NEXT: %[[S0:.*]] = arith.constant 0 : i32
// CHECK-NEXT: %[[C0:.*]] = memref.cast %{{.*}} : memref<?x4xf32> to memref<*xf32>
// CHECK-NEXT: call @gmrt_check_finite(%[[S0]], %[[C0]])
// CHECK: linalg.fill
// CHECK-NEXT: linalg.matmul
// CHECK-NEXT: %[[S1:.*]] = arith.constant 1 : i32
// CHECK-NEXT: %[[C1:.*]] = memref.cast %{{.*}} : memref<?x3xf32> to memref<*xf32>
// CHECK-NEXT: call @gmrt_check_finite(%[[S1]], %[[C1]])
// CHECK: call @gmrt_conv2d
// CHECK-NEXT: %[[S2:.*]] = arith.constant 2 : i32
// CHECK: call @gmrt_check_finite(%[[S2]],
// CHECK: func.func private @gmrt_check_finite(i32, memref<*xf32>) attributes {llvm.emit_c_interface}
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func private @gmrt_conv2d(i32, i64, i64, i64, i64, memref<?x?x?x?xf32>, memref<?x?x?x?xf32>, memref<?x?x?x?xf32>) attributes {llvm.emit_c_interface}
func.func @f(%x: memref<?x4xf32>, %w: memref<4x3xf32>, %y: memref<?x4xf32>, %z: memref<?x3xf32>,
             %a: memref<?x?x?x?xf32>, %b: memref<?x?x?x?xf32>, %o: memref<?x?x?x?xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x4xf32>) outs(%y : memref<?x4xf32>) {
  ^bb0(%i: f32, %u: f32):
    %e = math.exp %i : f32
    linalg.yield %e : f32
  } loc("m.gm":3:5)
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%z : memref<?x3xf32>) loc("m.gm":4:7)
  linalg.matmul ins(%y, %w : memref<?x4xf32>, memref<4x3xf32>) outs(%z : memref<?x3xf32>) loc("m.gm":4:7)
  %k = arith.constant 0 : i32
  %s = arith.constant 1 : i64
  func.call @gmrt_conv2d(%k, %s, %s, %s, %s, %a, %b, %o) : (i32, i64, i64, i64, i64, memref<?x?x?x?xf32>, memref<?x?x?x?xf32>, memref<?x?x?x?xf32>) -> () loc(fused["m.gm":5:9, callsite("m.gm":6:9 at "m.gm":20:1)])
  return
}
