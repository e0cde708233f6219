// RUN: gm-opt %s --split-input-file --convert-gm-to-linalg | FileCheck %s

// Tests that a linear layer is a product with the transposed weight whose
// initial value is the bias broadcast over the batch.

// CHECK: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32>, %[[W:.*]]: tensor<3x4xf32>, %[[B:.*]]: tensor<3xf32>)
// CHECK: %[[INIT:.*]] = linalg.generic {indexing_maps = [#[[ROW]], #{{.*}}]{{.*}} ins(%[[B]] : tensor<3xf32>)
// CHECK: linalg.matmul_transpose_b ins(%[[X]], %[[W]] : tensor<?x4xf32>, tensor<3x4xf32>) outs(%[[INIT]] : tensor<?x3xf32>)
func.func @linear(%x: tensor<?x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>) -> tensor<?x3xf32> {
  %y = gm.linear %x, %w, %b : (tensor<?x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}

// -----

// Tests that a transposed operand folds into the product (BLAS's flag), and
// a plain product starts from zeros.

// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[G:.*]]: tensor<?x3xf32>, %[[X:.*]]: tensor<?x4xf32>, %[[W:.*]]: tensor<3x4xf32>)
// CHECK: linalg.matmul_transpose_a ins(%[[G]], %[[X]] : tensor<?x3xf32>, tensor<?x4xf32>)
// CHECK: %[[Z:.*]] = linalg.fill {{.*}} -> tensor<?x4xf32>
// CHECK: linalg.matmul ins(%[[G]], %[[W]] : tensor<?x3xf32>, tensor<3x4xf32>) outs(%[[Z]] : tensor<?x4xf32>)
func.func @matmul(%g: tensor<?x3xf32>, %x: tensor<?x4xf32>, %w: tensor<3x4xf32>) -> (tensor<3x4xf32>, tensor<?x4xf32>) {
  %gt = gm.transpose %g {permutation = array<i64: 1, 0>} : tensor<?x3xf32> -> tensor<3x?xf32>
  %dw = gm.matmul %gt, %x : (tensor<3x?xf32>, tensor<?x4xf32>) -> tensor<3x4xf32>
  %dx = gm.matmul %g, %w : (tensor<?x3xf32>, tensor<3x4xf32>) -> tensor<?x4xf32>
  return %dw, %dx : tensor<3x4xf32>, tensor<?x4xf32>
}

// -----

// Tests that a convolution pads its input with zeros, gathers im2col rows
// [B OH OW, C KH KW] and multiplies them by the flattened kernel, then goes
// back to NCHW.

// CHECK-DAG: #[[COLS:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 * 2 + d4, d2 * 2 + d5)>
// CHECK-LABEL: func.func @conv
// CHECK: %[[P:.*]] = tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 1, 1] [%{{.*}}, 1, 8, 8] [1, 1, 1, 1] : tensor<?x1x8x8xf32> into tensor<?x1x10x10xf32>
// CHECK: linalg.generic {indexing_maps = [#[[COLS]], #{{.*}}]{{.*}} ins(%[[P]] : tensor<?x1x10x10xf32>) outs(%{{.*}} : tensor<?x4x4x1x4x4xf32>)
// CHECK: %[[C:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1, 2], [3, 4, 5]] : tensor<?x4x4x1x4x4xf32> into tensor<?x16xf32>
// CHECK: %[[K:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2, 3]] : tensor<6x1x4x4xf32> into tensor<6x16xf32>
// CHECK: linalg.matmul_transpose_b ins(%[[C]], %[[K]] : tensor<?x16xf32>, tensor<6x16xf32>)
// CHECK: linalg.transpose {{.*}} permutation = [0, 3, 1, 2]
func.func @conv(%x: tensor<?x1x8x8xf32>, %w: tensor<6x1x4x4xf32>, %b: tensor<6xf32>) -> tensor<?x6x4x4xf32> {
  %y = gm.conv2d %x, %w, %b {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>} : (tensor<?x1x8x8xf32>, tensor<6x1x4x4xf32>, tensor<6xf32>) -> tensor<?x6x4x4xf32>
  return %y : tensor<?x6x4x4xf32>
}

// -----

// Tests that a transposed convolution is a stride-1 convolution of its input
// dilated by the stride, by the kernel flipped in space with its channel
// axes swapped.

// CHECK-DAG: #[[FLIP:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d0, -d2 + 3, -d3 + 3)>
// CHECK-LABEL: func.func @conv_transpose
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 2, 2] [%{{.*}}, 4, 4, 4] [1, 1, 2, 2] : tensor<?x4x4x4xf32> into tensor<?x4x11x11xf32>
// CHECK: linalg.generic {indexing_maps = [#[[FLIP]], #{{.*}}]{{.*}} ins(%{{.*}} : tensor<4x2x4x4xf32>) outs(%{{.*}} : tensor<2x4x4x4xf32>)
// CHECK: linalg.matmul_transpose_b
func.func @conv_transpose(%x: tensor<?x4x4x4xf32>, %w: tensor<4x2x4x4xf32>) -> tensor<?x2x8x8xf32> {
  %y = gm.conv2d_transpose %x, %w {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, output_padding = array<i64: 0, 0>} : (tensor<?x4x4x4xf32>, tensor<4x2x4x4xf32>) -> tensor<?x2x8x8xf32>
  return %y : tensor<?x2x8x8xf32>
}

// -----

// Tests that a convolution's weight gradient is the output adjoint as
// [B OH OW, F] transposed times the im2col rows.

// CHECK-LABEL: func.func @conv_weight_grad
// CHECK: linalg.transpose ins(%{{.*}} : tensor<?x6x4x4xf32>) {{.*}} permutation = [0, 2, 3, 1]
// CHECK: %[[G:.*]] = tensor.collapse_shape %{{.*}} : tensor<?x4x4x6xf32> into tensor<?x6xf32>
// CHECK: %[[DW:.*]] = linalg.matmul_transpose_a ins(%[[G]], %{{.*}} : tensor<?x6xf32>, tensor<?x16xf32>) outs(%{{.*}} : tensor<6x16xf32>)
// CHECK: tensor.expand_shape %[[DW]] {{\[\[}}0], [1, 2, 3]] {{.*}} : tensor<6x16xf32> into tensor<6x1x4x4xf32>
func.func @conv_weight_grad(%x: tensor<?x1x8x8xf32>, %g: tensor<?x6x4x4xf32>) -> tensor<6x1x4x4xf32> {
  %dw = gm.conv2d_weight_grad %x, %g {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>} : (tensor<?x1x8x8xf32>, tensor<?x6x4x4xf32>) -> tensor<6x1x4x4xf32>
  return %dw : tensor<6x1x4x4xf32>
}

// -----

// Tests that batch norm is the per-channel mean and biased variance over
// every axis but 1, then gamma (x - mean) rsqrt(var + eps) + beta.

// CHECK-DAG: #[[CH:.*]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-LABEL: func.func @batch_norm
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "reduction", "reduction"]
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "reduction", "reduction"]
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[CH]], #[[CH]], #[[CH]], #[[CH]], #{{.*}}]
// CHECK: arith.constant 9.99999974E-6 : f32
// CHECK: math.rsqrt
func.func @batch_norm(%x: tensor<?x4x2x2xf32>, %g: tensor<4xf32>, %b: tensor<4xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>) -> tensor<?x4x2x2xf32> {
  %y = gm.batch_norm %x, %g, %b, %m, %v {eps = 1.0e-5 : f64, momentum = 0.1 : f64} : (tensor<?x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x4x2x2xf32>
  return %y : tensor<?x4x2x2xf32>
}
