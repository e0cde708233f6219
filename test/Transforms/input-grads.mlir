// RUN: gm-opt %s --gm-expand-input-grads | FileCheck %s

// Tests that gm.grad becomes, inside the function, the reverse sweep from
// its value (seeded with ones) back to its input: the net inlined, tanh's
// rule 1 - y^2, linear's dx = g W; the weight's adjoint, which nothing
// reads, is not left behind.

gm.model @m {
  gm.data @x : tensor<?x3xf32> real
  gm.param @w : tensor<3x3xf32> init zeros
  gm.net @f(%a: tensor<?x3xf32>) -> tensor<?x3xf32> {
    %w = gm.param_ref @w : tensor<3x3xf32>
    %h = gm.linear %a, %w : (tensor<?x3xf32>, tensor<3x3xf32>) -> tensor<?x3xf32>
    gm.return %h : tensor<?x3xf32>
  }
  gm.func @eval.o(%x: tensor<?x3xf32>, %k: !gm.key) -> tensor<f32> attributes {role = #gm.role<eval>, inputs = [@x]} {
    %c = gm.call @f(%x) : (tensor<?x3xf32>) -> tensor<?x3xf32>
    %y = gm.tanh %c : tensor<?x3xf32>
    %g = gm.grad %y, %x : tensor<?x3xf32>, tensor<?x3xf32>
    %s = gm.sum %g {axes = array<i64: 0, 1>} : tensor<?x3xf32> -> tensor<f32>
    gm.return %s : tensor<f32>
  }
}

// CHECK-LABEL: gm.func @eval.o(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x3xf32>
// CHECK-NOT: gm.call
// CHECK: %[[W:.*]] = gm.param_ref @w
// CHECK: %[[H:.*]] = gm.linear %[[X]], %[[W]]
// CHECK: %[[Y:.*]] = gm.tanh %[[H]]
// CHECK: %[[ONES:.*]] = gm.broadcast
// CHECK: %[[YY:.*]] = gm.mul %[[Y]], %[[Y]]
// CHECK: %[[D:.*]] = gm.sub %{{.*}}, %[[YY]]
// CHECK: %[[G:.*]] = gm.mul %[[ONES]], %[[D]]
// CHECK: %[[DX:.*]] = gm.matmul %[[G]], %[[W]]
// CHECK-NOT: gm.transpose
// CHECK: gm.sum %[[DX]]
// CHECK-NOT: gm.grad
