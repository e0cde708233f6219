// RUN: gm-opt %s --split-input-file --convert-gm-to-linalg | FileCheck %s

// Tests that an Adam step is one elementwise generic whose outs are the
// parameter and its two moments themselves (updated in place once
// bufferized), with the bias corrections 1 - b^t computed once outside it.

// CHECK-LABEL: func.func @adam
// CHECK-SAME: (%[[P:.*]]: tensor<3xf32>, %[[G:.*]]: tensor<3xf32>, %[[M:.*]]: tensor<3xf32>, %[[V:.*]]: tensor<3xf32>
// CHECK-COUNT-2: math.powf
// CHECK: linalg.generic {{.*}} ins(%[[G]] : tensor<3xf32>) outs(%[[P]], %[[M]], %[[V]] : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
// CHECK: math.sqrt
// CHECK: linalg.yield %{{.*}}, %{{.*}}, %{{.*}} : f32, f32, f32
func.func @adam(%p: tensor<3xf32>, %g: tensor<3xf32>, %m: tensor<3xf32>, %v: tensor<3xf32>, %t: tensor<f32>, %lr: tensor<f32>, %b1: tensor<f32>, %b2: tensor<f32>, %eps: tensor<f32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) {
  %np, %nm, %nv = gm.adam_update %p, %g, %m, %v, %t, %lr, %b1, %b2, %eps : tensor<3xf32>
  return %np, %nm, %nv : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
}

// -----

// Tests that an SGD step with momentum updates the parameter and its buffer
// in place: buf = momentum buf + g; p -= lr buf.

// CHECK-LABEL: func.func @sgd
// CHECK-SAME: (%[[P:.*]]: tensor<3xf32>, %[[G:.*]]: tensor<3xf32>, %[[B:.*]]: tensor<3xf32>
// CHECK: linalg.generic {{.*}} ins(%[[G]] : tensor<3xf32>) outs(%[[P]], %[[B]] : tensor<3xf32>, tensor<3xf32>)
// CHECK: %[[MB:.*]] = arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK: %[[NB:.*]] = arith.addf %[[MB]], %{{.*}} : f32
// CHECK: linalg.yield %{{.*}}, %[[NB]] : f32, f32
func.func @sgd(%p: tensor<3xf32>, %g: tensor<3xf32>, %b: tensor<3xf32>, %lr: tensor<f32>, %mom: tensor<f32>) -> (tensor<3xf32>, tensor<3xf32>) {
  %np, %nb = gm.sgd_update %p, %g, %b, %lr, %mom : tensor<3xf32>
  return %np, %nb : tensor<3xf32>, tensor<3xf32>
}
