// RUN: gm-opt %s --split-input-file --gm-decompose | FileCheck %s

// Tests that a masked linear layer becomes a linear layer of the masked
// weight, the mask a constant (mask A: input i reaches output o when
// i / IN < o / OUT).

gm.model @m {
  // CHECK-LABEL: gm.net @masked
  gm.net @masked(%x: tensor<?x3xf32>, %w: tensor<3x3xf32>, %b: tensor<3xf32>) -> tensor<?x3xf32> {
    // CHECK: %[[M:.*]] = gm.constant dense<{{\[}}[0.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, 0.000000e+00]]> : tensor<3x3xf32>
    // CHECK: %[[WM:.*]] = gm.mul %{{.*}}, %[[M]] : tensor<3x3xf32>
    // CHECK: gm.linear %{{.*}}, %[[WM]], %{{.*}} : (tensor<?x3xf32>, tensor<3x3xf32>, tensor<3xf32>) -> tensor<?x3xf32>
    // CHECK-NOT: gm.masked_linear
    %y = gm.masked_linear %x, %w, %b mask A : (tensor<?x3xf32>, tensor<3x3xf32>, tensor<3xf32>) -> tensor<?x3xf32>
    gm.return %y : tensor<?x3xf32>
  }
}

// -----

// Tests that masks of different widths compose autoregressively (MADE):
// 3 inputs -> 2 hidden (mask A, i / 3 < k / 2) -> 3 outputs (mask B,
// k / 2 <= o / 3), so output o reads input i only if i < o: output 2 reads
// inputs 0 and 1 through hidden unit 1, outputs 0 and 1 read nothing
// (rounding degrees down would let output 1 read input 1).

gm.model @m {
  // CHECK-LABEL: gm.net @made
  gm.net @made(%x: tensor<?x3xf32>, %w1: tensor<2x3xf32>, %w2: tensor<3x2xf32>) -> tensor<?x3xf32> {
    // CHECK-DAG: gm.constant dense<{{\[}}[0.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, 0.000000e+00]]> : tensor<2x3xf32>
    // CHECK-DAG: gm.constant dense<{{\[}}[1.000000e+00, 0.000000e+00], [1.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00]]> : tensor<3x2xf32>
    %h = gm.masked_linear %x, %w1 mask A : (tensor<?x3xf32>, tensor<2x3xf32>) -> tensor<?x2xf32>
    %y = gm.masked_linear %h, %w2 mask B : (tensor<?x2xf32>, tensor<3x2xf32>) -> tensor<?x3xf32>
    gm.return %y : tensor<?x3xf32>
  }
}

// -----

// Tests that a masked convolution is a stride-1 "same" convolution of the
// masked kernel (mask B keeps the centre tap).

