//===- GMLayerOps.td - layers of the gm dialect ---------------*- tablegen -*-===//
//
// The layer primitives, included by GMOps.td: products, convolutions,
// normalisation, embeddings, recurrent and autoregressive layers, with
// their parameters as explicit operands, and the backward helpers autodiff
// writes for them. Same shape legend as GMOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef GM_LAYER_OPS_TD
#define GM_LAYER_OPS_TD

//===----------------------------------------------------------------------===//
// Primitives: layers (parameters are explicit operands)
//===----------------------------------------------------------------------===//

def GM_MatmulOp : GM_Op<"matmul", [Pure, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "matrix product of two rank-2 tensors";
  let description = [{
    ```mlir
    %c = gm.matmul %a, %b : (tensor<?x20xf32>, tensor<20x400xf32>) -> tensor<?x400xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$lhs, GM_F32Tensor:$rhs);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, $result)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The shape rule: (M, K) x (K, N) -> (M, N).
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(::mlir::gm::ShapeError err, ::mlir::RankedTensorType lhs, ::mlir::RankedTensorType rhs);
  }];
}

def GM_LinearOp : GM_Op<"linear", [Pure, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "affine layer y = x W^T + b";
  let description = [{
    x: (B, IN), weight: (OUT, IN), bias: (OUT), result: (B, OUT).

    ```mlir
    %h = gm.linear %x, %w, %b : (tensor<?x784xf32>, tensor<400x784xf32>, tensor<400xf32>) -> tensor<?x400xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, GM_F32Tensor:$weight,
                       Optional<GM_F32Tensor>:$bias);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, $result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The shape rule: (B, IN) x (OUT, IN) [+ (OUT)] -> (B, OUT).
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(::mlir::gm::ShapeError err, ::mlir::RankedTensorType input, ::mlir::RankedTensorType weight, ::mlir::RankedTensorType bias);
  }];
}

def GM_MaskedLinearOp : GM_Op<"masked_linear", [Pure, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? `mask` $mask attr-dict `:` functional-type(operands, $result)
  }];
  let summary = "affine layer with an autoregressive mask on its weight";
  let description = [{
    Like `gm.linear`, with weight[o, i] used only where input i may influence
    output o. Units get degrees on one scale, i / IN and o / OUT; mask `A`
    keeps i / IN < o / OUT (strict: the first layer of MADE-style models),
    mask `B` keeps i / IN <= o / OUT. So A then any number of B layers
    compose into "output o reads input i only if i < o", whatever the
    hidden widths.

    ```mlir
    %l = gm.masked_linear %x, %w, %b mask A : (tensor<?x784xf32>, tensor<784x784xf32>, tensor<784xf32>) -> tensor<?x784xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, GM_F32Tensor:$weight,
                       Optional<GM_F32Tensor>:$bias, GM_MaskKindAttr:$mask);
  let results = (outs GM_F32Tensor:$result);
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The shape rule: as gm.linear.
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(::mlir::gm::ShapeError err, ::mlir::RankedTensorType input, ::mlir::RankedTensorType weight, ::mlir::RankedTensorType bias);
  }];
}

class GM_ConvLikeOp<string mnemonic> : GM_Op<mnemonic, [Pure, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, $result)
  }];
  let hasVerifier = 1;
}

def GM_Conv2DOp : GM_ConvLikeOp<"conv2d"> {
  let summary = "2-D convolution, NCHW";
  let description = [{
    input (B, C, H, W), weight (O, C, KH, KW), bias (O) ->
    (B, O, (H + 2*pad - KH) / stride + 1, (W + 2*pad - KW) / stride + 1).

    ```mlir
    %y = gm.conv2d %x, %w, %b {padding = array<i64: 1, 1>, stride = array<i64: 2, 2>}
        : (tensor<?x1x28x28xf32>, tensor<64x1x4x4xf32>, tensor<64xf32>) -> tensor<?x64x14x14xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, GM_F32Tensor:$weight,
                       Optional<GM_F32Tensor>:$bias,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding);
  let extraClassDeclaration = [{
    /// The shape rule: (B, C, H, W) x (O, C, KH, KW) -> (B, O, (H + 2 pad - KH) / stride + 1, ...).
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(::mlir::gm::ShapeError err, ::mlir::RankedTensorType input, ::mlir::RankedTensorType weight, ::mlir::RankedTensorType bias, ::llvm::ArrayRef<int64_t> stride, ::llvm::ArrayRef<int64_t> padding);
  }];
}

