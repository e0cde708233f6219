// RUN: gm-opt %s --split-input-file --verify-diagnostics

// Tests that data needs a dynamic batch dimension.
gm.model @m {
  // expected-error @+1 {{expects a data type with a dynamic batch dimension first}}
  gm.data @x : tensor<4x784xf32> real
}

// -----

// Tests that label data must say how many classes it has.
gm.model @m {
  // expected-error @+1 {{expects 'classes' equal to the label width 10}}
  gm.data @y : tensor<?x10xf32> label
}

// -----

// Tests that token data is i32.
gm.model @m {
  // expected-error @+1 {{expects tokens as tensor<?xTxi32>}}
  gm.data @t : tensor<?x6xf32> tokens {classes = 32 : i64}
}

// -----

// Tests that parameters have static shapes.
gm.model @m {
  // expected-error @+1 {{expects a static shape}}
  gm.param @w : tensor<?x4xf32> init zeros
}

// -----

// Tests that an initialiser scale is positive.
gm.model @m {
  // expected-error @+1 {{expects a positive 'scale'}}
  gm.param @w : tensor<4xf32> init normal {scale = -1.0 : f64}
}

// -----

// Tests that groups list parameters only.
gm.model @m {
  gm.data @x : tensor<?x4xf32> real
  // expected-error @+1 {{'@x' is not a gm.param}}
  gm.group @g = [@x]
}

// -----

// Tests that param_ref agrees with the parameter's type.
gm.model @m {
  gm.param @w : tensor<4xf32> init zeros
  gm.net @f(%x: tensor<?x4xf32>) -> tensor<5xf32> {
    // expected-error @+1 {{has type 'tensor<5xf32>', but @w is 'tensor<4xf32>'}}
    %w = gm.param_ref @w : tensor<5xf32>
    gm.return %w : tensor<5xf32>
  }
}

// -----

// Tests that a net returns what its signature says.
gm.model @m {
  gm.net @f(%x: tensor<?x4xf32>) -> tensor<?x3xf32> {
    // expected-error @+1 {{operand #0 has type 'tensor<?x4xf32>', but the function returns 'tensor<?x3xf32>'}}
    gm.return %x : tensor<?x4xf32>
  }
}

// -----

// Tests that calls match the callee's signature.
gm.model @m {
  gm.net @f(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
    gm.return %x : tensor<?x4xf32>
  }
  gm.net @g(%x: tensor<?x3xf32>) -> tensor<?x4xf32> {
    // expected-error @+1 {{types do not match the signature of @f}}
    %y = gm.call @f(%x) : (tensor<?x3xf32>) -> tensor<?x4xf32>
    gm.return %y : tensor<?x4xf32>
  }
}

// -----

// Tests that only nets are called.
gm.model @m {
  gm.param @w : tensor<4xf32> init zeros
  gm.net @g(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
    // expected-error @+1 {{'w' is not a gm.net}}
    %y = gm.call @w(%x) : (tensor<?x4xf32>) -> tensor<?x4xf32>
    gm.return %y : tensor<?x4xf32>
  }
}

// -----

// Tests that an objective returns one scalar.
gm.model @m {
  // expected-error @+1 {{expects a single tensor<f32> result}}
  gm.objective @o(%key: !gm.key) -> tensor<?xf32> attributes {inputs = []} {
    %c = gm.constant dense<1.0> : tensor<1xf32>
    %d = gm.reshape %c : tensor<1xf32> -> tensor<1xf32>
    gm.return %d : tensor<1xf32>
  }
}

// -----

// Tests that an objective's last argument is the key.
gm.model @m {
  gm.data @x : tensor<?x4xf32> real
  // expected-error @+1 {{expects a !gm.key as its last argument}}
  gm.objective @o(%x: tensor<?x4xf32>) -> tensor<f32> attributes {inputs = [@x]} {
    %c = gm.constant dense<1.0> : tensor<f32>
    gm.return %c : tensor<f32>
  }
}

// -----

// Tests that objective inputs name data of the argument's type.
gm.model @m {
  gm.data @x : tensor<?x4xf32> real
  // expected-error @+1 {{argument for @x has type 'tensor<?x5xf32>', but the data is 'tensor<?x4xf32>'}}
  gm.objective @o(%x: tensor<?x5xf32>, %k: !gm.key) -> tensor<f32> attributes {inputs = [@x]} {
    %c = gm.constant dense<1.0> : tensor<f32>
    gm.return %c : tensor<f32>
  }
}

// -----

// Tests that a step trains an objective.
gm.model @m {
  gm.param @w : tensor<4xf32> init zeros
  gm.group @g = [@w]
  // expected-error @+1 {{'nothing' is not a gm.objective}}
  gm.step @s minimize @nothing over [@g] using #gm.optimizer<sgd, {lr = 0.1 : f64, momentum = 0.0 : f64}>
}

// -----

