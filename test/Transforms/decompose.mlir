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

// -----

// Tests that a Row LSTM is one convolution of the input for every row's
// gates, row 0's cell (no previous row), then an scf.for over rows 1 .. R-1
// that carries only stacks of rows, (R, B, H, 1, W) so a row is one block,
// each written in place at row r, and reads h_{r-1} and c_{r-1} back from
// them; the result is the h stack as an image (B, H, R, W).

gm.model @m {
  // CHECK-LABEL: gm.net @rows
  gm.net @rows(%x: tensor<?x4x3x5xf32>, %wis: tensor<8x4x1x3xf32>, %wss: tensor<8x2x1x3xf32>, %b: tensor<8xf32>) -> tensor<?x2x3x5xf32> {
    // CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
    // CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
    // CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
    // CHECK: %[[B:.*]] = tensor.dim %arg0, %[[C0]]
    // CHECK: %[[GX:.*]] = gm.conv2d %arg0, %{{.*}}, %arg3 {padding = array<i64: 0, 1>, stride = array<i64: 1, 1>}
    // CHECK: gm.slice %[[GX]] {axis = 2 : i64, size = 1 : i64, start = 0 : i64}
    // CHECK: %[[S0:.*]] = bufferization.alloc_tensor(%[[B]]) : tensor<3x?x2x1x5xf32>
    // CHECK: %[[H0:.*]] = tensor.insert_slice %{{.*}} into %[[S0]][%[[C0]], 0, 0, 0, 0] [1, %[[B]], 2, 1, 5]
    // CHECK: %[[S1:.*]] = bufferization.alloc_tensor(%[[B]]) : tensor<3x?x2x1x5xf32>
    // CHECK: %[[CELL0:.*]] = tensor.insert_slice %{{.*}} into %[[S1]][%[[C0]], 0, 0, 0, 0]
    // CHECK: %[[L:.*]]:2 = scf.for %[[R:.*]] = %[[C1]] to %[[C3]] step %[[C1]] iter_args(%[[HS:.*]] = %[[H0]], %[[CS:.*]] = %[[CELL0]])
    // CHECK: %[[RP:.*]] = arith.subi %[[R]], %[[C1]]
    // CHECK: %[[G:.*]] = tensor.extract_slice %[[GX]][0, 0, %[[R]], 0] [%[[B]], 8, 1, 5]
    // CHECK: %[[HP:.*]] = tensor.extract_slice %[[HS]][%[[RP]], 0, 0, 0, 0] [1, %[[B]], 2, 1, 5] {{.*}} to tensor<?x2x1x5xf32>
    // CHECK: %[[S:.*]] = gm.conv2d %[[HP]], %arg2 {padding = array<i64: 0, 1>, stride = array<i64: 1, 1>}
    // CHECK: gm.add %[[G]], %[[S]]
    // CHECK: %[[CP:.*]] = tensor.extract_slice %[[CS]][%[[RP]], 0, 0, 0, 0]
    // CHECK: gm.mul %{{.*}}, %[[CP]]
    // CHECK: %[[HN:.*]] = tensor.insert_slice %{{.*}} into %[[HS]][%[[R]], 0, 0, 0, 0]
    // CHECK: %[[CN:.*]] = tensor.insert_slice %{{.*}} into %[[CS]][%[[R]], 0, 0, 0, 0]
    // CHECK: scf.yield %[[HN]], %[[CN]]
    // CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[L]]#0 {{\[}}[0], [1], [2, 3], [4]] : tensor<3x?x2x1x5xf32> into tensor<3x?x2x5xf32>
    // CHECK: %[[IMG:.*]] = gm.transpose %[[FLAT]] {permutation = array<i64: 1, 2, 0, 3>} : tensor<3x?x2x5xf32> -> tensor<?x2x3x5xf32>
    // CHECK: gm.return %[[IMG]]
    // CHECK-NOT: gm.row_lstm
    %h = gm.row_lstm %x, %wis, %wss, %b : (tensor<?x4x3x5xf32>, tensor<8x4x1x3xf32>, tensor<8x2x1x3xf32>, tensor<8xf32>) -> tensor<?x2x3x5xf32>
    gm.return %h : tensor<?x2x3x5xf32>
  }
}

