// RUN: gm-opt %s --split-input-file --gm-build-losses | FileCheck %s

// Tests that a maximised objective becomes a negated loss over the step's
// groups, taking the objective's data inputs and the key.

gm.model @m {
  gm.data @x : tensor<?x4xf32> real
  gm.param @w : tensor<4xf32> init zeros
  gm.group @g = [@w]
  gm.objective @o(%x: tensor<?x4xf32>, %k: !gm.key) -> tensor<f32> attributes {inputs = [@x]} {
    %w = gm.param_ref @w : tensor<4xf32>
    %n = gm.batch_size %x : tensor<?x4xf32>
    %b = gm.broadcast %w [%n] : tensor<4xf32> -> tensor<?x4xf32>
    %p = gm.mul %x, %b : tensor<?x4xf32>
    %s = gm.sum %p {axes = array<i64: 1>} : tensor<?x4xf32> -> tensor<?xf32>
    %m = gm.mean %s {axes = array<i64: 0>} : tensor<?xf32> -> tensor<f32>
    gm.return %m : tensor<f32>
  }
  gm.step @train maximize @o over [@g] using #gm.optimizer<sgd, {lr = 0.1 : f64, momentum = 0.0 : f64}>
}

// CHECK-LABEL: gm.func @train.loss.all(%{{.*}}: tensor<?x4xf32>, %{{.*}}: !gm.key) -> tensor<f32>
// CHECK-SAME: groups = [@g], inputs = [@x], player = #gm.player<all>, role = #gm.role<loss>, step = @train
// CHECK: %[[M:.*]] = gm.mean
// CHECK: %[[NEG:.*]] = gm.constant dense<-1.000000e+00> : tensor<f32>
// CHECK: %[[L:.*]] = gm.mul %[[NEG]], %[[M]] : tensor<f32>
// CHECK: gm.return %[[L]] : tensor<f32>

// -----

// Tests that a minimax gives the discriminator -value + disc_extra and the
// generator the non-saturating form -mean log sigmoid(fake) + gen_extra,
// each over the union of the data its terms read.

gm.model @g {
  gm.data @x : tensor<?x1xf32> real
  gm.data @y : tensor<?x1xf32> real
  gm.param @d : tensor<1x1xf32> init zeros
  gm.param @h : tensor<1x1xf32> init zeros
  gm.group @D = [@d]
  gm.group @G = [@h]
  gm.objective @v(%x: tensor<?x1xf32>, %k: !gm.key) -> tensor<f32> attributes {inputs = [@x]} {
    %a = gm.adversarial %x, %x : tensor<?x1xf32>, tensor<?x1xf32> -> tensor<f32>
    gm.return %a : tensor<f32>
  }
  gm.objective @e(%y: tensor<?x1xf32>, %k: !gm.key) -> tensor<f32> attributes {inputs = [@y]} {
    %s = gm.sum %y {axes = array<i64: 0, 1>} : tensor<?x1xf32> -> tensor<f32>
    gm.return %s : tensor<f32>
  }
  gm.minimax @game value @v
      discriminator [@D] using #gm.optimizer<sgd, {lr = 0.1 : f64, momentum = 0.0 : f64}>
      generator [@G] using #gm.optimizer<sgd, {lr = 0.1 : f64, momentum = 0.0 : f64}>
      loss non_saturating {k = 1 : i64, gen_extra = @e}
}

// CHECK-LABEL: gm.func @game.loss.discriminator(%{{.*}}: tensor<?x1xf32>, %{{.*}}: !gm.key)
// CHECK-SAME: player = #gm.player<discriminator>
// CHECK: %[[V:.*]] = gm.adversarial
// CHECK: gm.mul %{{.*}}, %[[V]]
// CHECK-LABEL: gm.func @game.loss.generator(
// CHECK-SAME: %[[X:.*]]: tensor<?x1xf32>, %[[Y:.*]]: tensor<?x1xf32>, %{{.*}}: !gm.key)
// CHECK-SAME: inputs = [@x, @y]
// CHECK-SAME: player = #gm.player<generator>
// CHECK-NOT: gm.adversarial
// CHECK: %[[LS:.*]] = gm.log_sigmoid %[[X]]
// CHECK: %[[MEAN:.*]] = gm.mean %[[LS]] {axes = array<i64: 0, 1>}
// CHECK: %[[NS:.*]] = gm.neg %[[MEAN]]
// CHECK: %[[E:.*]] = gm.sum %[[Y]]
// CHECK: gm.add %[[NS]], %[[E]] : tensor<f32>

// -----

// Tests that a game with no value gives each player its own loss as is
// (least-squares, hinge): no sign flip, no generator form.