def GM_Conv2DTransposeOp : GM_ConvLikeOp<"conv2d_transpose"> {
  let summary = "2-D transposed convolution, NCHW";
  let description = [{
    input (B, C, H, W), weight (C, O, KH, KW) as in PyTorch, bias (O) ->
    (B, O, (H - 1)*stride - 2*pad + KH + output_padding, ... for W).

    ```mlir
    %y = gm.conv2d_transpose %x, %w, %b {output_padding = array<i64: 0, 0>,
        padding = array<i64: 1, 1>, stride = array<i64: 2, 2>}
        : (tensor<?x128x7x7xf32>, tensor<128x64x4x4xf32>, tensor<64xf32>) -> tensor<?x64x14x14xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, GM_F32Tensor:$weight,
                       Optional<GM_F32Tensor>:$bias,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$output_padding);
  let extraClassDeclaration = [{
    /// The shape rule: (B, C, H, W) x (C, O, KH, KW) -> (B, O, (H - 1) stride - 2 pad + KH + output_padding, ...).
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(::mlir::gm::ShapeError err, ::mlir::RankedTensorType input, ::mlir::RankedTensorType weight, ::mlir::RankedTensorType bias, ::llvm::ArrayRef<int64_t> stride, ::llvm::ArrayRef<int64_t> padding, ::llvm::ArrayRef<int64_t> outputPadding);
  }];
}

def GM_MaskedConv2DOp : GM_ConvLikeOp<"masked_conv2d"> {
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? `mask` $mask attr-dict `:` functional-type(operands, $result)
  }];
  let summary = "2-D convolution with a PixelCNN causal mask, stride 1";
  let description = [{
    The kernel sees only pixels above, and to the left on the same row;
    mask `A` also hides the centre pixel (first layer), mask `B` keeps it.
    Padding keeps H and W: (KH - 1) / 2, (KW - 1) / 2.

    ```mlir
    %y = gm.masked_conv2d %x, %w, %b mask A
        : (tensor<?x1x28x28xf32>, tensor<32x1x7x7xf32>, tensor<32xf32>) -> tensor<?x32x28x28xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, GM_F32Tensor:$weight,
                       Optional<GM_F32Tensor>:$bias, GM_MaskKindAttr:$mask);
  let extraClassDeclaration = [{
    /// The shape rule: (B, C, H, W) x (O, C, KH, KW), odd kernel -> (B, O, H, W).
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(::mlir::gm::ShapeError err, ::mlir::RankedTensorType input, ::mlir::RankedTensorType weight, ::mlir::RankedTensorType bias);
  }];
}

def GM_BatchNormOp : GM_Op<"batch_norm", [Pure, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "batch normalisation over all axes but the channel axis 1";
  let description = [{
    Normalises with the batch statistics (training mode) and applies the
    per-channel affine `gamma * xhat + beta`. input (B, C, ...), gamma (C),
    beta (C); running_mean and running_var (C) are the layer's running
    statistics (gm.param {statistic}), which training mode does not read:
    a training step updates them with `momentum` (gm-update-running-stats),
    and inference functions normalise with them instead of the batch's
    (gm-inference-mode).

    ```mlir
    %y = gm.batch_norm %x, %g, %b, %mean, %var {eps = 1.0e-05 : f64, momentum = 1.0e-01 : f64}
        : (tensor<?x64x14x14xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>,
           tensor<64xf32>) -> tensor<?x64x14x14xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, GM_F32Tensor:$gamma,
                       GM_F32Tensor:$beta, GM_F32Tensor:$running_mean,
                       GM_F32Tensor:$running_var, F64Attr:$eps, F64Attr:$momentum);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$input `,` $gamma `,` $beta `,` $running_mean `,` $running_var attr-dict `:` functional-type(operands, $result)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The shape rule: the input's type, gamma and beta (C).
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(::mlir::gm::ShapeError err, ::mlir::RankedTensorType input, ::mlir::RankedTensorType gamma, ::mlir::RankedTensorType beta);
  }];
}

def GM_EmbeddingOp : GM_Op<"embedding", [Pure, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "look up rows of a table by token id";
  let description = [{
    ids (B, T) i32, table (V, E) -> (B, T, E).

    ```mlir
    %e = gm.embedding %ids, %table : (tensor<?x8xi32>, tensor<32x16xf32>) -> tensor<?x8x16xf32>
    ```
  }];
  let arguments = (ins GM_TokenTensor:$ids, GM_F32Tensor:$table);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$ids `,` $table attr-dict `:` functional-type(operands, $result)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The shape rule: (B, T) ids x (V, E) table -> (B, T, E).
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(::mlir::gm::ShapeError err, ::mlir::RankedTensorType ids, ::mlir::RankedTensorType table);
  }];
}

def GM_OneHotOp : GM_Op<"one_hot", [Pure]> {
  let summary = "one-hot rows of token ids";
  let description = [{
    ids (B, T) i32 -> (B, T, V) f32 with V = `classes`: 1 at the id, 0
    elsewhere (a row of zeros for an id outside [0, V)). The core op that
    embedding lookups and their gradients decompose into (gm-decompose).

    ```mlir
    %h = gm.one_hot %ids {classes = 32 : i64} : tensor<?x8xi32> -> tensor<?x8x32xf32>
    ```
  }];
  let arguments = (ins GM_TokenTensor:$ids, ConfinedAttr<I64Attr, [IntPositive]>:$classes);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$ids attr-dict `:` type($ids) `->` type($result)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The shape rule: (B, ...) ids -> (B, ..., classes).
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(::mlir::gm::ShapeError err, ::mlir::RankedTensorType ids, int64_t classes);
  }];
}

def GM_LSTMCellOp : GM_Op<"lstm_cell", [Pure, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "one step of an LSTM";
  let description = [{
    x (B, I), h (B, H), c (B, H), w_ih (4H, I), w_hh (4H, H), bias (4H);
    gates in PyTorch order i, f, g, o. Returns the new (h, c).

    ```mlir
    %h1, %c1 = gm.lstm_cell %x, %h, %c, %wi, %wh, %b
        : (tensor<?x16xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<256x16xf32>,
           tensor<256x64xf32>, tensor<256xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>)
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, GM_F32Tensor:$h, GM_F32Tensor:$c,
                       GM_F32Tensor:$w_ih, GM_F32Tensor:$w_hh, GM_F32Tensor:$bias);
  let results = (outs GM_F32Tensor:$h_next, GM_F32Tensor:$c_next);
  let assemblyFormat = [{
    $input `,` $h `,` $c `,` $w_ih `,` $w_hh `,` $bias attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The shape rule: both results have the type of h, (B, H).
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(::mlir::gm::ShapeError err, ::mlir::RankedTensorType input, ::mlir::RankedTensorType h, ::mlir::RankedTensorType c, ::mlir::RankedTensorType wIh, ::mlir::RankedTensorType wHh, ::mlir::RankedTensorType bias);
  }];
}

def GM_RowLSTMOp : GM_Op<"row_lstm", [Pure, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "PixelRNN Row LSTM over NCHW images";
  let description = [{
    Processes the image row by row. For row r, the gates are the masked
    (causal, mask B) 1 x K input-to-state convolution of row r plus the
    1 x K state-to-state convolution of the hidden state of row r - 1.
    input (B, C, R, W), w_is (4H, C, 1, K), w_ss (4H, H, 1, K), bias (4H)
    -> hidden states (B, H, R, W).

    ```mlir
    %h = gm.row_lstm %x, %wis, %wss, %b
        : (tensor<?x16x28x28xf32>, tensor<128x16x1x3xf32>, tensor<128x32x1x3xf32>, tensor<128xf32>)
        -> tensor<?x32x28x28xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, GM_F32Tensor:$w_is,
                       GM_F32Tensor:$w_ss, GM_F32Tensor:$bias);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $w_is `,` $w_ss `,` $bias attr-dict `:` functional-type(operands, $result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The shape rule: (B, C, R, W) -> (B, H, R, W) with w_is (4H, C, 1, K).
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(::mlir::gm::ShapeError err, ::mlir::RankedTensorType input, ::mlir::RankedTensorType wIs, ::mlir::RankedTensorType wSs, ::mlir::RankedTensorType bias);
  }];
}

def GM_NadeOp : GM_Op<"nade", [Pure, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "NADE conditionals: logits of p(x_d = 1 | x_<d)";
  let description = [{
    h_d = sigmoid(c + W[:, <d] x_<d), logit_d = b_d + V[d, :] h_d, for every d,
    with the weight sharing of Larochelle and Murray (2011).
    x (B, D), W (H, D), c (H), V (D, H), b (D) -> logits (B, D).

    ```mlir
    %l = gm.nade %x, %W, %c, %V, %b : (tensor<?x784xf32>, tensor<500x784xf32>,
        tensor<500xf32>, tensor<784x500xf32>, tensor<784xf32>) -> tensor<?x784xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, GM_F32Tensor:$w, GM_F32Tensor:$c,
                       GM_F32Tensor:$v, GM_F32Tensor:$b);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $w `,` $c `,` $v `,` $b attr-dict `:` functional-type(operands, $result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The shape rule: (B, D) -> (B, D) logits.
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(::mlir::gm::ShapeError err, ::mlir::RankedTensorType input, ::mlir::RankedTensorType w, ::mlir::RankedTensorType c, ::mlir::RankedTensorType v, ::mlir::RankedTensorType b);
  }];
}

def GM_Conv2DWeightGradOp : GM_Op<"conv2d_weight_grad", [Pure]> {
  let summary = "the gradient of a convolution with respect to its weight";
  let description = [{
    For y = conv2d(x, w) with `stride` and `padding` and the adjoint g of y:
    dw[o, c, i, j] = sum over (b, h, w) of g[b, o, h, w] *
    x[b, c, h * stride - padding + i, w * stride - padding + j]. With x and g
    swapped it is also the weight gradient of a transposed convolution.
    input (B, C, H, W), grad (B, O, H', W') -> (O, C, KH, KW).

    ```mlir
    %dw = gm.conv2d_weight_grad %x, %g {padding = array<i64: 1, 1>, stride = array<i64: 2, 2>}
        : (tensor<?x1x28x28xf32>, tensor<?x64x14x14xf32>) -> tensor<64x1x4x4xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, GM_F32Tensor:$grad,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$input `,` $grad attr-dict `:` functional-type(operands, $result)";
  let hasVerifier = 1;
}

def GM_EmbeddingGradOp : GM_Op<"embedding_grad", [Pure]> {
  let summary = "the gradient of an embedding table: adjoints added by id";
  let description = [{
    d_table[v] = sum of grad[b, t] over the (b, t) whose id is v.
    ids (B, T), grad (B, T, E) -> (V, E).

    ```mlir
    %dt = gm.embedding_grad %ids, %g : (tensor<?x6xi32>, tensor<?x6x32xf32>) -> tensor<32x32xf32>
    ```
  }];
  let arguments = (ins GM_TokenTensor:$ids, GM_F32Tensor:$grad);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$ids `,` $grad attr-dict `:` functional-type(operands, $result)";
  let hasVerifier = 1;
}

def GM_NadeGradOp : GM_Op<"nade_grad", [Pure]> {
  let summary = "the gradient of gm.nade with respect to all its operands";
  let description = [{
    Given the operands of a gm.nade and the adjoint of its logits, returns
    the adjoints of x, W, c, V and b (in that order), by the reverse of NADE's
    running sum: with s_d the sum of the hidden adjoints of the conditionals
    after d, dW[:, d] = s_d x_d and dx_d = W[:, d] . s_d.

    ```mlir
    %dx, %dW, %dc, %dV, %db = gm.nade_grad %x, %W, %c, %V, %b, %g : ...
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, GM_F32Tensor:$w, GM_F32Tensor:$c,
                       GM_F32Tensor:$v, GM_F32Tensor:$b, GM_F32Tensor:$grad);
  let results = (outs GM_F32Tensor:$d_input, GM_F32Tensor:$d_w, GM_F32Tensor:$d_c,
                      GM_F32Tensor:$d_v, GM_F32Tensor:$d_b);
  let assemblyFormat = [{
    $input `,` $w `,` $c `,` $v `,` $b `,` $grad attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def GM_RowLSTMGradOp : GM_Op<"row_lstm_grad", [Pure]> {
  let summary = "the gradient of gm.row_lstm with respect to all its operands";
  let description = [{
    Given the operands of a gm.row_lstm and the adjoint of its hidden states,
    returns the adjoints of the input, w_is, w_ss and bias: back-propagation
    through the rows, from the last row to the first, through the cell state
    and through the state-to-state convolution of the previous row.

    ```mlir
    %dx, %dwis, %dwss, %db = gm.row_lstm_grad %x, %wis, %wss, %b, %g : ...
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, GM_F32Tensor:$w_is,
                       GM_F32Tensor:$w_ss, GM_F32Tensor:$bias, GM_F32Tensor:$grad);
  let results = (outs GM_F32Tensor:$d_input, GM_F32Tensor:$d_w_is,
                      GM_F32Tensor:$d_w_ss, GM_F32Tensor:$d_bias);
  let assemblyFormat = [{
    $input `,` $w_is `,` $w_ss `,` $bias `,` $grad attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def GM_GradOp : GM_Op<"grad", [Pure, AllTypesMatch<["wrt", "result"]>]> {
  let summary = "the gradient of sum(of) with respect to an input of it";
  let description = [{
    d sum(of) / d wrt, of wrt's type: per example when the examples do not
    interact (the critic's input gradient in a gradient penalty).
    gm-expand-input-grads writes it as the reverse sweep that computes it,
    so that the loss holding it can be differentiated again; no other pass
    or the evaluator sees it.

    ```mlir
    %g = gm.grad %score, %xhat : tensor<?x1xf32>, tensor<?x784xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$of, GM_F32Tensor:$wrt);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$of `,` $wrt attr-dict `:` type($of) `,` type($wrt)";
}

def GM_ReconLossOp : GM_Op<"recon_loss", [Pure,
    AllTypesMatch<["prediction", "target"]>, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "per-example reconstruction loss";
  let description = [{
    Sums over all but the batch axis: `mse` (squared error), `l1` (absolute
    error), `bce_logits` (binary cross-entropy of logits against targets in
    [0, 1]), `softmax_xent` (cross-entropy of logits against one-hot or soft
    targets over the last axis). Cycle-consistency terms are `l1` losses.

    ```mlir
    %l = gm.recon_loss l1 %xhat, %x : tensor<?x1x28x28xf32> -> tensor<?xf32>
    ```
  }];
  let arguments = (ins GM_LossKindAttr:$kind, GM_F32Tensor:$prediction,
                       GM_F32Tensor:$target);
  let results = (outs GM_PerExample:$result);
  let assemblyFormat = [{
    $kind $prediction `,` $target attr-dict `:` type($prediction) `->` type($result)
  }];
}

#endif // GM_LAYER_OPS_TD