// -----

// Tests that the Row LSTM's gradient runs the forward loop keeping the
// stacks of h, c, i, f, g and o, then a loop over rows R-1 .. 1 (k = 0 ..
// R-2, r = R-1-k) whose stacks of what row r + 1 sends back start with a
// zero row R-1, which puts row r's share of dw_ss in slot k (summed over
// the slots after it), and sends conv_transpose(dgates_r, w_ss) and dc f
// back to row r - 1; row 0 follows the loop; the input's gradients come
// from the stack of every row's dgates, as an image, at once.

gm.model @m {
  // CHECK-LABEL: gm.net @rows_grad
  gm.net @rows_grad(%x: tensor<?x4x3x5xf32>, %wis: tensor<8x4x1x3xf32>, %wss: tensor<8x2x1x3xf32>, %b: tensor<8xf32>, %g: tensor<?x2x3x5xf32>) -> (tensor<?x4x3x5xf32>, tensor<8x4x1x3xf32>, tensor<8x2x1x3xf32>, tensor<8xf32>) {
    // CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
    // CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
    // CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
    // CHECK: %[[F:.*]]:6 = scf.for
    // CHECK: %[[DWS:.*]] = bufferization.alloc_tensor() : tensor<2x8x2x1x3xf32>
    // CHECK: %[[DH0:.*]] = tensor.insert_slice %[[Z:.*]] into %{{.*}}[%[[C2]], 0, 0, 0, 0]
    // CHECK: %[[DC0:.*]] = tensor.insert_slice %[[Z]] into %{{.*}}[%[[C2]], 0, 0, 0, 0]
    // CHECK: %[[B:.*]]:4 = scf.for %[[K:.*]] = %[[C0]] to %[[C2]] step %[[C1]] iter_args(%[[DH:.*]] = %[[DH0]], %[[DC:.*]] = %[[DC0]], %[[DW:.*]] = %[[DWS]], %[[DG:.*]] = %{{.*}})
    // CHECK: %[[R:.*]] = arith.subi %[[C2]], %[[K]]
    // CHECK: %[[RP:.*]] = arith.subi %[[R]], %[[C1]]
    // CHECK: tensor.extract_slice %[[DH]][%[[R]], 0, 0, 0, 0]
    // CHECK: tensor.extract_slice %[[DC]][%[[R]], 0, 0, 0, 0]
    // CHECK: tensor.extract_slice %arg4[0, 0, %[[R]], 0]
    // CHECK: %[[GATES:.*]] = gm.concat %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {axis = 1 : i64}
    // CHECK: %[[HP:.*]] = tensor.extract_slice %[[F]]#0[%[[RP]], 0, 0, 0, 0]
    // CHECK: %[[W:.*]] = gm.conv2d_weight_grad %[[HP]], %[[GATES]]
    // CHECK: %[[BACK:.*]] = gm.conv2d_transpose %[[GATES]], %arg2
    // CHECK: %[[DWN:.*]] = tensor.insert_slice %[[W]] into %[[DW]][%[[K]], 0, 0, 0, 0] [1, 8, 2, 1, 3]
    // CHECK: %[[DHN:.*]] = tensor.insert_slice %[[BACK]] into %[[DH]][%[[RP]], 0, 0, 0, 0]
    // CHECK: %[[DCN:.*]] = tensor.insert_slice %{{.*}} into %[[DC]][%[[RP]], 0, 0, 0, 0]
    // CHECK: %[[DGN:.*]] = tensor.insert_slice %[[GATES]] into %[[DG]][%[[R]], 0, 0, 0, 0]
    // CHECK: scf.yield %[[DHN]], %[[DCN]], %[[DWN]], %[[DGN]]
    // CHECK: %[[LAST:.*]] = tensor.insert_slice %{{.*}} into %[[B]]#3[%[[C0]], 0, 0, 0, 0] [1, %{{.*}}, 8, 1, 5]
    // CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[LAST]]
    // CHECK: %[[ALL:.*]] = gm.transpose %[[FLAT]] {permutation = array<i64: 1, 2, 0, 3>} : tensor<3x?x8x5xf32> -> tensor<?x8x3x5xf32>
    // CHECK: %[[DWSS:.*]] = gm.sum %[[B]]#2 {axes = array<i64: 0>} : tensor<2x8x2x1x3xf32> -> tensor<8x2x1x3xf32>
    // CHECK: gm.conv2d_weight_grad %arg0, %[[ALL]]
    // CHECK: %[[DX:.*]] = gm.conv2d_transpose %[[ALL]]
    // CHECK: %[[DB:.*]] = gm.sum %[[ALL]] {axes = array<i64: 0, 2, 3>}
    // CHECK: gm.return %[[DX]], %{{.*}}, %[[DWSS]], %[[DB]]
    %d:4 = gm.row_lstm_grad %x, %wis, %wss, %b, %g : (tensor<?x4x3x5xf32>, tensor<8x4x1x3xf32>, tensor<8x2x1x3xf32>, tensor<8xf32>, tensor<?x2x3x5xf32>) -> (tensor<?x4x3x5xf32>, tensor<8x4x1x3xf32>, tensor<8x2x1x3xf32>, tensor<8xf32>)
    gm.return %d#0, %d#1, %d#2, %d#3 : tensor<?x4x3x5xf32>, tensor<8x4x1x3xf32>, tensor<8x2x1x3xf32>, tensor<8xf32>
  }
}

