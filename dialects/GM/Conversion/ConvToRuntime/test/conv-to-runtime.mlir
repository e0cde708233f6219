// RUN: gm-opt %s --split-input-file --gm-conv-to-runtime | FileCheck %s

// Tests that a convolution becomes a forward gm.host_conv2d of its input
// and weight, plus a bias broadcast over the batch and space, and that the
// module gets gmrt_conv2d's C-interface declaration once.

// CHECK: #[[CH:.*]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[X:.*]]: tensor<?x1x28x28xf32>, %[[W:.*]]: tensor<64x1x4x4xf32>, %[[B:.*]]: tensor<64xf32>)
// CHECK: %[[Y:.*]] = gm.host_conv2d %[[X]], %[[W]] {kind = 0 : i32, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>}
// CHECK-SAME: -> tensor<?x64x14x14xf32>
// CHECK: %[[YB:.*]] = linalg.generic {indexing_maps = [#[[CH]], #{{.*}}]{{.*}} ins(%[[B]] : tensor<64xf32>) outs(%[[Y]] : tensor<?x64x14x14xf32>)
// CHECK: arith.addf
// CHECK: return %[[YB]]
// CHECK: func.func private @gmrt_conv2d(i32, i64, i64, i64, i64, memref<?x?x?x?xf32>, memref<?x?x?x?xf32>, memref<?x?x?x?xf32>) attributes {llvm.emit_c_interface}
// CHECK-NOT: @gmrt_conv2d
func.func @conv(%x: tensor<?x1x28x28xf32>, %w: tensor<64x1x4x4xf32>, %b: tensor<64xf32>) -> tensor<?x64x14x14xf32> {
  %y = gm.conv2d %x, %w, %b {padding = array<i64: 1, 1>, stride = array<i64: 2, 2>} : (tensor<?x1x28x28xf32>, tensor<64x1x4x4xf32>, tensor<64xf32>) -> tensor<?x64x14x14xf32>
  return %y : tensor<?x64x14x14xf32>
}

// -----

// Tests that a transposed convolution is the backward-data direction of the
// convolution from its output to its input (same weight, no bias here), and
// that a weight gradient is the backward-weights direction of its operands.

// CHECK-LABEL: func.func @transpose_and_weight_grad
// CHECK-SAME: (%[[H:.*]]: tensor<?x64x14x14xf32>, %[[W:.*]]: tensor<64x1x4x4xf32>, %[[G:.*]]: tensor<?x1x28x28xf32>)
// CHECK: %[[Y:.*]] = gm.host_conv2d %[[H]], %[[W]] {kind = 1 : i32, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>}
// CHECK-SAME: (tensor<?x64x14x14xf32>, tensor<64x1x4x4xf32>) -> tensor<?x1x28x28xf32>
// CHECK: %[[DW:.*]] = gm.host_conv2d %[[G]], %[[H]] {kind = 2 : i32, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>}
// CHECK-SAME: (tensor<?x1x28x28xf32>, tensor<?x64x14x14xf32>) -> tensor<64x1x4x4xf32>
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]], %[[DW]]
func.func @transpose_and_weight_grad(%h: tensor<?x64x14x14xf32>, %w: tensor<64x1x4x4xf32>, %g: tensor<?x1x28x28xf32>) -> (tensor<?x1x28x28xf32>, tensor<64x1x4x4xf32>) {
  %y = gm.conv2d_transpose %h, %w {output_padding = array<i64: 0, 0>, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>} : (tensor<?x64x14x14xf32>, tensor<64x1x4x4xf32>) -> tensor<?x1x28x28xf32>
  %dw = gm.conv2d_weight_grad %g, %h {padding = array<i64: 1, 1>, stride = array<i64: 2, 2>} : (tensor<?x1x28x28xf32>, tensor<?x64x14x14xf32>) -> tensor<64x1x4x4xf32>
  return %y, %dw : tensor<?x1x28x28xf32>, tensor<64x1x4x4xf32>
}

// -----

// Tests that a convolution whose last window would stop short of the
// input's end (bottom/right padding -1: a 4x4 input, 3x3 kernel, stride 2,
// no padding) is left to the im2col lowering, and nothing is declared.

// CHECK-LABEL: func.func @short_window
// CHECK: gm.conv2d
// CHECK-NOT: gm.host_conv2d
// CHECK-NOT: @gmrt_conv2d
func.func @short_window(%x: tensor<?x4x4x4xf32>, %w: tensor<5x4x3x3xf32>) -> tensor<?x5x1x1xf32> {
  %y = gm.conv2d %x, %w {padding = array<i64: 0, 0>, stride = array<i64: 2, 2>} : (tensor<?x4x4x4xf32>, tensor<5x4x3x3xf32>) -> tensor<?x5x1x1xf32>
  return %y : tensor<?x5x1x1xf32>
}
