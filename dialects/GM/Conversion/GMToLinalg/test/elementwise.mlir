// RUN: gm-opt %s --split-input-file --convert-gm-to-linalg | FileCheck %s

// Tests that a binary op becomes one parallel generic over its result, its
// operands read through identity maps and the batch size from the first.

// CHECK-LABEL: func.func @add
// CHECK-SAME: (%[[A:.*]]: tensor<?x4xf32>, %[[B:.*]]: tensor<?x4xf32>)
// CHECK: %[[N:.*]] = tensor.dim %[[A]], %{{.*}} : tensor<?x4xf32>
// CHECK: %[[E:.*]] = tensor.empty(%[[N]]) : tensor<?x4xf32>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel"]} ins(%[[A]], %[[B]] : tensor<?x4xf32>, tensor<?x4xf32>) outs(%[[E]] : tensor<?x4xf32>)
// CHECK: ^bb0(%[[X:.*]]: f32, %[[Y:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[S:.*]] = arith.addf %[[X]], %[[Y]] : f32
// CHECK: linalg.yield %[[S]] : f32
func.func @add(%a: tensor<?x4xf32>, %b: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %c = gm.add %a, %b : tensor<?x4xf32>
  return %c : tensor<?x4xf32>
}

// -----

// Tests each unary op's scalar function.

// CHECK-LABEL: func.func @unary
func.func @unary(%x: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) {
  // CHECK: math.exp
  // CHECK: arith.divf
  %0 = gm.sigmoid %x : tensor<3xf32>
  // softplus: max(x, 0) + log1p(exp(-|x|))
  // CHECK: arith.cmpf ogt
  // CHECK: math.absf
  // CHECK: math.log1p
  %1 = gm.softplus %x : tensor<3xf32>
  // log_sigmoid = -softplus(-x)
  // CHECK: arith.negf
  // CHECK: math.log1p
  // CHECK: arith.negf
  %2 = gm.log_sigmoid %x : tensor<3xf32>
  // CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
  // CHECK: %[[GT:.*]] = arith.cmpf ogt, %[[R:.*]], %[[Z]]
  // CHECK: arith.select %[[GT]], %[[R]], %[[Z]]
  %3 = gm.relu %x : tensor<3xf32>
  // CHECK: arith.constant 2.000000e-01 : f32
  // CHECK: arith.select
  %4 = gm.leaky_relu %x {alpha = 2.000000e-01 : f64} : tensor<3xf32>
  // sign: [x > 0] - [x < 0]
  // CHECK: arith.cmpf ogt
  // CHECK: arith.uitofp
  // CHECK: arith.cmpf olt
  // CHECK: arith.subf
  %5 = gm.sign %x : tensor<3xf32>
  // CHECK: math.tanh
  %6 = gm.tanh %x : tensor<3xf32>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
}

// -----

// Tests elu: x > 0 ? x : alpha expm1(x), with its alpha, or the default 1.

// CHECK-LABEL: func.func @elu
// CHECK: ^bb0(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK-DAG: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[A:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[M:.*]] = math.expm1 %[[X]] : f32
// CHECK: %[[N:.*]] = arith.mulf %[[A]], %[[M]] : f32
// CHECK: %[[GT:.*]] = arith.cmpf ogt, %[[X]], %[[Z]] : f32
// CHECK: %[[R:.*]] = arith.select %[[GT]], %[[X]], %[[N]] : f32
// CHECK: linalg.yield %[[R]] : f32
// CHECK: arith.constant 1.000000e+00 : f32
// CHECK: math.expm1
func.func @elu(%x: tensor<?x3xf32>) -> (tensor<?x3xf32>, tensor<?x3xf32>) {
  %0 = gm.elu %x {alpha = 0.5 : f64} : tensor<?x3xf32>
  %1 = gm.elu %x : tensor<?x3xf32>
  return %0, %1 : tensor<?x3xf32>, tensor<?x3xf32>
}

// -----

// Tests that a broadcast reads a size-1 dimension at 0 and aligns ranks on
// the right, the batch size from its operand.

// CHECK: #[[MAP:.*]] = affine_map<(d0, d1, d2) -> (0, d2)>
// CHECK-LABEL: func.func @broadcast
// CHECK-SAME: (%[[V:.*]]: tensor<1x4xf32>, %[[N:.*]]: index)
// CHECK: %[[E:.*]] = tensor.empty(%[[N]]) : tensor<?x3x4xf32>
// CHECK: linalg.generic {indexing_maps = [#[[MAP]], #{{.*}}]{{.*}} ins(%[[V]] : tensor<1x4xf32>) outs(%[[E]] : tensor<?x3x4xf32>)
func.func @broadcast(%v: tensor<1x4xf32>, %n: index) -> tensor<?x3x4xf32> {
  %b = gm.broadcast %v [%n] : tensor<1x4xf32> -> tensor<?x3x4xf32>
  return %b : tensor<?x3x4xf32>
}

// -----

// Tests constants, the batch size and gm.size.

// CHECK-LABEL: func.func @sizes
// CHECK: %[[C:.*]] = arith.constant dense<2.500000e+00> : tensor<f32>
// CHECK: tensor.dim
// CHECK: %[[D:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<?x4xf32>
// CHECK: %[[M:.*]] = arith.muli %{{.*}}, %[[D]] : index
// CHECK: %[[I:.*]] = arith.index_cast %[[M]] : index to i64
// CHECK: %[[F:.*]] = arith.sitofp %[[I]] : i64 to f32
// CHECK: tensor.from_elements %[[F]] : tensor<f32>
func.func @sizes(%x: tensor<?x4xf32>) -> (tensor<f32>, index, tensor<f32>) {
  %c = gm.constant dense<2.5> : tensor<f32>
  %n = gm.batch_size %x : tensor<?x4xf32>
  %s = gm.size %x {axes = array<i64: 0>} : tensor<?x4xf32> -> tensor<f32>
  return %c, %n, %s : tensor<f32>, index, tensor<f32>
}
