// RUN: gm-opt %s --split-input-file --convert-gm-to-linalg | FileCheck %s

// Tests that a sum is one reduction generic with reassociable adds into a
// zero-filled result, the reduced axes dropped from the output map.

// CHECK: #[[IN:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d0)>
// CHECK-LABEL: func.func @sum
// CHECK: %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["parallel", "reduction", "reduction"]}
// CHECK-SAME: outs(%[[Z]] : tensor<?xf32>)
// CHECK: arith.addf %{{.*}}, %{{.*}} fastmath<reassoc> : f32
func.func @sum(%x: tensor<?x2x3xf32>) -> tensor<?xf32> {
  %s = gm.sum %x {axes = array<i64: 1, 2>} : tensor<?x2x3xf32> -> tensor<?xf32>
  return %s : tensor<?xf32>
}

// -----

// Tests that a mean divides the sum by the count of the reduced axes, the
// batch read at run time.

// CHECK-LABEL: func.func @mean
// CHECK: %[[S:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]
// CHECK: %[[D:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<?x4xf32>
// CHECK: %[[N:.*]] = arith.sitofp %{{.*}} : i64 to f32
// CHECK: linalg.generic {{.*}} ins(%[[S]] : tensor<4xf32>)
// CHECK: arith.divf %{{.*}}, %[[N]] : f32
func.func @mean(%x: tensor<?x4xf32>) -> tensor<4xf32> {
  %m = gm.mean %x {axes = array<i64: 0>} : tensor<?x4xf32> -> tensor<4xf32>
  return %m : tensor<4xf32>
}

// -----

// Tests that softmax subtracts the row maximum (a max reduction from -inf)
// before exponentiating, and log-softmax ends with x - m - log(sum).

// CHECK-LABEL: func.func @softmax
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: arith.maximumf
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: arith.addf {{.*}} fastmath<reassoc>
// CHECK: math.log
// CHECK: math.exp
// CHECK-LABEL: func.func @log_softmax
// CHECK: arith.maximumf
// CHECK: math.log
// CHECK-NOT: math.exp %{{.*}} : f32
// CHECK: return
func.func @softmax(%x: tensor<?x10xf32>) -> tensor<?x10xf32> {
  %y = gm.softmax %x {axis = 1 : i64} : tensor<?x10xf32>
  return %y : tensor<?x10xf32>
}
func.func @log_softmax(%x: tensor<?x10xf32>) -> tensor<?x10xf32> {
  %y = gm.log_softmax %x {axis = 1 : i64} : tensor<?x10xf32>
  return %y : tensor<?x10xf32>
}
