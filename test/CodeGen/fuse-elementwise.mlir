// RUN: gm-opt %s --gm-fuse-elementwise --split-input-file | FileCheck %s
// Tests gmc's elementwise fusion (compiler/CodeGen/CodeGen.cpp): a one-use
// elementwise generic fuses into the generic that reads it, unless the
// producer reads its own output (a bias added in place) and the consumer
// reads it through a map that is not a permutation, such as an upsample's
// floordiv: the fused op would then read and write one element from
// several iterations (the bias added up to 4 times).

#id = affine_map<(d0, d1) -> (d0, d1)>
#up = affine_map<(d0, d1) -> (d0 floordiv 2, d1 floordiv 2)>
#row = affine_map<(d0, d1) -> (d1)>

// A bias added in place, then upsampled: not fused.
// CHECK-LABEL: func.func @in_place_into_upsample
// CHECK: %[[BIASED:.*]] = linalg.generic
// CHECK-SAME: outs(%arg0 : tensor<4x4xf32>)
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} ins(%[[BIASED]] : tensor<4x4xf32>) outs(%{{.*}} : tensor<8x8xf32>)
// CHECK: math.exp
func.func @in_place_into_upsample(%conv: tensor<4x4xf32>, %bias: tensor<4xf32>) -> tensor<8x8xf32> {
  %biased = linalg.generic {indexing_maps = [#row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%bias : tensor<4xf32>) outs(%conv : tensor<4x4xf32>) {
  ^bb0(%b: f32, %c: f32):
    %s = arith.addf %c, %b : f32
    linalg.yield %s : f32
  } -> tensor<4x4xf32>
  %empty = tensor.empty() : tensor<8x8xf32>
  %up = linalg.generic {indexing_maps = [#up, #id], iterator_types = ["parallel", "parallel"]}
      ins(%biased : tensor<4x4xf32>) outs(%empty : tensor<8x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  } -> tensor<8x8xf32>
  return %up : tensor<8x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#up = affine_map<(d0, d1) -> (d0 floordiv 2, d1 floordiv 2)>

// A producer that only reads its inputs fuses into the upsample: one
// generic over the 8x8 result, the producer recomputed per element.
// CHECK-LABEL: func.func @pure_into_upsample
// CHECK: linalg.generic
// CHECK-SAME: ins(%arg0, %arg1 : tensor<4x4xf32>, tensor<4x4xf32>) outs(%{{.*}} : tensor<8x8xf32>)
// CHECK: arith.addf
// CHECK: math.exp
// CHECK-NOT: linalg.generic
func.func @pure_into_upsample(%a: tensor<4x4xf32>, %b: tensor<4x4xf32>) -> tensor<8x8xf32> {
  %e0 = tensor.empty() : tensor<4x4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<4x4xf32>, tensor<4x4xf32>) outs(%e0 : tensor<4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<4x4xf32>
  %empty = tensor.empty() : tensor<8x8xf32>
  %up = linalg.generic {indexing_maps = [#up, #id], iterator_types = ["parallel", "parallel"]}
      ins(%sum : tensor<4x4xf32>) outs(%empty : tensor<8x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  } -> tensor<8x8xf32>
  return %up : tensor<8x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>

// A bias added in place, then an elementwise consumer of the same shape:
// fused (the map is the identity), the conv result still the output.
// CHECK-LABEL: func.func @in_place_into_elementwise
// CHECK: linalg.generic
// CHECK: arith.addf
// CHECK: math.exp
// CHECK-NOT: linalg.generic
func.func @in_place_into_elementwise(%conv: tensor<4x4xf32>, %bias: tensor<4xf32>) -> tensor<4x4xf32> {
  %biased = linalg.generic {indexing_maps = [#row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%bias : tensor<4xf32>) outs(%conv : tensor<4x4xf32>) {
  ^bb0(%b: f32, %c: f32):
    %s = arith.addf %c, %b : f32
    linalg.yield %s : f32
  } -> tensor<4x4xf32>
  %empty = tensor.empty() : tensor<4x4xf32>
  %e = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%biased : tensor<4x4xf32>) outs(%empty : tensor<4x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = math.exp %x : f32
    linalg.yield %y : f32
  } -> tensor<4x4xf32>
  return %e : tensor<4x4xf32>
}
