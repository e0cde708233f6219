// RUN: gm-opt %s --split-input-file --gm-update-running-stats | FileCheck %s

// Tests that a training step moves the running statistics of the batch norm
// its player trains: the gradient computes the batch's per-channel mean and
// unbiased variance (n / max(n - 1, 1) via 1 + relu(n - 2)) after the
// forward batch norm, mixes them in with momentum 0.25, and returns them
// after the gradients (`running_stats`); the step writes them after the
// parameter.

gm.model @m {
  gm.data @x : tensor<?x2x3xf32> real
  gm.param @f.bn.weight : tensor<2xf32> init ones
  gm.param @f.bn.running_mean : tensor<2xf32> init zeros {statistic}
  gm.param @f.bn.running_var : tensor<2xf32> init ones {statistic}
  gm.group @g = [@f.bn.weight]
  gm.func @s.grad.all(%x: tensor<?x2x3xf32>, %k: !gm.key) -> (tensor<f32>, tensor<2xf32>)
      attributes {role = #gm.role<gradient>, step = @s, player = #gm.player<all>, groups = [@g], inputs = [@x], params = [@f.bn.weight], loss = @s.loss.all} {
    %g = gm.param_ref @f.bn.weight : tensor<2xf32>
    %m = gm.param_ref @f.bn.running_mean : tensor<2xf32>
    %v = gm.param_ref @f.bn.running_var : tensor<2xf32>
    %y = gm.batch_norm %x, %g, %g, %m, %v {eps = 1.0e-5 : f64, momentum = 0.25 : f64} : (tensor<?x2x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<?x2x3xf32>
    %l = gm.sum %y {axes = array<i64: 0, 1, 2>} : tensor<?x2x3xf32> -> tensor<f32>
    gm.return %l, %g : tensor<f32>, tensor<2xf32>
  }
  gm.func @s.train.all(%x: tensor<?x2x3xf32>, %lr: tensor<f32>, %mo: tensor<f32>, %k: !gm.key) -> tensor<f32>
      attributes {role = #gm.role<train>, step = @s, player = #gm.player<all>, inputs = [@x], params = [@f.bn.weight], optimizer = #gm.optimizer<sgd, {lr = 1.0e-1 : f64, momentum = 0.0 : f64}>} {
    %r:2 = gm.call @s.grad.all(%x, %k) : (tensor<?x2x3xf32>, !gm.key) -> (tensor<f32>, tensor<2xf32>)
    %w = gm.param_ref @f.bn.weight : tensor<2xf32>
    %n = gm.sub %w, %r#1 : tensor<2xf32>
    gm.assign @f.bn.weight, %n : tensor<2xf32>
    gm.return %r#0 : tensor<f32>
  }
}

// CHECK-LABEL: gm.func @s.grad.all(
// CHECK-SAME: -> (tensor<f32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>)
// CHECK-SAME: running_stats = [@f.bn.running_mean, @f.bn.running_var]
// CHECK: %[[M:.*]] = gm.param_ref @f.bn.running_mean
// CHECK: %[[V:.*]] = gm.param_ref @f.bn.running_var
// CHECK: gm.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %[[M]], %[[V]]
// CHECK: %[[MEAN:.*]] = gm.mean %arg0 {axes = array<i64: 0, 2>} : tensor<?x2x3xf32> -> tensor<2xf32>
// CHECK: %[[N:.*]] = gm.size %arg0 {axes = array<i64: 0, 2>}
// CHECK: %[[TWO:.*]] = gm.constant dense<2.000000e+00>
// CHECK: %[[NM2:.*]] = gm.sub %[[N]], %[[TWO]]
// CHECK: gm.relu %[[NM2]]
// CHECK: %[[SS:.*]] = gm.sum %{{.*}} {axes = array<i64: 0, 2>} : tensor<?x2x3xf32> -> tensor<2xf32>
// CHECK: %[[VAR:.*]] = gm.div %[[SS]]
// CHECK: gm.constant dense<7.500000e-01>
// CHECK: %[[OLDM:.*]] = gm.mul %{{.*}}, %[[M]]
// CHECK: gm.constant dense<2.500000e-01>
// CHECK: %[[STATM:.*]] = gm.mul %{{.*}}, %[[MEAN]]
// CHECK: %[[NEWM:.*]] = gm.add %[[OLDM]], %[[STATM]]
// CHECK: %[[OLDV:.*]] = gm.mul %{{.*}}, %[[V]]
// CHECK: %[[STATV:.*]] = gm.mul %{{.*}}, %[[VAR]]
// CHECK: %[[NEWV:.*]] = gm.add %[[OLDV]], %[[STATV]]
// CHECK: gm.return %{{.*}}, %{{.*}}, %[[NEWM]], %[[NEWV]]
// CHECK-LABEL: gm.func @s.train.all(
// CHECK: %[[R:.*]]:4 = gm.call @s.grad.all
// CHECK: gm.assign @f.bn.weight
// CHECK-NEXT: gm.assign @f.bn.running_mean, %[[R]]#2
// CHECK-NEXT: gm.assign @f.bn.running_var, %[[R]]#3
// CHECK-NEXT: gm.return %[[R]]#0

// -----

// Tests that a player does not move the statistics of a batch norm it does
// not train (a discriminator step running the generator), and that a layer
// applied twice moves them twice, the second time from the first's result.

gm.model @two {
  gm.data @x : tensor<?x2xf32> real
  gm.param @d.w : tensor<2xf32> init ones
  gm.param @d.bn.running_mean : tensor<2xf32> init zeros {statistic}
  gm.param @d.bn.running_var : tensor<2xf32> init ones {statistic}
  gm.param @gen.w : tensor<2xf32> init ones
  gm.param @gen.bn.running_mean : tensor<2xf32> init zeros {statistic}
  gm.param @gen.bn.running_var : tensor<2xf32> init ones {statistic}
  gm.group @g = [@d.w]
  gm.func @s.grad.discriminator(%x: tensor<?x2xf32>, %k: !gm.key) -> (tensor<f32>, tensor<2xf32>)
      attributes {role = #gm.role<gradient>, step = @s, player = #gm.player<discriminator>, groups = [@g], inputs = [@x], params = [@d.w], loss = @s.loss.discriminator} {
    %gw = gm.param_ref @gen.w : tensor<2xf32>
    %gm = gm.param_ref @gen.bn.running_mean : tensor<2xf32>
    %gv = gm.param_ref @gen.bn.running_var : tensor<2xf32>
    %fake = gm.batch_norm %x, %gw, %gw, %gm, %gv {eps = 1.0e-5 : f64, momentum = 0.1 : f64} : (tensor<?x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
    %w = gm.param_ref @d.w : tensor<2xf32>
    %m = gm.param_ref @d.bn.running_mean : tensor<2xf32>
    %v = gm.param_ref @d.bn.running_var : tensor<2xf32>
    %a = gm.batch_norm %x, %w, %w, %m, %v {eps = 1.0e-5 : f64, momentum = 0.1 : f64} : (tensor<?x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
    %b = gm.batch_norm %fake, %w, %w, %m, %v {eps = 1.0e-5 : f64, momentum = 0.1 : f64} : (tensor<?x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
    %s = gm.add %a, %b : tensor<?x2xf32>
    %l = gm.sum %s {axes = array<i64: 0, 1>} : tensor<?x2xf32> -> tensor<f32>
    gm.return %l, %w : tensor<f32>, tensor<2xf32>
  }
  gm.func @s.train.discriminator(%x: tensor<?x2xf32>, %lr: tensor<f32>, %mo: tensor<f32>, %k: !gm.key) -> tensor<f32>
      attributes {role = #gm.role<train>, step = @s, player = #gm.player<discriminator>, inputs = [@x], params = [@d.w], optimizer = #gm.optimizer<sgd, {lr = 1.0e-1 : f64, momentum = 0.0 : f64}>} {
    %r:2 = gm.call @s.grad.discriminator(%x, %k) : (tensor<?x2xf32>, !gm.key) -> (tensor<f32>, tensor<2xf32>)
    gm.return %r#0 : tensor<f32>
  }
}

// CHECK-LABEL: gm.func @s.grad.discriminator(
// CHECK-SAME: running_stats = [@d.bn.running_mean, @d.bn.running_var]
// CHECK: %[[M:.*]] = gm.param_ref @d.bn.running_mean
// CHECK: %[[A:.*]] = gm.batch_norm %arg0, %{{.*}}, %{{.*}}, %[[M]]
// CHECK: gm.mean %arg0
// CHECK: %[[OLD1:.*]] = gm.mul %{{.*}}, %[[M]]
// CHECK: %[[M1:.*]] = gm.add %[[OLD1]],
// CHECK: %[[B:.*]] = gm.batch_norm
// CHECK: gm.mul %{{.*}}, %[[M1]]
// CHECK: gm.return %{{.*}}, %{{.*}}, %{{[^,]*}}, %{{[^,]*}} : tensor<f32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>
// CHECK-NOT: gm.assign @gen
// CHECK: gm.assign @d.bn.running_mean
// CHECK-NEXT: gm.assign @d.bn.running_var
// CHECK-NOT: gm.assign @gen
