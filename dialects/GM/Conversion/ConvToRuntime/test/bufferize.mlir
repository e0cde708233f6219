// RUN: gm-opt %s --split-input-file --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s

// Tests that gm.host_conv2d bufferizes into a 64-byte aligned result buffer
// sized by the first operand's batch and one call of gmrt_conv2d on the
// operands' own buffers (no copies), cast to the declaration's type.

// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.*]]: memref<?x1x28x28xf32>, %[[W:.*]]: memref<64x1x4x4xf32>)
// CHECK: %[[N:.*]] = memref.dim %[[X]], %c0
// CHECK: %[[OUT:.*]] = memref.alloc(%[[N]]) {alignment = 64 : i64} : memref<?x64x14x14xf32>
// CHECK-DAG: %[[K:.*]] = arith.constant 0 : i32
// CHECK-DAG: %[[S:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[P:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[XA:.*]] = memref.cast %[[X]] : memref<?x1x28x28xf32> to memref<?x?x?x?xf32>
// CHECK-DAG: %[[WA:.*]] = memref.cast %[[W]] : memref<64x1x4x4xf32> to memref<?x?x?x?xf32>
// CHECK-DAG: %[[OA:.*]] = memref.cast %[[OUT]] : memref<?x64x14x14xf32> to memref<?x?x?x?xf32>
// CHECK-NOT: memref.copy
// CHECK: call @gmrt_conv2d(%[[K]], %[[S]], %{{.*}}, %[[P]], %{{.*}}, %[[XA]], %[[WA]], %[[OA]])
// CHECK: return %[[OUT]]
func.func private @gmrt_conv2d(i32, i64, i64, i64, i64, memref<?x?x?x?xf32>, memref<?x?x?x?xf32>, memref<?x?x?x?xf32>) attributes {llvm.emit_c_interface}
func.func @forward(%x: tensor<?x1x28x28xf32>, %w: tensor<64x1x4x4xf32>) -> tensor<?x64x14x14xf32> {
  %y = gm.host_conv2d %x, %w {kind = 0 : i32, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>} : (tensor<?x1x28x28xf32>, tensor<64x1x4x4xf32>) -> tensor<?x64x14x14xf32>
  return %y : tensor<?x64x14x14xf32>
}

// -----

// Tests that an operand that is a strided view (a slice of the channels) is
// copied into a contiguous buffer first: the host takes plain NCHW.

// CHECK-LABEL: func.func @strided_operand
// CHECK: %[[V:.*]] = memref.subview
// CHECK: %[[C:.*]] = memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x1x28x28xf32>
// CHECK: memref.copy %[[V]], %[[C]]
// CHECK: %[[CA:.*]] = memref.cast %[[C]] : memref<?x1x28x28xf32> to memref<?x?x?x?xf32>
// CHECK: call @gmrt_conv2d(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[CA]],
func.func private @gmrt_conv2d(i32, i64, i64, i64, i64, memref<?x?x?x?xf32>, memref<?x?x?x?xf32>, memref<?x?x?x?xf32>) attributes {llvm.emit_c_interface}
func.func @strided_operand(%x: tensor<?x2x28x28xf32>, %w: tensor<64x1x4x4xf32>) -> tensor<?x64x14x14xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x2x28x28xf32>
  %s = tensor.extract_slice %x[0, 1, 0, 0] [%n, 1, 28, 28] [1, 1, 1, 1] : tensor<?x2x28x28xf32> to tensor<?x1x28x28xf32>
  %y = gm.host_conv2d %s, %w {kind = 0 : i32, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>} : (tensor<?x1x28x28xf32>, tensor<64x1x4x4xf32>) -> tensor<?x64x14x14xf32>
  return %y : tensor<?x64x14x14xf32>
}

// -----

// Tests that the operands count as read where the op is: a tanh written
// in place between two calls on %x would clobber what the second reads, so
// it gets a copy of %x instead (the failure a CSE'd
// bufferization.to_memref once caused in DCGAN's discriminator step).

// CHECK-LABEL: func.func @read_after_update
// CHECK-SAME: (%[[X:.*]]: memref<2x1x8x8xf32>
// CHECK: %[[XA:.*]] = memref.cast %[[X]]
// CHECK: call @gmrt_conv2d(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[XA]],
// CHECK: %[[T:.*]] = memref.alloc() {{.*}} : memref<2x1x8x8xf32>
// CHECK: memref.copy %[[X]], %[[T]]
// CHECK: linalg.generic {{.*}} outs(%[[T]] : memref<2x1x8x8xf32>)
// CHECK: %[[XB:.*]] = memref.cast %[[X]]
// CHECK: call @gmrt_conv2d(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[XB]],
func.func private @gmrt_conv2d(i32, i64, i64, i64, i64, memref<?x?x?x?xf32>, memref<?x?x?x?xf32>, memref<?x?x?x?xf32>) attributes {llvm.emit_c_interface}
func.func @read_after_update(%x: tensor<2x1x8x8xf32> {bufferization.writable = true}, %w: tensor<3x1x3x3xf32>, %g: tensor<2x3x8x8xf32>) -> (tensor<2x3x8x8xf32>, tensor<2x1x8x8xf32>, tensor<3x1x3x3xf32>) {
  %y = gm.host_conv2d %x, %w {kind = 0 : i32, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : (tensor<2x1x8x8xf32>, tensor<3x1x3x3xf32>) -> tensor<2x3x8x8xf32>
  %z = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%x : tensor<2x1x8x8xf32>) {
  ^bb0(%o: f32):
    %t = math.tanh %o : f32
    linalg.yield %t : f32
  } -> tensor<2x1x8x8xf32>
  %dw = gm.host_conv2d %x, %g {kind = 2 : i32, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : (tensor<2x1x8x8xf32>, tensor<2x3x8x8xf32>) -> tensor<3x1x3x3xf32>
  return %y, %z, %dw : tensor<2x3x8x8xf32>, tensor<2x1x8x8xf32>, tensor<3x1x3x3xf32>
}
