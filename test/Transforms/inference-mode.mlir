// RUN: gm-opt %s --gm-inference-mode | FileCheck %s

// Tests that a function that does not train calls an inference copy of each
// net that holds a batch norm (also through a net that only calls one),
// where the batch norm is x * scale + (beta - mean * scale) with scale =
// gamma / sqrt(var + eps) per channel; that a net without one is called as
// it is; and that losses keep the training-mode nets.

gm.model @m {
  gm.data @x : tensor<?x2x3xf32> real
  gm.param @f.bn.weight : tensor<2xf32> init ones
  gm.param @f.bn.bias : tensor<2xf32> init zeros
  gm.param @f.bn.running_mean : tensor<2xf32> init zeros {statistic}
  gm.param @f.bn.running_var : tensor<2xf32> init ones {statistic}
  gm.net @f(%x: tensor<?x2x3xf32>) -> tensor<?x2x3xf32> {
    %g = gm.param_ref @f.bn.weight : tensor<2xf32>
    %b = gm.param_ref @f.bn.bias : tensor<2xf32>
    %m = gm.param_ref @f.bn.running_mean : tensor<2xf32>
    %v = gm.param_ref @f.bn.running_var : tensor<2xf32>
    %y = gm.batch_norm %x, %g, %b, %m, %v {eps = 1.0e-3 : f64, momentum = 0.1 : f64} : (tensor<?x2x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<?x2x3xf32>
    gm.return %y : tensor<?x2x3xf32>
  }
  gm.net @outer(%x: tensor<?x2x3xf32>) -> tensor<?x2x3xf32> {
    %y = gm.call @f(%x) : (tensor<?x2x3xf32>) -> tensor<?x2x3xf32>
    gm.return %y : tensor<?x2x3xf32>
  }
  gm.net @plain(%x: tensor<?x2x3xf32>) -> tensor<?x2x3xf32> {
    %y = gm.tanh %x : tensor<?x2x3xf32>
    gm.return %y : tensor<?x2x3xf32>
  }
  gm.func @eval.o(%x: tensor<?x2x3xf32>, %k: !gm.key) -> tensor<f32>
      attributes {role = #gm.role<eval>, inputs = [@x]} {
    %a = gm.call @outer(%x) : (tensor<?x2x3xf32>) -> tensor<?x2x3xf32>
    %b = gm.call @plain(%a) : (tensor<?x2x3xf32>) -> tensor<?x2x3xf32>
    %l = gm.mean %b {axes = array<i64: 0, 1, 2>} : tensor<?x2x3xf32> -> tensor<f32>
    gm.return %l : tensor<f32>
  }
  gm.func @s.loss.all(%x: tensor<?x2x3xf32>, %k: !gm.key) -> tensor<f32>
      attributes {role = #gm.role<loss>, inputs = [@x], step = @s, player = #gm.player<all>, groups = []} {
    %a = gm.call @outer(%x) : (tensor<?x2x3xf32>) -> tensor<?x2x3xf32>
    %l = gm.mean %a {axes = array<i64: 0, 1, 2>} : tensor<?x2x3xf32> -> tensor<f32>
    gm.return %l : tensor<f32>
  }
}

// CHECK-LABEL: gm.net @f(
// CHECK: gm.batch_norm
// CHECK-LABEL: gm.net @f.inference(
// CHECK: %[[G:.*]] = gm.param_ref @f.bn.weight
// CHECK: %[[B:.*]] = gm.param_ref @f.bn.bias
// CHECK: %[[M:.*]] = gm.param_ref @f.bn.running_mean
// CHECK: %[[V:.*]] = gm.param_ref @f.bn.running_var
// CHECK-NOT: gm.batch_norm
// CHECK: gm.constant dense<1.000000e-03>
// CHECK: %[[VE:.*]] = gm.add %[[V]], %{{.*}} : tensor<2xf32>
// CHECK: %[[SD:.*]] = gm.sqrt %[[VE]]
// CHECK: %[[INV:.*]] = gm.div %{{.*}}, %[[SD]]
// CHECK: %[[SCALE:.*]] = gm.mul %[[G]], %[[INV]]
// CHECK: %[[MS:.*]] = gm.mul %[[M]], %[[SCALE]]
// CHECK: %[[SHIFT:.*]] = gm.sub %[[B]], %[[MS]]
// CHECK: gm.reshape %[[SCALE]] : tensor<2xf32> -> tensor<1x2x1xf32>
// CHECK: %[[XS:.*]] = gm.mul %arg0, %{{.*}} : tensor<?x2x3xf32>
// CHECK: gm.reshape %[[SHIFT]] : tensor<2xf32> -> tensor<1x2x1xf32>
// CHECK: %[[Y:.*]] = gm.add %[[XS]], %{{.*}} : tensor<?x2x3xf32>
// CHECK: gm.return %[[Y]]
// CHECK-LABEL: gm.net @outer(
// CHECK: gm.call @f(
// CHECK-LABEL: gm.net @outer.inference(
// CHECK: gm.call @f.inference(
// CHECK-LABEL: gm.net @plain(
// CHECK-NOT: gm.net @plain.inference
// CHECK-LABEL: gm.func @eval.o(
// CHECK: gm.call @outer.inference(
// CHECK: gm.call @plain(
// CHECK-LABEL: gm.func @s.loss.all(
// CHECK: gm.call @outer(
