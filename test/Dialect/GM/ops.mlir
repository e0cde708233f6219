// RUN: gm-opt %s --split-input-file | gm-opt --split-input-file | FileCheck %s
// RUN: gm-opt %s --split-input-file --mlir-print-op-generic | gm-opt --split-input-file | FileCheck %s

// Tests that the structure ops round-trip: model, data, param, group, net,
// call, param_ref, return, objective, step.

// CHECK-LABEL: gm.model @structure
gm.model @structure {
  // CHECK: gm.data @x : tensor<?x4xf32> real {source = "fashion-mnist:images"}
  gm.data @x : tensor<?x4xf32> real {source = "fashion-mnist:images"}
  // CHECK: gm.data @y : tensor<?x10xf32> label {classes = 10 : i64}
  gm.data @y : tensor<?x10xf32> label {classes = 10 : i64}
  // CHECK: gm.data @t : tensor<?x6xi32> tokens {classes = 32 : i64}
  gm.data @t : tensor<?x6xi32> tokens {classes = 32 : i64}
  // CHECK: gm.param @f.w : tensor<3x4xf32> init uniform {scale = 5.000000e-01 : f64}
  gm.param @f.w : tensor<3x4xf32> init uniform {scale = 0.5 : f64}
  // CHECK: gm.param @f.b : tensor<3xf32> init zeros
  gm.param @f.b : tensor<3xf32> init zeros
  // CHECK: gm.group @all = [@f.w, @f.b]
  gm.group @all = [@f.w, @f.b]
  // CHECK: gm.net @f(%{{.*}}: tensor<?x4xf32>) -> tensor<?x3xf32>
  gm.net @f(%x: tensor<?x4xf32>) -> tensor<?x3xf32> {
    // CHECK: gm.param_ref @f.w : tensor<3x4xf32>
    %w = gm.param_ref @f.w : tensor<3x4xf32>
    %b = gm.param_ref @f.b : tensor<3xf32>
    // CHECK: gm.linear %{{.*}}, %{{.*}}, %{{.*}} : (tensor<?x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<?x3xf32>
    %y = gm.linear %x, %w, %b : (tensor<?x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<?x3xf32>
    // CHECK: gm.return %{{.*}} : tensor<?x3xf32>
    gm.return %y : tensor<?x3xf32>
  }
  // CHECK: gm.objective @loss(%{{.*}}: tensor<?x4xf32>, %{{.*}}: !gm.key) -> tensor<f32> attributes {inputs = [@x]}
  gm.objective @loss(%x: tensor<?x4xf32>, %key: !gm.key) -> tensor<f32> attributes {inputs = [@x]} {
    // CHECK: gm.call @f(%{{.*}}) : (tensor<?x4xf32>) -> tensor<?x3xf32>
    %y = gm.call @f(%x) : (tensor<?x4xf32>) -> tensor<?x3xf32>
    %s = gm.sum %y {axes = array<i64: 1>} : tensor<?x3xf32> -> tensor<?xf32>
    %m = gm.mean %s {axes = array<i64: 0>} : tensor<?xf32> -> tensor<f32>
    gm.return %m : tensor<f32>
  }
  // CHECK: gm.step @train minimize @loss over [@all] using <sgd, {lr = 1.000000e-01 : f64, momentum = 9.000000e-01 : f64}> {batch = 32 : i64}
  gm.step @train minimize @loss over [@all] using #gm.optimizer<sgd, {lr = 0.1 : f64, momentum = 0.9 : f64}> {batch = 32 : i64}
}

// -----

// Tests the adversarial ops: minimax, adversarial, mutual_info, and the
// progressive schedule with fade.

// CHECK-LABEL: gm.model @adversarial
gm.model @adversarial {
  gm.data @x : tensor<?x1x4x4xf32> real
  gm.param @D.w : tensor<1x16xf32> init normal {scale = 2.000000e-02 : f64}
  gm.param @G.w : tensor<16x2xf32> init glorot_uniform
  gm.group @disc = [@D.w]
  gm.group @gen = [@G.w]
  // CHECK: gm.progressive @grow resolutions [2, 4] {epochs_per_stage = 2 : i64, fade_fraction = 5.000000e-01 : f64}
  gm.progressive @grow resolutions [2, 4] {epochs_per_stage = 2 : i64, fade_fraction = 0.5 : f64}
  gm.net @G(%z: tensor<?x2xf32>) -> tensor<?x1x4x4xf32> {
    %w = gm.param_ref @G.w : tensor<16x2xf32>
    %h = gm.linear %z, %w : (tensor<?x2xf32>, tensor<16x2xf32>) -> tensor<?x16xf32>
    %img = gm.reshape %h : tensor<?x16xf32> -> tensor<?x1x4x4xf32>
    %small = gm.avg_pool %img {factor = 2 : i64} : tensor<?x1x4x4xf32> -> tensor<?x1x2x2xf32>
    // CHECK: gm.upsample %{{.*}} {factor = 2 : i64} : tensor<?x1x2x2xf32> -> tensor<?x1x4x4xf32>
    %up = gm.upsample %small {factor = 2 : i64} : tensor<?x1x2x2xf32> -> tensor<?x1x4x4xf32>
    // CHECK: gm.schedule_alpha @grow to 4 : tensor<f32>
    %alpha = gm.schedule_alpha @grow to 4 : tensor<f32>
    // CHECK: gm.fade %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x1x4x4xf32>, tensor<f32>
    %out = gm.fade %up, %img, %alpha : tensor<?x1x4x4xf32>, tensor<f32>
    gm.return %out : tensor<?x1x4x4xf32>
  }
  gm.net @D(%x: tensor<?x1x4x4xf32>) -> tensor<?x1xf32> {
    %w = gm.param_ref @D.w : tensor<1x16xf32>
    %f = gm.reshape %x : tensor<?x1x4x4xf32> -> tensor<?x16xf32>
    %y = gm.linear %f, %w : (tensor<?x16xf32>, tensor<1x16xf32>) -> tensor<?x1xf32>
    gm.return %y : tensor<?x1xf32>
  }
  gm.objective @value(%x: tensor<?x1x4x4xf32>, %key: !gm.key) -> tensor<f32> attributes {inputs = [@x]} {
    %n = gm.batch_size %x : tensor<?x1x4x4xf32>
    %zero = gm.constant dense<0.0> : tensor<2xf32>
    %one = gm.constant dense<1.0> : tensor<2xf32>
    %mu = gm.broadcast %zero [%n] : tensor<2xf32> -> tensor<?x2xf32>
    %sd = gm.broadcast %one [%n] : tensor<2xf32> -> tensor<?x2xf32>
    %p = gm.normal %mu, %sd scale : tensor<?x2xf32> -> !gm.dist<normal, tensor<?x2xf32>>
    %z = gm.sample %p, %key stream 0 none : !gm.dist<normal, tensor<?x2xf32>> -> tensor<?x2xf32>
    %fake = gm.call @G(%z) : (tensor<?x2xf32>) -> tensor<?x1x4x4xf32>
    %r = gm.call @D(%x) : (tensor<?x1x4x4xf32>) -> tensor<?x1xf32>
    %f = gm.call @D(%fake) : (tensor<?x1x4x4xf32>) -> tensor<?x1xf32>
    // CHECK: gm.adversarial %{{.*}}, %{{.*}} : tensor<?x1xf32>, tensor<?x1xf32> -> tensor<f32>
    %v = gm.adversarial %r, %f : tensor<?x1xf32>, tensor<?x1xf32> -> tensor<f32>
    gm.return %v : tensor<f32>
  }
  gm.objective @info(%x: tensor<?x1x4x4xf32>, %key: !gm.key) -> tensor<f32> attributes {inputs = [@x]} {
    %n = gm.batch_size %x : tensor<?x1x4x4xf32>
    %zero = gm.constant dense<0.0> : tensor<f32>
    %l = gm.broadcast %zero [%n] : tensor<f32> -> tensor<?x3xf32>
    %pc = gm.categorical %l : tensor<?x3xf32> -> !gm.dist<categorical, tensor<?x3xf32>>
    %c = gm.sample %pc, %key stream 0 none : !gm.dist<categorical, tensor<?x3xf32>> -> tensor<?x3xf32>
    // CHECK: gm.mutual_info %{{.*}}, %{{.*}}, %{{.*}} : (!gm.dist<categorical, tensor<?x3xf32>>, tensor<?x3xf32>, !gm.dist<categorical, tensor<?x3xf32>>) -> tensor<?xf32>
    %mi = gm.mutual_info %pc, %c, %pc : (!gm.dist<categorical, tensor<?x3xf32>>, tensor<?x3xf32>, !gm.dist<categorical, tensor<?x3xf32>>) -> tensor<?xf32>
    %m = gm.mean %mi {axes = array<i64: 0>} : tensor<?xf32> -> tensor<f32>
    gm.return %m : tensor<f32>
  }
  // CHECK: gm.minimax @game value @value discriminator [@disc] using <adam, {{.*}}> generator [@gen] using <adam, {{.*}}> loss non_saturating {gen_extra = @info, k = 2 : i64}
  gm.minimax @game value @value
      discriminator [@disc] using #gm.optimizer<adam, {lr = 2.0e-4 : f64, beta1 = 0.5 : f64, beta2 = 0.999 : f64, eps = 1.0e-8 : f64}>
      generator [@gen] using #gm.optimizer<adam, {lr = 2.0e-4 : f64, beta1 = 0.5 : f64, beta2 = 0.999 : f64, eps = 1.0e-8 : f64}>
      loss non_saturating {k = 2 : i64, gen_extra = @info}
}

// -----

// Tests the elementwise, shape and reduction primitives.

// CHECK-LABEL: gm.model @primitives
gm.model @primitives {
  gm.param @p : tensor<4x3xf32> init ones
  gm.net @prims(%a: tensor<?x3xf32>, %b: tensor<?x3xf32>) -> (tensor<?x3xf32>, tensor<?x6xf32>, tensor<?x4xf32>) {
    // CHECK: gm.add
    %0 = gm.add %a, %b : tensor<?x3xf32>
    // CHECK: gm.sub
    %1 = gm.sub %0, %b : tensor<?x3xf32>
    // CHECK: gm.mul
    %2 = gm.mul %1, %b : tensor<?x3xf32>
    // CHECK: gm.div
    %3 = gm.div %2, %b : tensor<?x3xf32>
    // CHECK: gm.neg
    %4 = gm.neg %3 : tensor<?x3xf32>
    // CHECK: gm.exp
    %5 = gm.exp %4 : tensor<?x3xf32>
    // CHECK: gm.log
    %6 = gm.log %5 : tensor<?x3xf32>
    // CHECK: gm.sqrt
    %7 = gm.sqrt %6 : tensor<?x3xf32>
    // CHECK: gm.square
    %8 = gm.square %7 : tensor<?x3xf32>
    // CHECK: gm.abs
    %9 = gm.abs %8 : tensor<?x3xf32>
    // CHECK: gm.tanh
    %10 = gm.tanh %9 : tensor<?x3xf32>
    // CHECK: gm.sigmoid
    %11 = gm.sigmoid %10 : tensor<?x3xf32>
    // CHECK: gm.softplus
    %12 = gm.softplus %11 : tensor<?x3xf32>
    // CHECK: gm.log_sigmoid
    %13 = gm.log_sigmoid %12 : tensor<?x3xf32>
    // CHECK: gm.relu
    %14 = gm.relu %13 : tensor<?x3xf32>
    // CHECK: gm.stop_gradient
    %15 = gm.stop_gradient %14 : tensor<?x3xf32>
    // The default alpha (0.2) is not printed.
    // CHECK: gm.leaky_relu %{{.*}} : tensor<?x3xf32>
    %16 = gm.leaky_relu %15 {alpha = 0.2 : f64} : tensor<?x3xf32>
    // CHECK: gm.leaky_relu %{{.*}} {alpha = 1.000000e-01 : f64}
    %lr = gm.leaky_relu %16 {alpha = 0.1 : f64} : tensor<?x3xf32>
    // CHECK: gm.elu %{{.*}} : tensor<?x3xf32>
    %elu = gm.elu %16 : tensor<?x3xf32>
    // CHECK: gm.elu %{{.*}} {alpha = 5.000000e-01 : f64} : tensor<?x3xf32>
    %elu2 = gm.elu %16 {alpha = 0.5 : f64} : tensor<?x3xf32>
    // CHECK: gm.softmax %{{.*}} {axis = 1 : i64}
    %17 = gm.softmax %16 {axis = 1 : i64} : tensor<?x3xf32>
    // CHECK: gm.log_softmax %{{.*}} {axis = 1 : i64}
    %18 = gm.log_softmax %17 {axis = 1 : i64} : tensor<?x3xf32>
    // CHECK: gm.shift %{{.*}} {amount = 1 : i64, axis = 1 : i64}
    %19 = gm.shift %18 {axis = 1 : i64, amount = 1 : i64} : tensor<?x3xf32>
    // CHECK: gm.concat %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<?x3xf32>, tensor<?x3xf32>) -> tensor<?x6xf32>
    %20 = gm.concat %19, %a {axis = 1 : i64} : (tensor<?x3xf32>, tensor<?x3xf32>) -> tensor<?x6xf32>
    // CHECK: gm.slice %{{.*}} {axis = 1 : i64, size = 2 : i64, start = 1 : i64} : tensor<?x6xf32> -> tensor<?x2xf32>
    %21 = gm.slice %20 {axis = 1 : i64, start = 1 : i64, size = 2 : i64} : tensor<?x6xf32> -> tensor<?x2xf32>
    // CHECK: gm.reshape %{{.*}} : tensor<?x6xf32> -> tensor<?x2x3xf32>
    %22 = gm.reshape %20 : tensor<?x6xf32> -> tensor<?x2x3xf32>
    // CHECK: gm.transpose %{{.*}} {permutation = array<i64: 0, 2, 1>} : tensor<?x2x3xf32> -> tensor<?x3x2xf32>
    %23 = gm.transpose %22 {permutation = array<i64: 0, 2, 1>} : tensor<?x2x3xf32> -> tensor<?x3x2xf32>
    // CHECK: gm.sum %{{.*}} {axes = array<i64: 2>} : tensor<?x3x2xf32> -> tensor<?x3xf32>
    %24 = gm.sum %23 {axes = array<i64: 2>} : tensor<?x3x2xf32> -> tensor<?x3xf32>
    %p = gm.param_ref @p : tensor<4x3xf32>
    %pt = gm.transpose %p {permutation = array<i64: 1, 0>} : tensor<4x3xf32> -> tensor<3x4xf32>
    // CHECK: gm.matmul %{{.*}}, %{{.*}} : (tensor<?x3xf32>, tensor<3x4xf32>) -> tensor<?x4xf32>
    %25 = gm.matmul %24, %pt : (tensor<?x3xf32>, tensor<3x4xf32>) -> tensor<?x4xf32>
    gm.return %24, %20, %25 : tensor<?x3xf32>, tensor<?x6xf32>, tensor<?x4xf32>
  }
}

// -----

// Tests the layer primitives: masked linear, convolutions, batch norm,
// embedding, LSTM cell, Row LSTM, NADE, reconstruction losses.

// CHECK-LABEL: gm.model @layers
gm.model @layers {
  gm.net @layers(%x: tensor<?x1x8x8xf32>, %v: tensor<?x16xf32>, %ids: tensor<?x5xi32>,
                 %w1: tensor<4x1x3x3xf32>, %b1: tensor<4xf32>, %wt: tensor<4x2x4x4xf32>,
                 %wm: tensor<16x16xf32>, %t: tensor<7x6xf32>, %wih: tensor<8x6xf32>,
                 %whh: tensor<8x2xf32>, %bl: tensor<8xf32>, %h: tensor<?x2xf32>,
                 %wis: tensor<8x4x1x3xf32>, %wss: tensor<8x2x1x3xf32>,
                 %W: tensor<5x16xf32>, %c: tensor<5xf32>, %V: tensor<16x5xf32>, %bn: tensor<16xf32>)
      -> (tensor<?x2x16x16xf32>, tensor<?xf32>) {
    // CHECK: gm.conv2d %{{.*}}, %{{.*}}, %{{.*}} {padding = array<i64: 1, 1>, stride = array<i64: 2, 2>} : (tensor<?x1x8x8xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>) -> tensor<?x4x4x4xf32>
    %0 = gm.conv2d %x, %w1, %b1 {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>} : (tensor<?x1x8x8xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>) -> tensor<?x4x4x4xf32>
    // CHECK: gm.batch_norm
    %1 = gm.batch_norm %0, %b1, %b1, %b1, %b1 {eps = 1.0e-5 : f64, momentum = 0.1 : f64} : (tensor<?x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x4x4x4xf32>
    // CHECK: gm.conv2d_transpose %{{.*}}, %{{.*}} {output_padding = array<i64: 0, 0>, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>} : (tensor<?x4x4x4xf32>, tensor<4x2x4x4xf32>) -> tensor<?x2x8x8xf32>
    %2 = gm.conv2d_transpose %1, %wt {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, output_padding = array<i64: 0, 0>} : (tensor<?x4x4x4xf32>, tensor<4x2x4x4xf32>) -> tensor<?x2x8x8xf32>
    %3 = gm.upsample %2 {factor = 2 : i64} : tensor<?x2x8x8xf32> -> tensor<?x2x16x16xf32>
    // CHECK: gm.masked_conv2d %{{.*}}, %{{.*}}, %{{.*}} mask A
    %4 = gm.masked_conv2d %x, %w1, %b1 mask A : (tensor<?x1x8x8xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>) -> tensor<?x4x8x8xf32>
    // CHECK: gm.row_lstm
    %5 = gm.row_lstm %4, %wis, %wss, %bl : (tensor<?x4x8x8xf32>, tensor<8x4x1x3xf32>, tensor<8x2x1x3xf32>, tensor<8xf32>) -> tensor<?x2x8x8xf32>
    // CHECK: gm.masked_linear %{{.*}}, %{{.*}} mask B
    %6 = gm.masked_linear %v, %wm mask B : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
    // CHECK: gm.embedding %{{.*}}, %{{.*}} : (tensor<?x5xi32>, tensor<7x6xf32>) -> tensor<?x5x6xf32>
    %7 = gm.embedding %ids, %t : (tensor<?x5xi32>, tensor<7x6xf32>) -> tensor<?x5x6xf32>
    %8 = gm.slice %7 {axis = 1 : i64, start = 0 : i64, size = 1 : i64} : tensor<?x5x6xf32> -> tensor<?x1x6xf32>
    %9 = gm.reshape %8 : tensor<?x1x6xf32> -> tensor<?x6xf32>
    // CHECK: gm.lstm_cell
    %hn, %cn = gm.lstm_cell %9, %h, %h, %wih, %whh, %bl : (tensor<?x6xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<8x6xf32>, tensor<8x2xf32>, tensor<8xf32>) -> (tensor<?x2xf32>, tensor<?x2xf32>)
    // CHECK: gm.nade
    %10 = gm.nade %6, %W, %c, %V, %bn : (tensor<?x16xf32>, tensor<5x16xf32>, tensor<5xf32>, tensor<16x5xf32>, tensor<16xf32>) -> tensor<?x16xf32>
    // CHECK: gm.recon_loss bce_logits %{{.*}}, %{{.*}} : tensor<?x16xf32> -> tensor<?xf32>
    %11 = gm.recon_loss bce_logits %10, %v : tensor<?x16xf32> -> tensor<?xf32>
    gm.return %3, %11 : tensor<?x2x16x16xf32>, tensor<?xf32>
  }
}

// -----

// Tests the distribution ops and densities: normal (both spreads), bernoulli,
// uniform, mixture, sample, log_prob, kl (both methods), elbo, iwae.

// CHECK-LABEL: gm.model @densities
gm.model @densities {
  gm.data @x : tensor<?x4xf32> real
  gm.objective @elbo(%x: tensor<?x4xf32>, %key: !gm.key) -> tensor<f32> attributes {inputs = [@x]} {
    %mu = gm.slice %x {axis = 1 : i64, start = 0 : i64, size = 2 : i64} : tensor<?x4xf32> -> tensor<?x2xf32>
    // CHECK: gm.normal %{{.*}}, %{{.*}} logvar : tensor<?x2xf32> -> <normal, tensor<?x2xf32>>
    %q = gm.normal %mu, %mu logvar : tensor<?x2xf32> -> !gm.dist<normal, tensor<?x2xf32>>
    %p = gm.normal %mu, %mu scale : tensor<?x2xf32> -> !gm.dist<normal, tensor<?x2xf32>>
    // CHECK: gm.sample %{{.*}}, %{{.*}} stream 0 reparam
    %z = gm.sample %q, %key stream 0 reparam : !gm.dist<normal, tensor<?x2xf32>> -> tensor<?x2xf32>
    // CHECK: gm.bernoulli
    %px = gm.bernoulli %x : tensor<?x4xf32> -> !gm.dist<bernoulli, tensor<?x4xf32>>
    // CHECK: gm.log_prob
    %ll = gm.log_prob %px, %x : (!gm.dist<bernoulli, tensor<?x4xf32>>, tensor<?x4xf32>) -> tensor<?xf32>
    // CHECK: gm.kl %{{.*}}, %{{.*}} analytic
    %kl = gm.kl %q, %p analytic : (!gm.dist<normal, tensor<?x2xf32>>, !gm.dist<normal, tensor<?x2xf32>>) -> tensor<?xf32>
    // CHECK: gm.elbo %{{.*}}, %{{.*}} {beta = 4.000000e+00 : f64} : tensor<?xf32>
    %e = gm.elbo %ll, %kl {beta = 4.0 : f64} : tensor<?xf32>
    %lw = gm.reshape %x : tensor<?x4xf32> -> tensor<?x2x2xf32>
    %w = gm.slice %x {axis = 1 : i64, start = 0 : i64, size = 2 : i64} : tensor<?x4xf32> -> tensor<?x2xf32>
    // CHECK: gm.mixture_normal
    %m = gm.mixture_normal %w, %lw, %lw : (tensor<?x2xf32>, tensor<?x2x2xf32>, tensor<?x2x2xf32>) -> !gm.dist<mixture_normal, tensor<?x2xf32>>
    // CHECK: gm.kl %{{.*}}, %{{.*}}, %{{.*}} monte_carlo
    %mc = gm.kl %q, %m, %z monte_carlo : (!gm.dist<normal, tensor<?x2xf32>>, !gm.dist<mixture_normal, tensor<?x2xf32>>, tensor<?x2xf32>) -> tensor<?xf32>
    // CHECK: gm.uniform
    %u = gm.uniform %mu, %z : tensor<?x2xf32> -> !gm.dist<uniform, tensor<?x2xf32>>
    %us = gm.sample %u, %key stream 1 reparam : !gm.dist<uniform, tensor<?x2xf32>> -> tensor<?x2xf32>
    // CHECK: gm.iwae %{{.*}}, %{{.*}}, %{{.*}} stream 2 {k = 8 : i64}
    %b = gm.iwae %q, %p, %key stream 2 {k = 8 : i64} : !gm.dist<normal, tensor<?x2xf32>>, !gm.dist<normal, tensor<?x2xf32>> -> tensor<?xf32> {
    ^bb0(%zz: tensor<?x2xf32>):
      %l = gm.log_prob %p, %zz : (!gm.dist<normal, tensor<?x2xf32>>, tensor<?x2xf32>) -> tensor<?xf32>
      // CHECK: gm.yield %{{.*}} : tensor<?xf32>
      gm.yield %l : tensor<?xf32>
    }
    %s = gm.add %e, %mc : tensor<?xf32>
    %t = gm.add %s, %b : tensor<?xf32>
    %r = gm.mean %t {axes = array<i64: 0>} : tensor<?xf32> -> tensor<f32>
    gm.return %r : tensor<f32>
  }
}

// -----

// Tests the ops the training passes write: gm.func with its protocol,
// gm.sign, gm.size, the backward helpers, the optimizer updates and
// gm.assign.

// CHECK-LABEL: gm.model @derived
gm.model @derived {
  gm.data @x : tensor<?x4xf32> real
  gm.param @w : tensor<4x1x3x3xf32> init zeros
  gm.param @m : tensor<4x1x3x3xf32> init zeros {slot_of = @w}
  gm.group @g = [@w]
  // CHECK: gm.func @s.train.all(%{{.*}}: tensor<?x4xf32>, %{{.*}}: tensor<f32>, %{{.*}}: tensor<f32>, %{{.*}}: !gm.key) -> tensor<f32>
  // CHECK-SAME: inputs = [@x]
  // CHECK-SAME: optimizer = #gm.optimizer<sgd
  // CHECK-SAME: params = [@w]
  // CHECK-SAME: player = #gm.player<all>
  // CHECK-SAME: role = #gm.role<train>
  // CHECK-SAME: step = @s
  gm.func @s.train.all(%x: tensor<?x4xf32>, %lr: tensor<f32>, %mom: tensor<f32>, %k: !gm.key) -> tensor<f32>
      attributes {role = #gm.role<train>, inputs = [@x], step = @s, player = #gm.player<all>, params = [@w],
                  optimizer = #gm.optimizer<sgd, {lr = 0.1 : f64, momentum = 0.0 : f64}>} {
    gm.return %lr : tensor<f32>
  }
  // CHECK: gm.func @eval.o({{.*}}) -> tensor<f32> attributes {bound = #gm.bound<iwae>, inputs = [@x], role = #gm.role<eval>}
  gm.func @eval.o(%x: tensor<?x4xf32>, %k: !gm.key) -> tensor<f32> attributes {role = #gm.role<eval>, bound = #gm.bound<iwae>, inputs = [@x]} {
    %c = gm.constant dense<0.0> : tensor<f32>
    gm.return %c : tensor<f32>
  }
  // CHECK: gm.net @f(
  gm.net @f(%x: tensor<?x1x8x8xf32>, %g: tensor<?x4x8x8xf32>, %ids: tensor<?x5xi32>,
             %ge: tensor<?x5x6xf32>, %v: tensor<?x16xf32>, %W: tensor<5x16xf32>,
             %c: tensor<5xf32>, %V: tensor<16x5xf32>, %b: tensor<16xf32>,
             %r: tensor<?x4x2x3xf32>, %wis: tensor<8x4x1x3xf32>, %wss: tensor<8x2x1x3xf32>,
             %bl: tensor<8xf32>, %gr: tensor<?x2x2x3xf32>, %s: tensor<f32>) -> tensor<f32> {
    // CHECK: gm.sign
    %0 = gm.sign %v : tensor<?x16xf32>
    // CHECK: gm.size %{{.*}} {axes = array<i64: 0, 1>} : tensor<?x16xf32> -> tensor<f32>
    %1 = gm.size %v {axes = array<i64: 0, 1>} : tensor<?x16xf32> -> tensor<f32>
    // CHECK: gm.conv2d_weight_grad
    %2 = gm.conv2d_weight_grad %x, %g {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>} : (tensor<?x1x8x8xf32>, tensor<?x4x8x8xf32>) -> tensor<4x1x3x3xf32>
    // CHECK: gm.embedding_grad
    %3 = gm.embedding_grad %ids, %ge : (tensor<?x5xi32>, tensor<?x5x6xf32>) -> tensor<7x6xf32>
    // CHECK: gm.nade_grad
    %4:5 = gm.nade_grad %v, %W, %c, %V, %b, %v : (tensor<?x16xf32>, tensor<5x16xf32>, tensor<5xf32>, tensor<16x5xf32>, tensor<16xf32>, tensor<?x16xf32>) -> (tensor<?x16xf32>, tensor<5x16xf32>, tensor<5xf32>, tensor<16x5xf32>, tensor<16xf32>)
    // CHECK: gm.row_lstm_grad
    %5:4 = gm.row_lstm_grad %r, %wis, %wss, %bl, %gr : (tensor<?x4x2x3xf32>, tensor<8x4x1x3xf32>, tensor<8x2x1x3xf32>, tensor<8xf32>, tensor<?x2x2x3xf32>) -> (tensor<?x4x2x3xf32>, tensor<8x4x1x3xf32>, tensor<8x2x1x3xf32>, tensor<8xf32>)
    %p = gm.param_ref @w : tensor<4x1x3x3xf32>
    %mm = gm.param_ref @m : tensor<4x1x3x3xf32>
    // CHECK: gm.adam_update %{{.*}} : tensor<4x1x3x3xf32>
    %6:3 = gm.adam_update %p, %2, %mm, %mm, %s, %s, %s, %s, %s : tensor<4x1x3x3xf32>
    // CHECK: gm.sgd_update %{{.*}} : tensor<4x1x3x3xf32>
    %7:2 = gm.sgd_update %p, %2, %mm, %s, %s : tensor<4x1x3x3xf32>
    // CHECK: gm.assign @w, %{{.*}} : tensor<4x1x3x3xf32>
    gm.assign @w, %6#0 : tensor<4x1x3x3xf32>
    gm.assign @m, %7#1 : tensor<4x1x3x3xf32>
    gm.return %1 : tensor<f32>
  }
}

// -----

// Tests the lowering-stage convolution call: one per direction.
// CHECK-LABEL: func.func @host_conv2d
func.func @host_conv2d(%x: tensor<?x1x8x8xf32>, %w: tensor<4x1x3x3xf32>, %g: tensor<?x4x8x8xf32>) -> (tensor<?x4x8x8xf32>, tensor<?x1x8x8xf32>, tensor<4x1x3x3xf32>) {
  // CHECK: gm.host_conv2d %{{.*}}, %{{.*}} {kind = 0 : i32, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : (tensor<?x1x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<?x4x8x8xf32>
  %y = gm.host_conv2d %x, %w {kind = 0 : i32, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : (tensor<?x1x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<?x4x8x8xf32>
  // CHECK: gm.host_conv2d %{{.*}}, %{{.*}} {kind = 1 : i32
  %dx = gm.host_conv2d %g, %w {kind = 1 : i32, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : (tensor<?x4x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<?x1x8x8xf32>
  // CHECK: gm.host_conv2d %{{.*}}, %{{.*}} {kind = 2 : i32
  %dw = gm.host_conv2d %x, %g {kind = 2 : i32, padding = array<i64: 1, 1>, stride = array<i64: 1, 1>} : (tensor<?x1x8x8xf32>, tensor<?x4x8x8xf32>) -> tensor<4x1x3x3xf32>
  return %y, %dx, %dw : tensor<?x4x8x8xf32>, tensor<?x1x8x8xf32>, tensor<4x1x3x3xf32>
}

// -----

// CHECK-LABEL: func.func @ar_sample
// CHECK: gm.ar_sample %{{.*}} : tensor<?x4xf32> -> tensor<?x4xf32> {
// CHECK: ^bb0(%[[P:.*]]: tensor<?x4xf32>):
// CHECK: gm.yield %{{.*}} : tensor<?x4xf32>
func.func @ar_sample(%u: tensor<?x4xf32>, %t: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %x = gm.ar_sample %u : tensor<?x4xf32> -> tensor<?x4xf32> {
  ^bb0(%p: tensor<?x4xf32>):
    %l = gm.add %p, %t : tensor<?x4xf32>
    gm.yield %l : tensor<?x4xf32>
  }
  return %x : tensor<?x4xf32>
}

// A discretised logistic's ancestral sampler yields loc and log_scale.
// CHECK-LABEL: func.func @ar_sample_logistic
// CHECK: gm.ar_sample %{{.*}} levels 256 : tensor<?x4xf32> -> tensor<?x4xf32> {
// CHECK: gm.yield %{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<?x4xf32>
// CHECK: gm.discretized_logistic %{{.*}}, %{{.*}} levels 256 : tensor<?x4xf32> -> <discretized_logistic, tensor<?x4xf32>>
func.func @ar_sample_logistic(%u: tensor<?x4xf32>, %t: tensor<?x4xf32>) -> !gm.dist<discretized_logistic, tensor<?x4xf32>> {
  %x = gm.ar_sample %u levels 256 : tensor<?x4xf32> -> tensor<?x4xf32> {
  ^bb0(%p: tensor<?x4xf32>):
    %l = gm.add %p, %t : tensor<?x4xf32>
    gm.yield %l, %t : tensor<?x4xf32>, tensor<?x4xf32>
  }
  %d = gm.discretized_logistic %x, %t levels 256 : tensor<?x4xf32> -> !gm.dist<discretized_logistic, tensor<?x4xf32>>
  return %d : !gm.dist<discretized_logistic, tensor<?x4xf32>>
}
