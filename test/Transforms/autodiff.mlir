// RUN: gm-opt %s --split-input-file --gm-autodiff --verify-diagnostics | FileCheck %s

// Tests the gradient of a loss through a net call (inlined), a broadcast
// parameter read twice (adjoints added at fan-out), and a stop_gradient
// (no adjoint through it); parameters the loss does not read get zeros.

gm.model @m {
  gm.data @x : tensor<?x3xf32> real
  gm.param @w : tensor<3xf32> init zeros
  gm.param @unused : tensor<2xf32> init zeros
  gm.group @g = [@w, @unused]
  gm.net @f(%a: tensor<?x3xf32>) -> tensor<?x3xf32> {
    %w = gm.param_ref @w : tensor<3xf32>
    %n = gm.batch_size %a : tensor<?x3xf32>
    %b = gm.broadcast %w [%n] : tensor<3xf32> -> tensor<?x3xf32>
    %y = gm.mul %a, %b : tensor<?x3xf32>
    gm.return %y : tensor<?x3xf32>
  }
  gm.func @s.loss.all(%x: tensor<?x3xf32>, %k: !gm.key) -> tensor<f32>
      attributes {role = #gm.role<loss>, step = @s, player = #gm.player<all>, groups = [@g], inputs = [@x]} {
    %y = gm.call @f(%x) : (tensor<?x3xf32>) -> tensor<?x3xf32>
    %z = gm.call @f(%y) : (tensor<?x3xf32>) -> tensor<?x3xf32>
    %c = gm.stop_gradient %y : tensor<?x3xf32>
    %t = gm.add %z, %c : tensor<?x3xf32>
    %s = gm.sum %t {axes = array<i64: 0, 1>} : tensor<?x3xf32> -> tensor<f32>
    gm.return %s : tensor<f32>
  }
}

// CHECK-LABEL: gm.func @s.grad.all(%{{.*}}: tensor<?x3xf32>, %{{.*}}: !gm.key) -> (tensor<f32>, tensor<3xf32>, tensor<2xf32>)
// CHECK-SAME: loss = @s.loss.all
// CHECK-SAME: params = [@w, @unused]
// CHECK-SAME: role = #gm.role<gradient>
// CHECK-NOT: gm.call
// CHECK: gm.stop_gradient
// CHECK: %[[ONE:.*]] = gm.constant dense<1.000000e+00> : tensor<f32>
// CHECK-COUNT-2: gm.sum %{{.*}} {axes = array<i64: 0>} : tensor<?x3xf32> -> tensor<3xf32>
// CHECK: %[[DW:.*]] = gm.add %{{.*}}, %{{.*}} : tensor<3xf32>
// CHECK: %[[ZERO:.*]] = gm.constant dense<0.000000e+00> : tensor<2xf32>
// CHECK: gm.return %{{.*}}, %[[DW]], %[[ZERO]] : tensor<f32>, tensor<3xf32>, tensor<2xf32>

// -----

// Tests that an op with no gradient rule on the way to a parameter is an
// error at that op (gm.log_prob has none: gm-expand-objectives rewrites it
// into primitives before autodiff runs in gmc's pipeline).

gm.model @e {
  gm.data @x : tensor<?x2xf32> real
  gm.data @mu : tensor<?x3x2xf32> real
  gm.param @w : tensor<3xf32> init zeros
  gm.group @g = [@w]
  gm.func @s.loss.all(%x: tensor<?x2xf32>, %mu: tensor<?x3x2xf32>, %k: !gm.key) -> tensor<f32>
      attributes {role = #gm.role<loss>, step = @s, player = #gm.player<all>, groups = [@g], inputs = [@x, @mu]} {
    %w = gm.param_ref @w : tensor<3xf32>
    %n = gm.batch_size %x : tensor<?x2xf32>
    %l = gm.broadcast %w [%n] : tensor<3xf32> -> tensor<?x3xf32>
    %m = gm.mixture_normal %l, %mu, %mu : (tensor<?x3xf32>, tensor<?x3x2xf32>, tensor<?x3x2xf32>) -> !gm.dist<mixture_normal, tensor<?x2xf32>>
    // expected-error @+1 {{'gm.log_prob' op has no gradient rule yet, and the loss @s.loss.all depends through it on the parameters being trained}}
    %lp = gm.log_prob %m, %x : (!gm.dist<mixture_normal, tensor<?x2xf32>>, tensor<?x2xf32>) -> tensor<?xf32>
    %s = gm.mean %lp {axes = array<i64: 0>} : tensor<?xf32> -> tensor<f32>
    gm.return %s : tensor<f32>
  }
}

// -----

// Tests that a learned distribution sampled without reparameterisation asks
// for a score-function estimator, which is reported as not implemented.

gm.model @sf {
  gm.data @x : tensor<?x3xf32> real
  gm.param @l : tensor<3xf32> init zeros
  gm.group @g = [@l]
  gm.func @s.loss.all(%x: tensor<?x3xf32>, %k: !gm.key) -> tensor<f32>
      attributes {role = #gm.role<loss>, step = @s, player = #gm.player<all>, groups = [@g], inputs = [@x]} {
    %l = gm.param_ref @l : tensor<3xf32>
    %n = gm.batch_size %x : tensor<?x3xf32>
    %b = gm.broadcast %l [%n] : tensor<3xf32> -> tensor<?x3xf32>
    %d = gm.categorical %b : tensor<?x3xf32> -> !gm.dist<categorical, tensor<?x3xf32>>
    // expected-error @+1 {{needs a score-function (REINFORCE) gradient, which is not implemented}}
    %c = gm.sample %d, %k stream 0 score_function : !gm.dist<categorical, tensor<?x3xf32>> -> tensor<?x3xf32>
    %s = gm.sum %c {axes = array<i64: 0, 1>} : tensor<?x3xf32> -> tensor<f32>
    gm.return %s : tensor<f32>
  }
}