// Tests that optimizers check their hyper-parameters.
gm.model @m {
  // expected-error @+1 {{optimizer adam needs hyper-parameter 'eps'}}
  gm.param @w : tensor<4xf32> init zeros {opt = #gm.optimizer<adam, {lr = 0.1 : f64, beta1 = 0.9 : f64, beta2 = 0.99 : f64}>}
}

// -----

gm.model @m {
  // expected-error @+1 {{optimizer sgd has no hyper-parameter 'beta1'}}
  gm.param @w : tensor<4xf32> init zeros {opt = #gm.optimizer<sgd, {lr = 0.1 : f64, beta1 = 0.9 : f64, momentum = 0.0 : f64}>}
}

// -----

gm.model @m {
  // expected-error @+1 {{learning rate must be positive}}
  gm.param @w : tensor<4xf32> init zeros {opt = #gm.optimizer<sgd, {lr = 0.0 : f64, momentum = 0.0 : f64}>}
}

// -----

// Tests that the two players of a minimax do not share a parameter.
gm.model @m {
  gm.data @x : tensor<?x1xf32> real
  gm.param @w : tensor<1x1xf32> init zeros
  gm.group @d = [@w]
  gm.group @g = [@w]
  gm.objective @v(%x: tensor<?x1xf32>, %k: !gm.key) -> tensor<f32> attributes {inputs = [@x]} {
    %a = gm.adversarial %x, %x : tensor<?x1xf32>, tensor<?x1xf32> -> tensor<f32>
    gm.return %a : tensor<f32>
  }
  // expected-error @+1 {{parameter @w belongs to both the discriminator and the generator}}
  gm.minimax @game value @v
      discriminator [@d] using #gm.optimizer<sgd, {lr = 0.1 : f64, momentum = 0.0 : f64}>
      generator [@g] using #gm.optimizer<sgd, {lr = 0.1 : f64, momentum = 0.0 : f64}>
      loss saturating {k = 1 : i64}
}

// -----

// Tests that a minimax without a value has a loss for each player.
gm.model @m {
  gm.data @x : tensor<?x1xf32> real
  gm.param @w : tensor<1x1xf32> init zeros
  gm.param @u : tensor<1x1xf32> init zeros
  gm.group @d = [@w]
  gm.group @g = [@u]
  gm.objective @v(%x: tensor<?x1xf32>, %k: !gm.key) -> tensor<f32> attributes {inputs = [@x]} {
    %c = gm.constant dense<1.0> : tensor<f32>
    gm.return %c : tensor<f32>
  }
  // expected-error @+1 {{expects a value, or a loss for each player (disc_extra and gen_extra)}}
  gm.minimax @game
      discriminator [@d] using #gm.optimizer<sgd, {lr = 0.1 : f64, momentum = 0.0 : f64}>
      generator [@g] using #gm.optimizer<sgd, {lr = 0.1 : f64, momentum = 0.0 : f64}>
      loss non_saturating {k = 1 : i64, disc_extra = @v}
}

// -----

// Tests that weight clipping is positive.
gm.model @m {
  gm.param @w : tensor<1x1xf32> init zeros
  gm.group @d = [@w]
  gm.objective @v(%k: !gm.key) -> tensor<f32> {
    %c = gm.constant dense<1.0> : tensor<f32>
    gm.return %c : tensor<f32>
  }
  // expected-error @+1 {{'clip' must be a positive float, got -1.000000e-02 : f64}}
  gm.step @s minimize @v over [@d] using #gm.optimizer<sgd, {lr = 0.1 : f64, momentum = 0.0 : f64, clip = -0.01 : f64}>
}

// -----

// Tests that progressive resolutions double.
gm.model @m {
  // expected-error @+1 {{expects each resolution to double the previous one, got 7 then 15}}
  gm.progressive @grow resolutions [7, 15] {epochs_per_stage = 1 : i64, fade_fraction = 0.5 : f64}
}

// -----

// Tests that schedule_alpha names a schedule.
gm.model @m {
  gm.param @w : tensor<4xf32> init zeros
  gm.net @f(%x: tensor<?x4xf32>) -> tensor<f32> {
    // expected-error @+1 {{'w' is not a gm.progressive}}
    %a = gm.schedule_alpha @w to 28 : tensor<f32>
    gm.return %a : tensor<f32>
  }
}

// -----

// Tests that schedule_alpha fades in one of the schedule's later resolutions.
gm.model @m {
  gm.progressive @grow resolutions [7, 14, 28] {epochs_per_stage = 2 : i64, fade_fraction = 0.5 : f64}
  gm.net @f(%x: tensor<?x4xf32>) -> tensor<f32> {
    // expected-error @+1 {{fades in resolution 7, which is not one of the schedule's after the first (14, 28)}}
    %a = gm.schedule_alpha @grow to 7 : tensor<f32>
    gm.return %a : tensor<f32>
  }
}

// -----

// Tests the shape rules of the primitives.
gm.model @m {
  gm.net @f(%x: tensor<?x4xf32>, %w: tensor<3x5xf32>) -> tensor<?x3xf32> {
    // expected-error @+1 {{expects a weight [OUT, 4], got [3, 5] (unbatched)}}
    %y = gm.linear %x, %w : (tensor<?x4xf32>, tensor<3x5xf32>) -> tensor<?x3xf32>
    gm.return %y : tensor<?x3xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4xf32>, %w: tensor<3x4xf32>, %b: tensor<4xf32>) -> tensor<?x3xf32> {
    // expected-error @+1 {{expects a bias of shape [3] (unbatched), got [4] (unbatched)}}
    %y = gm.linear %x, %w, %b : (tensor<?x4xf32>, tensor<3x4xf32>, tensor<4xf32>) -> tensor<?x3xf32>
    gm.return %y : tensor<?x3xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%a: tensor<?x4xf32>, %b: tensor<5x3xf32>) -> tensor<?x3xf32> {
    // expected-error @+1 {{contracting dimensions differ}}
    %y = gm.matmul %a, %b : (tensor<?x4xf32>, tensor<5x3xf32>) -> tensor<?x3xf32>
    gm.return %y : tensor<?x3xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x1x28x28xf32>, %w: tensor<8x1x4x4xf32>) -> tensor<?x8x13x13xf32> {
    // expected-error @+1 {{expects result type 'tensor<?x8x14x14xf32>', got 'tensor<?x8x13x13xf32>'}}
    %y = gm.conv2d %x, %w {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>} : (tensor<?x1x28x28xf32>, tensor<8x1x4x4xf32>) -> tensor<?x8x13x13xf32>
    gm.return %y : tensor<?x8x13x13xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x2x28x28xf32>, %w: tensor<8x1x4x4xf32>) -> tensor<?x8x14x14xf32> {
    // expected-error @+1 {{expects 1 input channels}}
    %y = gm.conv2d %x, %w {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>} : (tensor<?x2x28x28xf32>, tensor<8x1x4x4xf32>) -> tensor<?x8x14x14xf32>
    gm.return %y : tensor<?x8x14x14xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4x7x7xf32>, %w: tensor<4x2x4x4xf32>) -> tensor<?x2x15x15xf32> {
    // expected-error @+1 {{expects result type 'tensor<?x2x14x14xf32>'}}
    %y = gm.conv2d_transpose %x, %w {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, output_padding = array<i64: 0, 0>} : (tensor<?x4x7x7xf32>, tensor<4x2x4x4xf32>) -> tensor<?x2x15x15xf32>
    gm.return %y : tensor<?x2x15x15xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x1x8x8xf32>, %w: tensor<4x1x2x2xf32>) -> tensor<?x4x8x8xf32> {
    // expected-error @+1 {{needs an odd kernel, got 2x2}}
    %y = gm.masked_conv2d %x, %w mask A : (tensor<?x1x8x8xf32>, tensor<4x1x2x2xf32>) -> tensor<?x4x8x8xf32>
    gm.return %y : tensor<?x4x8x8xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4x2x2xf32>, %g: tensor<3xf32>) -> tensor<?x4x2x2xf32> {
    // expected-error @+1 {{expects gamma of shape [4] (unbatched), got [3] (unbatched)}}
    %y = gm.batch_norm %x, %g, %g, %g, %g {eps = 1.0e-5 : f64, momentum = 0.1 : f64} : (tensor<?x4x2x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<?x4x2x2xf32>
    gm.return %y : tensor<?x4x2x2xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4x2x2xf32>, %g: tensor<4xf32>, %s: tensor<3xf32>) -> tensor<?x4x2x2xf32> {
    // expected-error @+1 {{expects running_var of shape [4] (unbatched), got [3] (unbatched)}}
    %y = gm.batch_norm %x, %g, %g, %g, %s {eps = 1.0e-5 : f64, momentum = 0.1 : f64} : (tensor<?x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<3xf32>) -> tensor<?x4x2x2xf32>
    gm.return %y : tensor<?x4x2x2xf32>
  }
}

// -----

gm.model @m {
  // expected-error @+1 {{is a statistic and an optimizer slot at once}}
  gm.param @s : tensor<4xf32> init zeros {statistic, slot_of = @s}
}

// -----

gm.model @m {
  gm.data @x : tensor<?x3xf32> real
  gm.param @w : tensor<3xf32> init zeros
  gm.group @g = [@w]
  // expected-error @+1 {{with role eval has no 'running_stats'}}
  gm.func @e(%x: tensor<?x3xf32>, %k: !gm.key) -> tensor<f32>
      attributes {role = #gm.role<eval>, inputs = [@x], running_stats = [@w]} {
    %l = gm.constant dense<0.0> : tensor<f32>
    gm.return %l : tensor<f32>
  }
}

// -----

gm.model @m {
  // expected-error @+1 {{with role decode has no 'codes'}}
  gm.func @d(%z: tensor<?x2xf32>, %k: !gm.key) -> tensor<?x2xf32>
      attributes {role = #gm.role<decode>, inputs = [], latent = "z", codes = {c = "uniform_categorical"}} {
    gm.return %z : tensor<?x2xf32>
  }
}

// -----

gm.model @m {
  // expected-error @+1 {{expects code 'c' to name its prior, "standard_normal" or "uniform_categorical"}}
  gm.func @g(%z: tensor<?x2xf32>, %c: tensor<?x3xf32>, %k: !gm.key) -> tensor<?x2xf32>
      attributes {role = #gm.role<generate>, inputs = [], latent = "z", codes = {c = "laplace"}} {
    gm.return %z : tensor<?x2xf32>
  }
}

// -----

gm.model @m {
  // expected-error @+1 {{has 2 arguments, but 0 data input(s), 2 other argument(s) and a key}}
  gm.func @g(%z: tensor<?x2xf32>, %k: !gm.key) -> tensor<?x2xf32>
      attributes {role = #gm.role<generate>, inputs = [], latent = "z", codes = {c = "uniform_categorical"}} {
    gm.return %z : tensor<?x2xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x784xf32>) -> tensor<?x1x28x27xf32> {
    // expected-error @+1 {{cannot reshape [784] (784 elements) to [1, 28, 27] (756)}}
    %y = gm.reshape %x : tensor<?x784xf32> -> tensor<?x1x28x27xf32>
    gm.return %y : tensor<?x1x28x27xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4xf32>, %y: tensor<?x3x1xf32>) -> tensor<?x7xf32> {
    // expected-error @+1 {{cannot concatenate [4] and [3, 1] along axis 1}}
    %z = gm.concat %x, %y {axis = 1 : i64} : (tensor<?x4xf32>, tensor<?x3x1xf32>) -> tensor<?x7xf32>
    gm.return %z : tensor<?x7xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4xf32>) -> tensor<?x3xf32> {
    // expected-error @+1 {{slice [2, 5) is out of bounds for an axis of size 4}}
    %z = gm.slice %x {axis = 1 : i64, start = 2 : i64, size = 3 : i64} : tensor<?x4xf32> -> tensor<?x3xf32>
    gm.return %z : tensor<?x3xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
    // expected-error @+1 {{axis 0 is out of range for rank 2 (axis 0 is the batch)}}
    %z = gm.softmax %x {axis = 0 : i64} : tensor<?x4xf32>
    gm.return %z : tensor<?x4xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4x3xf32>) -> tensor<?x4xf32> {
    // expected-error @+1 {{expects result type 'tensor<?x3xf32>', got 'tensor<?x4xf32>'}}
    %z = gm.sum %x {axes = array<i64: 1>} : tensor<?x4x3xf32> -> tensor<?x4xf32>
    gm.return %z : tensor<?x4xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x1x7x7xf32>) -> tensor<?x1x3x3xf32> {
    // expected-error @+1 {{needs height and width divisible by 2, got [1, 7, 7]}}
    %z = gm.avg_pool %x {factor = 2 : i64} : tensor<?x1x7x7xf32> -> tensor<?x1x3x3xf32>
    gm.return %z : tensor<?x1x3x3xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<4xf32>) -> tensor<?x4xf32> {
    // expected-error @+1 {{expects 1 dynamic size(s), got 0}}
    %z = gm.broadcast %x : tensor<4xf32> -> tensor<?x4xf32>
    gm.return %z : tensor<?x4xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<3xf32>, %n: index) -> tensor<?x4xf32> {
    // expected-error @+1 {{cannot broadcast 'tensor<3xf32>' to 'tensor<?x4xf32>'}}
    %z = gm.broadcast %x [%n] : tensor<3xf32> -> tensor<?x4xf32>
    gm.return %z : tensor<?x4xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%ids: tensor<?x5xi32>, %t: tensor<7x6xf32>) -> tensor<?x5x7xf32> {
    // expected-error @+1 {{expects result type 'tensor<?x5x6xf32>'}}
    %z = gm.embedding %ids, %t : (tensor<?x5xi32>, tensor<7x6xf32>) -> tensor<?x5x7xf32>
    gm.return %z : tensor<?x5x7xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x6xf32>, %h: tensor<?x2xf32>, %wih: tensor<8x5xf32>, %whh: tensor<8x2xf32>, %b: tensor<8xf32>) -> tensor<?x2xf32> {
    // expected-error @+1 {{expects w_ih of shape [8, 6] (unbatched), got [8, 5] (unbatched)}}
    %hn, %cn = gm.lstm_cell %x, %h, %h, %wih, %whh, %b : (tensor<?x6xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<8x5xf32>, tensor<8x2xf32>, tensor<8xf32>) -> (tensor<?x2xf32>, tensor<?x2xf32>)
    gm.return %hn : tensor<?x2xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4x8x8xf32>, %wis: tensor<8x4x1x2xf32>, %wss: tensor<8x2x1x2xf32>, %b: tensor<8xf32>) -> tensor<?x2x8x8xf32> {
    // expected-error @+1 {{expects w_is [4H, 4, 1, K] with odd K, got [8, 4, 1, 2] (unbatched)}}
    %y = gm.row_lstm %x, %wis, %wss, %b : (tensor<?x4x8x8xf32>, tensor<8x4x1x2xf32>, tensor<8x2x1x2xf32>, tensor<8xf32>) -> tensor<?x2x8x8xf32>
    gm.return %y : tensor<?x2x8x8xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x16xf32>, %W: tensor<5x16xf32>, %c: tensor<5xf32>, %V: tensor<5x16xf32>, %b: tensor<16xf32>) -> tensor<?x16xf32> {
    // expected-error @+1 {{expects V of shape [16, 5] (unbatched), got [5, 16] (unbatched)}}
    %y = gm.nade %x, %W, %c, %V, %b : (tensor<?x16xf32>, tensor<5x16xf32>, tensor<5xf32>, tensor<5x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
    gm.return %y : tensor<?x16xf32>
  }
}

// -----

// Tests the distribution and density rules.
gm.model @m {
  gm.net @f(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
    // expected-error @+1 {{expects samples of type 'tensor<?x4xf32>', got '!gm.dist<normal, tensor<?x3xf32>>'}}
    %q = gm.normal %x, %x scale : tensor<?x4xf32> -> !gm.dist<normal, tensor<?x3xf32>>
    gm.return %x : tensor<?x4xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
    // expected-error @+1 {{expects a result of kind bernoulli, got '!gm.dist<normal, tensor<?x4xf32>>'}}
    %q = gm.bernoulli %x : tensor<?x4xf32> -> !gm.dist<normal, tensor<?x4xf32>>
    gm.return %x : tensor<?x4xf32>
  }
}

// -----

gm.model @m {
  gm.objective @o(%k: !gm.key) -> tensor<f32> attributes {inputs = []} {
    %c = gm.constant dense<0.0> : tensor<2xf32>
    %n = gm.constant dense<0.0> : tensor<f32>
    %l = gm.reshape %c : tensor<2xf32> -> tensor<2xf32>
    // expected-error @+1 {{distribution samples must have a dynamic leading batch dimension}}
    %q = gm.bernoulli %l : tensor<2xf32> -> !gm.dist<bernoulli, tensor<2xf32>>
    gm.return %n : tensor<f32>
  }
}

// -----

gm.model @m {
  gm.net @o(%x: tensor<?x4xf32>, %k: !gm.key) -> tensor<f32> {
    %p = gm.bernoulli %x : tensor<?x4xf32> -> !gm.dist<bernoulli, tensor<?x4xf32>>
    // expected-error @+1 {{cannot reparameterise a bernoulli distribution; use score_function or none}}
    %z = gm.sample %p, %k stream 0 reparam : !gm.dist<bernoulli, tensor<?x4xf32>> -> tensor<?x4xf32>
    %n = gm.constant dense<0.0> : tensor<f32>
    gm.return %n : tensor<f32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4xf32>, %y: tensor<?x3xf32>) -> tensor<?xf32> {
    %p = gm.bernoulli %x : tensor<?x4xf32> -> !gm.dist<bernoulli, tensor<?x4xf32>>
    // expected-error @+1 {{value has type 'tensor<?x3xf32>', but the distribution is over 'tensor<?x4xf32>'}}
    %l = gm.log_prob %p, %y : (!gm.dist<bernoulli, tensor<?x4xf32>>, tensor<?x3xf32>) -> tensor<?xf32>
    gm.return %l : tensor<?xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4xf32>) -> tensor<?xf32> {
    %q = gm.normal %x, %x logvar : tensor<?x4xf32> -> !gm.dist<normal, tensor<?x4xf32>>
    %p = gm.bernoulli %x : tensor<?x4xf32> -> !gm.dist<bernoulli, tensor<?x4xf32>>
    // expected-error @+1 {{KL(normal || bernoulli) is undefined: one distribution is continuous and the other discrete}}
    %kl = gm.kl %q, %p analytic : (!gm.dist<normal, tensor<?x4xf32>>, !gm.dist<bernoulli, tensor<?x4xf32>>) -> tensor<?xf32>
    gm.return %kl : tensor<?xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4xf32>) -> tensor<?xf32> {
    %q = gm.normal %x, %x logvar : tensor<?x4xf32> -> !gm.dist<normal, tensor<?x4xf32>>
    %p = gm.uniform %x, %x : tensor<?x4xf32> -> !gm.dist<uniform, tensor<?x4xf32>>
    // expected-error @+1 {{KL(normal || uniform) is undefined: q puts mass outside the bounded support}}
    %kl = gm.kl %q, %p, %x monte_carlo : (!gm.dist<normal, tensor<?x4xf32>>, !gm.dist<uniform, tensor<?x4xf32>>, tensor<?x4xf32>) -> tensor<?xf32>
    gm.return %kl : tensor<?xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4xf32>, %l: tensor<?x3xf32>, %m: tensor<?x3x4xf32>) -> tensor<?xf32> {
    %q = gm.normal %x, %x logvar : tensor<?x4xf32> -> !gm.dist<normal, tensor<?x4xf32>>
    %p = gm.mixture_normal %l, %m, %m : (tensor<?x3xf32>, tensor<?x3x4xf32>, tensor<?x3x4xf32>) -> !gm.dist<mixture_normal, tensor<?x4xf32>>
    // expected-error @+1 {{has no analytic form for KL(normal || mixture_normal); use monte_carlo}}
    %kl = gm.kl %q, %p analytic : (!gm.dist<normal, tensor<?x4xf32>>, !gm.dist<mixture_normal, tensor<?x4xf32>>) -> tensor<?xf32>
    gm.return %kl : tensor<?xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4xf32>, %y: tensor<?x3xf32>) -> tensor<?xf32> {
    %q = gm.normal %x, %x logvar : tensor<?x4xf32> -> !gm.dist<normal, tensor<?x4xf32>>
    %p = gm.normal %y, %y logvar : tensor<?x3xf32> -> !gm.dist<normal, tensor<?x3xf32>>
    // expected-error @+1 {{expects distributions over one type}}
    %kl = gm.kl %q, %p analytic : (!gm.dist<normal, tensor<?x4xf32>>, !gm.dist<normal, tensor<?x3xf32>>) -> tensor<?xf32>
    gm.return %kl : tensor<?xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%a: tensor<?xf32>) -> tensor<?xf32> {
    // expected-error @+1 {{expects a non-negative 'beta', got -1}}
    %e = gm.elbo %a, %a {beta = -1.0 : f64} : tensor<?xf32>
    gm.return %e : tensor<?xf32>
  }
}

// -----

gm.model @m {
  gm.net @o(%x: tensor<?x4xf32>, %k: !gm.key) -> tensor<f32> {
    %q = gm.normal %x, %x logvar : tensor<?x4xf32> -> !gm.dist<normal, tensor<?x4xf32>>
    // expected-error @+1 {{expects its region to take one 'tensor<?x4xf32>' sample}}
    %b = gm.iwae %q, %q, %k stream 0 {k = 4 : i64} : !gm.dist<normal, tensor<?x4xf32>>, !gm.dist<normal, tensor<?x4xf32>> -> tensor<?xf32> {
    ^bb0(%z: tensor<?x3xf32>):
      %l = gm.sum %z {axes = array<i64: 1>} : tensor<?x3xf32> -> tensor<?xf32>
      gm.yield %l : tensor<?xf32>
    }
    %m = gm.mean %b {axes = array<i64: 0>} : tensor<?xf32> -> tensor<f32>
    gm.return %m : tensor<f32>
  }
}

// -----

gm.model @m {
  gm.net @o(%r: tensor<?x2xf32>) -> tensor<f32> {
    // expected-error @+1 {{expects one logit per example, (B) or (B, 1), got 'tensor<?x2xf32>'}}
    %v = gm.adversarial %r, %r : tensor<?x2xf32>, tensor<?x2xf32> -> tensor<f32>
    gm.return %v : tensor<f32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4xf32>, %c: tensor<?x3xf32>) -> tensor<?xf32> {
    %q = gm.categorical %x : tensor<?x4xf32> -> !gm.dist<categorical, tensor<?x4xf32>>
    // expected-error @+1 {{expects posterior, code and prior over one type}}
    %mi = gm.mutual_info %q, %c, %q : (!gm.dist<categorical, tensor<?x4xf32>>, tensor<?x3xf32>, !gm.dist<categorical, tensor<?x4xf32>>) -> tensor<?xf32>
    gm.return %mi : tensor<?xf32>
  }
}

// -----

// Tests the rules traits enforce, and the remaining verifiers.
gm.model @m {
  gm.net @f(%a: tensor<?x4xf32>, %b: tensor<?x3xf32>) -> tensor<?x4xf32> {
    // expected-error @+1 {{requires the same type for all operands and results}}
    %c = "gm.add"(%a, %b) : (tensor<?x4xf32>, tensor<?x3xf32>) -> tensor<?x4xf32>
    gm.return %c : tensor<?x4xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%a: tensor<4xf32>) -> index {
    // expected-error @+1 {{expects an operand with a dynamic batch dimension first}}
    %n = gm.batch_size %a : tensor<4xf32>
    gm.return %n : index
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x1x7x7xf32>) -> tensor<?x1x7x7xf32> {
    // expected-error @+1 {{expects result type 'tensor<?x1x14x14xf32>', got 'tensor<?x1x7x7xf32>'}}
    %y = gm.upsample %x {factor = 2 : i64} : tensor<?x1x7x7xf32> -> tensor<?x1x7x7xf32>
    gm.return %y : tensor<?x1x7x7xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
    // expected-error @+1 {{axis 0 is out of range for rank 2 (axis 0 is the batch)}}
    %y = gm.shift %x {axis = 0 : i64, amount = 1 : i64} : tensor<?x4xf32>
    gm.return %y : tensor<?x4xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4x3xf32>) -> tensor<?xf32> {
    // expected-error @+1 {{expects strictly increasing axes}}
    %y = gm.mean %x {axes = array<i64: 2, 1>} : tensor<?x4x3xf32> -> tensor<?xf32>
    gm.return %y : tensor<?xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4x3xf32>) -> tensor<?x4x3xf32> {
    // expected-error @+1 {{expects a permutation of 3 dimensions}}
    %y = gm.transpose %x {permutation = array<i64: 0, 1, 1>} : tensor<?x4x3xf32> -> tensor<?x4x3xf32>
    gm.return %y : tensor<?x4x3xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x4xf32>, %w: tensor<3x5xf32>) -> tensor<?x3xf32> {
    // expected-error @+1 {{expects a weight [OUT, 4], got [3, 5] (unbatched)}}
    %y = gm.masked_linear %x, %w mask A : (tensor<?x4xf32>, tensor<3x5xf32>) -> tensor<?x3xf32>
    gm.return %y : tensor<?x3xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%a: tensor<?x4xf32>, %b: tensor<?x3xf32>) -> tensor<?xf32> {
    // expected-error @+1 {{failed to verify that all of {prediction, target} have same type}}
    %l = "gm.recon_loss"(%a, %b) {kind = 0 : i32} : (tensor<?x4xf32>, tensor<?x3xf32>) -> tensor<?xf32>
    gm.return %l : tensor<?xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%a: tensor<?x4xf32>, %b: tensor<?x4xf32>, %s: tensor<?xf32>) -> tensor<?x4xf32> {
    // expected-error @+1 {{operand #2 must be 0D tensor of 32-bit float values}}
    %y = gm.fade %a, %b, %s : tensor<?x4xf32>, tensor<?xf32>
    gm.return %y : tensor<?x4xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%l: tensor<?xf32>) -> tensor<?xf32> {
    // expected-error @+1 {{categorical samples are one-hot over a last axis}}
    %c = gm.categorical %l : tensor<?xf32> -> !gm.dist<categorical, tensor<?xf32>>
    gm.return %l : tensor<?xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%a: tensor<?x2xf32>) -> tensor<?x2xf32> {
    // expected-error @+1 {{expects a result of kind uniform}}
    %u = gm.uniform %a, %a : tensor<?x2xf32> -> !gm.dist<normal, tensor<?x2xf32>>
    gm.return %a : tensor<?x2xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%a: tensor<?x2xf32>, %m: tensor<?x3x4xf32>) -> tensor<?x2xf32> {
    // expected-error @+1 {{expects means (B, 2, D), got 'tensor<?x3x4xf32>'}}
    %d = gm.mixture_normal %a, %m, %m : (tensor<?x2xf32>, tensor<?x3x4xf32>, tensor<?x3x4xf32>) -> !gm.dist<mixture_normal, tensor<?x4xf32>>
    gm.return %a : tensor<?x2xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%a: tensor<?xf32>) -> tensor<?xf32> {
    // expected-error @+1 {{'gm.yield' op expects parent op to be one of 'gm.iwae, gm.ar_sample'}}
    gm.yield %a : tensor<?xf32>
  }
}

// -----

gm.model @m {
  // expected-error @+1 {{value has type 'tensor<2xf32>', but the result is 'tensor<3xf32>'}}
  %c = "gm.constant"() {value = dense<1.0> : tensor<2xf32>} : () -> tensor<3xf32>
}

// -----

gm.model @m {
  // expected-error @+1 {{expects real data to be f32}}
  gm.data @x : tensor<?x4xi32> real
}

// -----

gm.model @m {
  // expected-error @+1 {{'@nothing' is not a gm.param}}
  gm.group @g = [@nothing]
}

// -----

gm.model @m {
  gm.data @x : tensor<?x1xf32> real
  gm.group @g = []
  gm.objective @o(%x: tensor<?x1xf32>, %k: !gm.key) -> tensor<f32> attributes {inputs = [@x]} {
    %c = gm.constant dense<1.0> : tensor<f32>
    gm.return %c : tensor<f32>
  }
  // expected-error @+1 {{trains no parameters}}
  gm.step @s minimize @o over [@g] using #gm.optimizer<sgd, {lr = 0.1 : f64, momentum = 0.0 : f64}>
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x1x8x8xf32>, %w: tensor<4x1x3x3xf32>) -> tensor<?x4x8x8xf32> {
    // expected-error @+1 {{expects 'stride' to be two integers >= 1}}
    %y = gm.conv2d %x, %w {stride = array<i64: 0, 1>, padding = array<i64: 1, 1>} : (tensor<?x1x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<?x4x8x8xf32>
    gm.return %y : tensor<?x4x8x8xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x784xf32>) -> tensor<784x1xf32> {
    // expected-error @+1 {{expects a result with a dynamic batch dimension first}}
    %y = gm.reshape %x : tensor<?x784xf32> -> tensor<784x1xf32>
    gm.return %y : tensor<784x1xf32>
  }
}

// -----

gm.model @m {
  gm.param @w : tensor<3xf32> init zeros
  gm.net @f(%v: tensor<4xf32>) {
    // expected-error @+1 {{writes 'tensor<4xf32>' into @w of type 'tensor<3xf32>'}}
    gm.assign @w, %v : tensor<4xf32>
    gm.return
  }
}

// -----

gm.model @m {
  gm.net @f(%x: tensor<?x1x8x8xf32>, %g: tensor<?x4x8x8xf32>) -> tensor<3x1x3x3xf32> {
    // expected-error @+1 {{does not match input}}
    %w = gm.conv2d_weight_grad %x, %g {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>} : (tensor<?x1x8x8xf32>, tensor<?x4x8x8xf32>) -> tensor<3x1x3x3xf32>
    gm.return %w : tensor<3x1x3x3xf32>
  }
}

// -----

gm.model @m {
  gm.net @f(%ids: tensor<?x5xi32>, %g: tensor<?x5x6xf32>) -> tensor<7x5xf32> {
    // expected-error @+1 {{expects ids (B, T), grad (B, T, E) and a (V, E) result}}
    %t = gm.embedding_grad %ids, %g : (tensor<?x5xi32>, tensor<?x5x6xf32>) -> tensor<7x5xf32>
    gm.return %t : tensor<7x5xf32>
  }
}

// -----

// Tests that a derived function says what it is for.
gm.model @m {
  gm.data @x : tensor<?x4xf32> real
  // expected-error @+1 {{requires attribute 'role'}}
  gm.func @f(%x: tensor<?x4xf32>, %k: !gm.key) -> tensor<f32> attributes {inputs = [@x]} {
    %c = gm.constant dense<0.0> : tensor<f32>
    gm.return %c : tensor<f32>
  }
}

// -----

// Tests that a loss names its training block, player and groups.
gm.model @m {
  gm.data @x : tensor<?x4xf32> real
  // expected-error @+1 {{with role loss expects 'step'}}
  gm.func @f(%x: tensor<?x4xf32>, %k: !gm.key) -> tensor<f32> attributes {role = #gm.role<loss>, inputs = [@x]} {
    %c = gm.constant dense<0.0> : tensor<f32>
    gm.return %c : tensor<f32>
  }
}

// -----

// Tests that a gradient returns the loss and one gradient per parameter.
gm.model @m {
  gm.data @x : tensor<?x4xf32> real
  gm.param @w : tensor<4xf32> init zeros
  gm.group @g = [@w]
  // expected-error @+1 {{returns 1 values, but a loss, 1 gradient(s) and 0 running statistic(s) were expected}}
  gm.func @f(%x: tensor<?x4xf32>, %k: !gm.key) -> tensor<f32> attributes {role = #gm.role<gradient>, inputs = [@x], step = @s, player = #gm.player<all>, groups = [@g], params = [@w], loss = @f} {
    %c = gm.constant dense<0.0> : tensor<f32>
    gm.return %c : tensor<f32>
  }
}

// -----

// Tests that a training step carries its optimizer, whose run-time
// arguments follow the data.
gm.model @m {
  gm.data @x : tensor<?x4xf32> real
  gm.param @w : tensor<4xf32> init zeros
  // expected-error @+1 {{with role train expects 'optimizer'}}
  gm.func @f(%x: tensor<?x4xf32>, %k: !gm.key) -> tensor<f32> attributes {role = #gm.role<train>, inputs = [@x], step = @s, player = #gm.player<all>, params = [@w]} {
    %c = gm.constant dense<0.0> : tensor<f32>
    gm.return %c : tensor<f32>
  }
}

// -----

gm.model @m {
  gm.data @x : tensor<?x4xf32> real
  gm.param @w : tensor<4xf32> init zeros
  // expected-error @+1 {{has 2 arguments, but 1 data input(s), 2 other argument(s) and a key}}
  gm.func @f(%x: tensor<?x4xf32>, %k: !gm.key) -> tensor<f32> attributes {role = #gm.role<train>, inputs = [@x], step = @s, player = #gm.player<all>, params = [@w], optimizer = #gm.optimizer<sgd, {lr = 0.1 : f64, momentum = 0.0 : f64}>} {
    %c = gm.constant dense<0.0> : tensor<f32>
    gm.return %c : tensor<f32>
  }
}

// -----

// Tests that a decoder names the latent it maps.
gm.model @m {
  // expected-error @+1 {{with role decode expects 'latent'}}
  gm.func @f(%z: tensor<?x2xf32>, %k: !gm.key) -> tensor<?x4xf32> attributes {role = #gm.role<decode>, inputs = []} {
    %c = gm.constant dense<0.0> : tensor<f32>
    %n = gm.batch_size %z : tensor<?x2xf32>
    %b = gm.broadcast %c [%n] : tensor<f32> -> tensor<?x4xf32>
    gm.return %b : tensor<?x4xf32>
  }
}

// -----

// Tests that a score entry says which bound on log p(x) it computes.
gm.model @m {
  gm.data @x : tensor<?x4xf32> real
  // expected-error @+1 {{with role score expects 'bound'}}
  gm.func @f(%x: tensor<?x4xf32>, %k: !gm.key) -> tensor<?xf32> attributes {role = #gm.role<score>, inputs = [@x]} {
    %s = gm.sum %x {axes = array<i64: 1>} : tensor<?x4xf32> -> tensor<?xf32>
    gm.return %s : tensor<?xf32>
  }
}

// -----

// Tests that a score entry returns one value per example, not their mean.
gm.model @m {
  gm.data @x : tensor<?x4xf32> real
  // expected-error @+1 {{with role score expects one tensor<?xf32> result, one value per example}}
  gm.func @f(%x: tensor<?x4xf32>, %k: !gm.key) -> tensor<f32> attributes {role = #gm.role<score>, bound = #gm.bound<exact>, inputs = [@x]} {
    %s = gm.sum %x {axes = array<i64: 0, 1>} : tensor<?x4xf32> -> tensor<f32>
    gm.return %s : tensor<f32>
  }
}

// -----

// Tests that gm.ar_sample's region maps the partial sample to one logit per
// value.
func.func @f(%u: tensor<?x4xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{expects its region to yield one logit per value, 'tensor<?x4xf32>'}}
  %x = gm.ar_sample %u : tensor<?x4xf32> -> tensor<?x4xf32> {
  ^bb0(%p: tensor<?x4xf32>):
    %s = gm.sum %p {axes = array<i64: 1>} : tensor<?x4xf32> -> tensor<?xf32>
    gm.yield %s : tensor<?xf32>
  }
  return %x : tensor<?x4xf32>
}

// -----

// Tests that a discretised logistic's gm.ar_sample yields loc and log_scale.
func.func @f(%u: tensor<?x4xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{expects its region to yield loc and log_scale per value, 'tensor<?x4xf32>'}}
  %x = gm.ar_sample %u levels 256 : tensor<?x4xf32> -> tensor<?x4xf32> {
  ^bb0(%p: tensor<?x4xf32>):
    gm.yield %p : tensor<?x4xf32>
  }
  return %x : tensor<?x4xf32>
}

// -----

// Tests that a discretised logistic has at least two levels.
func.func @f(%m: tensor<?x4xf32>) -> !gm.dist<discretized_logistic, tensor<?x4xf32>> {
  // expected-error @+1 {{attribute 'levels' failed to satisfy constraint: 64-bit signless integer attribute whose minimum value is 2}}
  %d = gm.discretized_logistic %m, %m levels 1 : tensor<?x4xf32> -> !gm.dist<discretized_logistic, tensor<?x4xf32>>
  return %d : !gm.dist<discretized_logistic, tensor<?x4xf32>>
}

// -----

// Tests that a discretised logistic's result is of its own family.
func.func @f(%m: tensor<?x4xf32>) -> !gm.dist<normal, tensor<?x4xf32>> {
  // expected-error @+1 {{expects a result of kind discretized_logistic}}
  %d = gm.discretized_logistic %m, %m levels 256 : tensor<?x4xf32> -> !gm.dist<normal, tensor<?x4xf32>>
  return %d : !gm.dist<normal, tensor<?x4xf32>>
}

// -----

// Tests that gm.ar_sample draws from uniforms of its result's shape.
func.func @f(%u: tensor<?x3xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{expects a result of its uniforms' type 'tensor<?x3xf32>', got 'tensor<?x4xf32>'}}
  %x = gm.ar_sample %u : tensor<?x3xf32> -> tensor<?x4xf32> {
  ^bb0(%p: tensor<?x3xf32>):
    gm.yield %p : tensor<?x3xf32>
  }
  return %x : tensor<?x4xf32>
}

// -----

// Tests that a gm.iwae region yields one value per example.
func.func @f(%m: tensor<?x2xf32>, %k: !gm.key) -> tensor<?xf32> {
  %q = gm.normal %m, %m logvar : tensor<?x2xf32> -> !gm.dist<normal, tensor<?x2xf32>>
  // expected-error @+1 {{expects its region to yield one value per example}}
  %b = gm.iwae %q, %q, %k stream 0 {k = 2 : i64} : !gm.dist<normal, tensor<?x2xf32>>, !gm.dist<normal, tensor<?x2xf32>> -> tensor<?xf32> {
  ^bb0(%z: tensor<?x2xf32>):
    gm.yield %z : tensor<?x2xf32>
  }
  return %b : tensor<?xf32>
}

// -----

// Tests that gm.host_conv2d names a gmrt_conv2d direction.
func.func @f(%x: tensor<?x1x28x28xf32>, %w: tensor<64x1x4x4xf32>) -> tensor<?x64x14x14xf32> {
  // expected-error @+1 {{kind 3 is not a gmrt_conv2d direction}}
  %y = gm.host_conv2d %x, %w {kind = 3 : i32, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>} : (tensor<?x1x28x28xf32>, tensor<64x1x4x4xf32>) -> tensor<?x64x14x14xf32>
  return %y : tensor<?x64x14x14xf32>
}

// -----

// Tests that a backward-weights gm.host_conv2d checks its operands' roles:
// src (N, C, ...) and diff_dst (N, F, ...) against a (F, C, ...) result.
func.func @f(%x: tensor<?x1x28x28xf32>, %g: tensor<?x64x14x14xf32>) -> tensor<1x64x4x4xf32> {
  // expected-error @+1 {{are not one convolution}}
  %dw = gm.host_conv2d %x, %g {kind = 2 : i32, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>} : (tensor<?x1x28x28xf32>, tensor<?x64x14x14xf32>) -> tensor<1x64x4x4xf32>
  return %dw : tensor<1x64x4x4xf32>
}

// -----

// Tests that gm.host_conv2d's output size is one the windows can give: 28
// with a 4x4 kernel, stride 2 and padding 1 cannot give 16 (the last
// window would lie wholly in the padding).
func.func @f(%x: tensor<?x1x28x28xf32>, %w: tensor<64x1x4x4xf32>) -> tensor<?x64x16x16xf32> {
  // expected-error @+1 {{is not what src}}
  %y = gm.host_conv2d %x, %w {kind = 0 : i32, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>} : (tensor<?x1x28x28xf32>, tensor<64x1x4x4xf32>) -> tensor<?x64x16x16xf32>
  return %y : tensor<?x64x16x16xf32>
}

// -----

// Tests that a prior's log-density names its latent and returns one value
// per example.
gm.model @m {
  // expected-error @+1 {{with role prior expects 'latent'}}
  gm.func @f(%z: tensor<?x2xf32>, %k: !gm.key) -> tensor<?xf32> attributes {role = #gm.role<prior>, inputs = []} {
    %c = gm.constant dense<0.0> : tensor<f32>
    %n = gm.batch_size %z : tensor<?x2xf32>
    %b = gm.broadcast %c [%n] : tensor<f32> -> tensor<?xf32>
    gm.return %b : tensor<?xf32>
  }
}

// -----

gm.model @m {
  // expected-error @+1 {{with role prior expects one tensor<?xf32> result, log p(z) per example}}
  gm.func @f(%z: tensor<?x2xf32>, %k: !gm.key) -> tensor<?x2xf32> attributes {role = #gm.role<prior>, latent = "z", inputs = []} {
    gm.return %z : tensor<?x2xf32>
  }
}

// -----

// Tests that a prior's draws name their latent and return as many rows of
// it as the argument has.
gm.model @m {
  // expected-error @+1 {{with role draw expects 'latent'}}
  gm.func @f(%z: tensor<?x2xf32>, %k: !gm.key) -> tensor<?x2xf32> attributes {role = #gm.role<draw>, inputs = []} {
    gm.return %z : tensor<?x2xf32>
  }
}

// -----

gm.model @m {
  // expected-error @+1 {{with role draw expects one batched result of its argument's type}}
  gm.func @f(%z: tensor<?x2xf32>, %k: !gm.key) -> tensor<?x3xf32> attributes {role = #gm.role<draw>, latent = "z", inputs = []} {
    %c = gm.constant dense<0.0> : tensor<f32>
    %n = gm.batch_size %z : tensor<?x2xf32>
    %b = gm.broadcast %c [%n] : tensor<f32> -> tensor<?x3xf32>
    gm.return %b : tensor<?x3xf32>
  }
}