// -----

// Tests that a training entry's row_lstm and the row_lstm_grad of the same
// operands share one forward loop, built where the row_lstm was: the
// gradient reads its stacks, and the row_lstm's users its h stack.

gm.model @m {
  // CHECK-LABEL: gm.net @shared
  gm.net @shared(%x: tensor<?x4x3x5xf32>, %wis: tensor<8x4x1x3xf32>, %wss: tensor<8x2x1x3xf32>, %b: tensor<8xf32>) -> (tensor<?x2x3x5xf32>, tensor<8x2x1x3xf32>) {
    // CHECK: %[[F:.*]]:6 = scf.for
    // CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[F]]#0
    // CHECK: %[[H:.*]] = gm.transpose %[[FLAT]]
    // CHECK: %[[G:.*]] = gm.tanh %[[H]]
    // CHECK-NOT: scf.for {{.*}} -> (tensor<3x?x2x1x5xf32>, tensor<3x?x2x1x5xf32>, tensor<3x?x2x1x5xf32>, tensor<3x?x2x1x5xf32>, tensor<3x?x2x1x5xf32>, tensor<3x?x2x1x5xf32>)
    // CHECK: scf.for
    // CHECK: tensor.extract_slice %[[F]]#0
    // CHECK: gm.return %[[G]]
    %h = gm.row_lstm %x, %wis, %wss, %b : (tensor<?x4x3x5xf32>, tensor<8x4x1x3xf32>, tensor<8x2x1x3xf32>, tensor<8xf32>) -> tensor<?x2x3x5xf32>
    %g = gm.tanh %h : tensor<?x2x3x5xf32>
    %d:4 = gm.row_lstm_grad %x, %wis, %wss, %b, %g : (tensor<?x4x3x5xf32>, tensor<8x4x1x3xf32>, tensor<8x2x1x3xf32>, tensor<8xf32>, tensor<?x2x3x5xf32>) -> (tensor<?x4x3x5xf32>, tensor<8x4x1x3xf32>, tensor<8x2x1x3xf32>, tensor<8xf32>)
    gm.return %g, %d#2 : tensor<?x2x3x5xf32>, tensor<8x2x1x3xf32>
  }
}