gm.model @own {
  gm.data @x : tensor<?x1xf32> real
  gm.param @d : tensor<1x1xf32> init zeros
  gm.param @h : tensor<1x1xf32> init zeros
  gm.group @D = [@d]
  gm.group @G = [@h]
  gm.objective @dl(%x: tensor<?x1xf32>, %k: !gm.key) -> tensor<f32> attributes {inputs = [@x]} {
    %s = gm.sum %x {axes = array<i64: 0, 1>} : tensor<?x1xf32> -> tensor<f32>
    gm.return %s : tensor<f32>
  }
  gm.objective @gl(%x: tensor<?x1xf32>, %k: !gm.key) -> tensor<f32> attributes {inputs = [@x]} {
    %m = gm.mean %x {axes = array<i64: 0, 1>} : tensor<?x1xf32> -> tensor<f32>
    gm.return %m : tensor<f32>
  }
  gm.minimax @game
      discriminator [@D] using #gm.optimizer<sgd, {lr = 0.1 : f64, momentum = 0.0 : f64}>
      generator [@G] using #gm.optimizer<sgd, {lr = 0.1 : f64, momentum = 0.0 : f64}>
      loss non_saturating {k = 1 : i64, disc_extra = @dl, gen_extra = @gl}
}

// CHECK-LABEL: gm.func @game.loss.discriminator(
// CHECK-SAME: player = #gm.player<discriminator>
// CHECK-NEXT: %[[S:.*]] = gm.sum
// CHECK-NEXT: gm.return %[[S]] : tensor<f32>
// CHECK-LABEL: gm.func @game.loss.generator(
// CHECK-SAME: player = #gm.player<generator>
// CHECK-NEXT: %[[M:.*]] = gm.mean
// CHECK-NEXT: gm.return %[[M]] : tensor<f32>

// -----

// Tests that an objective averaging an exact log-density over the batch
// gets an eval entry marked `exact` and a score entry returning the
// per-example values before the mean.

gm.model @ar {
  gm.data @x : tensor<?x4xf32> real
  gm.param @t : tensor<4xf32> init zeros
  gm.group @g = [@t]
  gm.objective @loglik(%x: tensor<?x4xf32>, %k: !gm.key) -> tensor<f32> attributes {inputs = [@x]} {
    %t = gm.param_ref @t : tensor<4xf32>
    %n = gm.batch_size %x : tensor<?x4xf32>
    %l = gm.broadcast %t [%n] : tensor<4xf32> -> tensor<?x4xf32>
    %p = gm.bernoulli %l : tensor<?x4xf32> -> <bernoulli, tensor<?x4xf32>>
    %lp = gm.log_prob %p, %x : (!gm.dist<bernoulli, tensor<?x4xf32>>, tensor<?x4xf32>) -> tensor<?xf32>
    %m = gm.mean %lp {axes = array<i64: 0>} : tensor<?xf32> -> tensor<f32>
    gm.return %m : tensor<f32>
  }
  gm.step @train maximize @loglik over [@g] using #gm.optimizer<sgd, {lr = 0.1 : f64, momentum = 0.0 : f64}>
}

// CHECK-LABEL: gm.func @eval.loglik(
// CHECK-SAME: -> tensor<f32> attributes {bound = #gm.bound<exact>, inputs = [@x], role = #gm.role<eval>}
// CHECK: gm.mean
// CHECK-LABEL: gm.func @score.loglik(
// CHECK-SAME: -> tensor<?xf32> attributes {bound = #gm.bound<exact>, inputs = [@x], role = #gm.role<score>}
// CHECK: %[[LP:.*]] = gm.log_prob
// CHECK-NOT: gm.mean
// CHECK: gm.return %[[LP]] : tensor<?xf32>

// -----

// Tests that a log-density at a sampled latent is no score: one draw of a
// bound's integrand is not log p(x), so only the eval entry is written.

gm.model @lat {
  gm.data @x : tensor<?x4xf32> real
  gm.param @t : tensor<4xf32> init zeros
  gm.group @g = [@t]
  gm.objective @rec(%x: tensor<?x4xf32>, %k: !gm.key) -> tensor<f32> attributes {inputs = [@x]} {
    %zero = gm.constant dense<0.0> : tensor<f32>
    %n = gm.batch_size %x : tensor<?x4xf32>
    %mu = gm.broadcast %zero [%n] : tensor<f32> -> tensor<?x4xf32>
    %q = gm.normal %mu, %mu logvar : tensor<?x4xf32> -> !gm.dist<normal, tensor<?x4xf32>>
    %z = gm.sample %q, %k stream 0 reparam : !gm.dist<normal, tensor<?x4xf32>> -> tensor<?x4xf32>
    %p = gm.bernoulli %z : tensor<?x4xf32> -> <bernoulli, tensor<?x4xf32>>
    %lp = gm.log_prob %p, %x : (!gm.dist<bernoulli, tensor<?x4xf32>>, tensor<?x4xf32>) -> tensor<?xf32>
    %m = gm.mean %lp {axes = array<i64: 0>} : tensor<?xf32> -> tensor<f32>
    gm.return %m : tensor<f32>
  }
  gm.step @train maximize @rec over [@g] using #gm.optimizer<sgd, {lr = 0.1 : f64, momentum = 0.0 : f64}>
}

// CHECK-LABEL: gm.func @eval.rec(
// CHECK-NOT: bound
// CHECK-NOT: gm.func @score.rec
