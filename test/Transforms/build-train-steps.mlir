// RUN: gm-opt %s --split-input-file --gm-build-train-steps | FileCheck %s

// Tests that a gradient becomes an Adam step: moment slots next to the
// parameter, hyper-parameters as runtime arguments before the key, every
// read before the writes, and the loss returned.

gm.model @m {
  gm.data @x : tensor<?x3xf32> real
  gm.param @w : tensor<3xf32> init zeros
  gm.group @g = [@w]
  gm.func @s.grad.all(%x: tensor<?x3xf32>, %k: !gm.key) -> (tensor<f32>, tensor<3xf32>)
      attributes {role = #gm.role<gradient>, step = @s, player = #gm.player<all>, groups = [@g], inputs = [@x], params = [@w], loss = @s.loss.all} {
    %w = gm.param_ref @w : tensor<3xf32>
    %l = gm.sum %w {axes = array<i64: 0>} : tensor<3xf32> -> tensor<f32>
    gm.return %l, %w : tensor<f32>, tensor<3xf32>
  }
  gm.objective @o(%x: tensor<?x3xf32>, %k: !gm.key) -> tensor<f32> attributes {inputs = [@x]} {
    %w = gm.param_ref @w : tensor<3xf32>
    %l = gm.sum %w {axes = array<i64: 0>} : tensor<3xf32> -> tensor<f32>
    gm.return %l : tensor<f32>
  }
  gm.step @s minimize @o over [@g] using #gm.optimizer<adam, {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-8 : f64}>
}

// CHECK: gm.param @w : tensor<3xf32> init zeros
// CHECK-NEXT: gm.param @s.all.m.w : tensor<3xf32> init zeros {slot_of = @w}
// CHECK-NEXT: gm.param @s.all.v.w : tensor<3xf32> init zeros {slot_of = @w}
// CHECK-LABEL: gm.func @s.train.all(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x3xf32>, %[[T:[^:]*]]: tensor<f32>, %[[LR:[^:]*]]: tensor<f32>, %[[B1:[^:]*]]: tensor<f32>, %[[B2:[^:]*]]: tensor<f32>, %[[EPS:[^:]*]]: tensor<f32>, %[[K:[^:]*]]: !gm.key) -> tensor<f32>
// CHECK-SAME: inputs = [@x]
// CHECK-SAME: optimizer = #gm.optimizer<adam
// CHECK-SAME: params = [@w], player = #gm.player<all>, role = #gm.role<train>, step = @s
// CHECK: %[[G:.*]]:2 = gm.call @s.grad.all(%[[X]], %[[K]])
// CHECK: %[[P:.*]] = gm.param_ref @w
// CHECK: %[[M:.*]] = gm.param_ref @s.all.m.w
// CHECK: %[[V:.*]] = gm.param_ref @s.all.v.w
// CHECK: %[[NP:.*]], %[[NM:.*]], %[[NV:.*]] = gm.adam_update %[[P]], %[[G]]#1, %[[M]], %[[V]], %[[T]], %[[LR]], %[[B1]], %[[B2]], %[[EPS]] : tensor<3xf32>
// CHECK: gm.assign @w, %[[NP]]
// CHECK: gm.assign @s.all.m.w, %[[NM]]
// CHECK: gm.assign @s.all.v.w, %[[NV]]
// CHECK: gm.return %[[G]]#0 : tensor<f32>

// -----

// Tests that an optimizer with `clip` (a Wasserstein critic's weight
// clipping) clamps each new parameter to [-clip, clip] before it is
// written, as p - relu(p - c) + relu(-c - p), and leaves the slots alone.

gm.model @c {
  gm.data @x : tensor<?x3xf32> real
  gm.param @w : tensor<3xf32> init zeros
  gm.group @g = [@w]
  gm.func @s.grad.all(%x: tensor<?x3xf32>, %k: !gm.key) -> (tensor<f32>, tensor<3xf32>)
      attributes {role = #gm.role<gradient>, step = @s, player = #gm.player<all>, groups = [@g], inputs = [@x], params = [@w], loss = @s.loss.all} {
    %w = gm.param_ref @w : tensor<3xf32>
    %l = gm.sum %w {axes = array<i64: 0>} : tensor<3xf32> -> tensor<f32>
    gm.return %l, %w : tensor<f32>, tensor<3xf32>
  }
  gm.objective @o(%x: tensor<?x3xf32>, %k: !gm.key) -> tensor<f32> attributes {inputs = [@x]} {
    %w = gm.param_ref @w : tensor<3xf32>
    %l = gm.sum %w {axes = array<i64: 0>} : tensor<3xf32> -> tensor<f32>
    gm.return %l : tensor<f32>
  }
  gm.step @s minimize @o over [@g] using #gm.optimizer<sgd, {lr = 1.0e-3 : f64, momentum = 0.0 : f64, clip = 0.01 : f64}>
}

// CHECK-LABEL: gm.func @s.train.all(
// CHECK: %[[NP:.*]], %[[NB:.*]] = gm.sgd_update
// CHECK: gm.constant dense<0.00999999977> : tensor<f32>
// CHECK: %[[HI:.*]] = gm.broadcast
// CHECK: gm.constant dense<-0.00999999977> : tensor<f32>
// CHECK: %[[LO:.*]] = gm.broadcast
// CHECK: %[[OVER:.*]] = gm.sub %[[NP]], %[[HI]]
// CHECK: %[[R1:.*]] = gm.relu %[[OVER]]
// CHECK: %[[CUT:.*]] = gm.sub %[[NP]], %[[R1]]
// CHECK: %[[UNDER:.*]] = gm.sub %[[LO]], %[[NP]]
// CHECK: %[[R2:.*]] = gm.relu %[[UNDER]]
// CHECK: %[[C:.*]] = gm.add %[[CUT]], %[[R2]]
// CHECK: gm.assign @w, %[[C]]
// CHECK: gm.assign @s.all.momentum.w, %[[NB]]