gm.model @m {
  // CHECK-LABEL: gm.net @conv
  gm.net @conv(%x: tensor<?x1x5x5xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<?x2x5x5xf32> {
    // CHECK: %[[M:.*]] = gm.constant dense<{{.*}}1.000000e+00, 1.000000e+00, 1.000000e+00], [1.000000e+00, 1.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00]{{.*}}> : tensor<2x1x3x3xf32>
    // CHECK: %[[WM:.*]] = gm.mul %{{.*}}, %[[M]]
    // CHECK: gm.conv2d %{{.*}}, %[[WM]] {padding = array<i64: 1, 1>, stride = array<i64: 1, 1>}
    %y = gm.masked_conv2d %x, %w mask B : (tensor<?x1x5x5xf32>, tensor<2x1x3x3xf32>) -> tensor<?x2x5x5xf32>
    gm.return %y : tensor<?x2x5x5xf32>
  }
}

// -----

// Tests that an LSTM cell becomes two linear layers, four gate slices in
// PyTorch's order (i, f, g, o) and the cell update.

gm.model @m {
  // CHECK-LABEL: gm.net @cell
  gm.net @cell(%x: tensor<?x3xf32>, %h: tensor<?x2xf32>, %c: tensor<?x2xf32>, %wi: tensor<8x3xf32>, %wh: tensor<8x2xf32>, %b: tensor<8xf32>) -> (tensor<?x2xf32>, tensor<?x2xf32>) {
    // CHECK: %[[XI:.*]] = gm.linear %{{.*}}, %{{.*}}, %{{.*}} : (tensor<?x3xf32>, tensor<8x3xf32>, tensor<8xf32>) -> tensor<?x8xf32>
    // CHECK: %[[HH:.*]] = gm.linear %{{.*}}, %{{.*}} : (tensor<?x2xf32>, tensor<8x2xf32>) -> tensor<?x8xf32>
    // CHECK: %[[G:.*]] = gm.add %[[XI]], %[[HH]] : tensor<?x8xf32>
    // CHECK: %[[I:.*]] = gm.slice %[[G]] {axis = 1 : i64, size = 2 : i64, start = 0 : i64}
    // CHECK: gm.sigmoid %[[I]]
    // CHECK: %[[F:.*]] = gm.slice %[[G]] {axis = 1 : i64, size = 2 : i64, start = 2 : i64}
    // CHECK: gm.sigmoid %[[F]]
    // CHECK: %[[C:.*]] = gm.slice %[[G]] {axis = 1 : i64, size = 2 : i64, start = 4 : i64}
    // CHECK: gm.tanh %[[C]]
    // CHECK: %[[O:.*]] = gm.slice %[[G]] {axis = 1 : i64, size = 2 : i64, start = 6 : i64}
    // CHECK: gm.sigmoid %[[O]]
    // CHECK: %[[CN:.*]] = gm.add
    // CHECK: %[[T:.*]] = gm.tanh %[[CN]]
    // CHECK: %[[HN:.*]] = gm.mul %{{.*}}, %[[T]]
    // CHECK: gm.return %[[HN]], %[[CN]]
    %h1, %c1 = gm.lstm_cell %x, %h, %c, %wi, %wh, %b : (tensor<?x3xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<8x3xf32>, tensor<8x2xf32>, tensor<8xf32>) -> (tensor<?x2xf32>, tensor<?x2xf32>)
    gm.return %h1, %c1 : tensor<?x2xf32>, tensor<?x2xf32>
  }
}

// -----

// Tests that an embedding lookup and its gradient are one-hot products
// summed over the vocabulary, and over batch and tokens.

gm.model @m {
  // CHECK-LABEL: gm.net @lookup
  gm.net @lookup(%ids: tensor<?x4xi32>, %t: tensor<6x3xf32>, %g: tensor<?x4x3xf32>) -> (tensor<?x4x3xf32>, tensor<6x3xf32>) {
    // CHECK: %[[OH:.*]] = gm.one_hot %{{.*}} {classes = 6 : i64} : tensor<?x4xi32> -> tensor<?x4x6xf32>
    // CHECK: gm.reshape %[[OH]] : tensor<?x4x6xf32> -> tensor<?x4x6x1xf32>
    // CHECK: gm.broadcast %{{.*}}[%{{.*}}] : tensor<6x3xf32> -> tensor<?x4x6x3xf32>
    // CHECK: gm.sum %{{.*}} {axes = array<i64: 2>} : tensor<?x4x6x3xf32> -> tensor<?x4x3xf32>
    %e = gm.embedding %ids, %t : (tensor<?x4xi32>, tensor<6x3xf32>) -> tensor<?x4x3xf32>
    // CHECK: gm.one_hot
    // CHECK: gm.reshape %{{.*}} : tensor<?x4x3xf32> -> tensor<?x4x1x3xf32>
    // CHECK: gm.sum %{{.*}} {axes = array<i64: 0, 1>} : tensor<?x4x6x3xf32> -> tensor<6x3xf32>
    // CHECK-NOT: gm.embedding
    %d = gm.embedding_grad %ids, %g : (tensor<?x4xi32>, tensor<?x4x3xf32>) -> tensor<6x3xf32>
    gm.return %e, %d : tensor<?x4x3xf32>, tensor<6x3xf32>
  }
}

// -----

// Tests that each reconstruction loss is its elementwise error summed over
// every axis but the batch.

gm.model @m {
  // CHECK-LABEL: gm.net @losses
  gm.net @losses(%p: tensor<?x2x3xf32>, %t: tensor<?x2x3xf32>) -> (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) {
    // CHECK: %[[D:.*]] = gm.sub
    // CHECK: %[[SQ:.*]] = gm.mul %[[D]], %[[D]]
    // CHECK: gm.sum %[[SQ]] {axes = array<i64: 1, 2>} : tensor<?x2x3xf32> -> tensor<?xf32>
    %a = gm.recon_loss mse %p, %t : tensor<?x2x3xf32> -> tensor<?xf32>
    // CHECK: gm.abs
    %b = gm.recon_loss l1 %p, %t : tensor<?x2x3xf32> -> tensor<?xf32>
    // CHECK: %[[SP:.*]] = gm.softplus
    // CHECK: %[[TP:.*]] = gm.mul
    // CHECK: gm.sub %[[SP]], %[[TP]]
    %c = gm.recon_loss bce_logits %p, %t : tensor<?x2x3xf32> -> tensor<?xf32>
    // CHECK: gm.log_softmax %{{.*}} {axis = 2 : i64}
    // CHECK: gm.neg
    // CHECK-NOT: gm.recon_loss
    %d = gm.recon_loss softmax_xent %p, %t : tensor<?x2x3xf32> -> tensor<?xf32>
    gm.return %a, %b, %c, %d : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// Tests that a fade is lo + alpha (hi - lo) and that stop_gradient goes away.

gm.model @m {
  // CHECK-LABEL: gm.net @blend
  gm.net @blend(%lo: tensor<?x4xf32>, %hi: tensor<?x4xf32>, %a: tensor<f32>) -> tensor<?x4xf32> {
    // CHECK: %[[A:.*]] = gm.broadcast %{{.*}}[%{{.*}}] : tensor<f32> -> tensor<?x4xf32>
    // CHECK: %[[D:.*]] = gm.sub %{{.*}}, %{{.*}} : tensor<?x4xf32>
    // CHECK: %[[S:.*]] = gm.mul %[[A]], %[[D]]
    // CHECK: %[[R:.*]] = gm.add %{{.*}}, %[[S]]
    // CHECK-NOT: gm.stop_gradient
    // CHECK: gm.return %[[R]]
    %f = gm.fade %lo, %hi, %a : tensor<?x4xf32>, tensor<f32>
    %s = gm.stop_gradient %f : tensor<?x4xf32>
    gm.return %s : tensor<?x4xf32>
  }
}
