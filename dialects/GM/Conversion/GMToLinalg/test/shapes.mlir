// RUN: gm-opt %s --split-input-file --convert-gm-to-linalg | FileCheck %s

// Tests that a reshape collapses to one flat dimension and expands to the
// target, the batch from the element count.

// CHECK-LABEL: func.func @reshape
// CHECK: %[[F:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<?x784xf32> into tensor<?xf32>
// CHECK: %[[N:.*]] = tensor.dim %[[F]]
// CHECK: %[[B:.*]] = arith.divui %[[N]], %{{.*}} : index
// CHECK: tensor.expand_shape %[[F]] {{\[\[}}0, 1, 2, 3]] output_shape [%[[B]], 1, 28, 28] : tensor<?xf32> into tensor<?x1x28x28xf32>
func.func @reshape(%x: tensor<?x784xf32>) -> tensor<?x1x28x28xf32> {
  %y = gm.reshape %x : tensor<?x784xf32> -> tensor<?x1x28x28xf32>
  return %y : tensor<?x1x28x28xf32>
}

// -----

// Tests transpose, slice and concat.

// CHECK-LABEL: func.func @shapes
// CHECK: linalg.transpose ins(%{{.*}} : tensor<?x2x3xf32>) outs(%{{.*}} : tensor<?x3x2xf32>) permutation = [0, 2, 1]
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 1] [%{{.*}}, 2, 2] [1, 1, 1] : tensor<?x2x3xf32> to tensor<?x2x2xf32>
// CHECK: %[[E:.*]] = tensor.empty(%{{.*}}) : tensor<?x2x5xf32>
// CHECK: %[[C1:.*]] = tensor.insert_slice %{{.*}} into %[[E]][0, 0, 0] [%{{.*}}, 2, 3] [1, 1, 1]
// CHECK: tensor.insert_slice %{{.*}} into %[[C1]][0, 0, 3] [%{{.*}}, 2, 2] [1, 1, 1]
func.func @shapes(%x: tensor<?x2x3xf32>) -> (tensor<?x3x2xf32>, tensor<?x2x5xf32>) {
  %t = gm.transpose %x {permutation = array<i64: 0, 2, 1>} : tensor<?x2x3xf32> -> tensor<?x3x2xf32>
  %s = gm.slice %x {axis = 2 : i64, start = 1 : i64, size = 2 : i64} : tensor<?x2x3xf32> -> tensor<?x2x2xf32>
  %c = gm.concat %x, %s {axis = 2 : i64} : (tensor<?x2x3xf32>, tensor<?x2x2xf32>) -> tensor<?x2x5xf32>
  return %t, %c : tensor<?x3x2xf32>, tensor<?x2x5xf32>
}

// -----

// Tests that a shift is its input's slice inserted into zeros at the
// shifted offset (the context of a Markov model).

// CHECK-LABEL: func.func @shift
// CHECK: %[[Z:.*]] = linalg.fill {{.*}} -> tensor<?x6xf32>
// CHECK: %[[P:.*]] = tensor.extract_slice %{{.*}}[0, 0] [%{{.*}}, 5] [1, 1]
// CHECK: tensor.insert_slice %[[P]] into %[[Z]][0, 1] [%{{.*}}, 5] [1, 1]
func.func @shift(%x: tensor<?x6xf32>) -> tensor<?x6xf32> {
  %y = gm.shift %x {axis = 1 : i64, amount = 1 : i64} : tensor<?x6xf32>
  return %y : tensor<?x6xf32>
}

// -----

// Tests that upsampling reads pixel (i / f, j / f) and average pooling is a
// window reduction scaled by 1 / f^2.

// CHECK-DAG: #[[UP:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 floordiv 2, d3 floordiv 2)>
// CHECK-DAG: #[[WIN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>
// CHECK-LABEL: func.func @pool
// CHECK: linalg.generic {indexing_maps = [#[[UP]]
// CHECK: linalg.generic {indexing_maps = [#[[WIN]]{{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]
// CHECK: arith.constant 2.500000e-01 : f32
func.func @pool(%x: tensor<?x1x4x4xf32>) -> (tensor<?x1x8x8xf32>, tensor<?x1x2x2xf32>) {
  %u = gm.upsample %x {factor = 2 : i64} : tensor<?x1x4x4xf32> -> tensor<?x1x8x8xf32>
  %p = gm.avg_pool %x {factor = 2 : i64} : tensor<?x1x4x4xf32> -> tensor<?x1x2x2xf32>
  return %u, %p : tensor<?x1x8x8xf32>, tensor<?x1x2x2xf32>
}

// -----

// Tests that one-hot rows compare each id with the column index.

// CHECK: #[[IDS:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @one_hot
// CHECK: linalg.generic {indexing_maps = [#[[IDS]], #{{.*}}]{{.*}} ins(%{{.*}} : tensor<?x4xi32>) outs(%{{.*}} : tensor<?x4x6xf32>)
// CHECK: %[[V:.*]] = linalg.index 2 : index
// CHECK: %[[VI:.*]] = arith.index_cast %[[V]] : index to i32
// CHECK: %[[HIT:.*]] = arith.cmpi eq, %{{.*}}, %[[VI]] : i32
// CHECK: arith.uitofp %[[HIT]] : i1 to f32
func.func @one_hot(%ids: tensor<?x4xi32>) -> tensor<?x4x6xf32> {
  %h = gm.one_hot %ids {classes = 6 : i64} : tensor<?x4xi32> -> tensor<?x4x6xf32>
  return %h : tensor<?x4x6xf32>
}
