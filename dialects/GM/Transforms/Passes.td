//===- Passes.td - gm dialect passes -----------------------*- tablegen -*-===//

#ifndef GM_PASSES_TD
#define GM_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Training
//===----------------------------------------------------------------------===//

def GMAutodiffPass : Pass<"gm-autodiff", "::mlir::ModuleOp"> {
  let summary = "derive the gradient of every loss by reverse-mode autodiff";
  let description = [{
    For every `gm.func` with role `loss` (written by gm-build-losses and
    expanded by gm-expand-objectives) writes one with role `gradient`,
    `@<step>.grad.<player>`, returning the loss and its gradient with
    respect to each parameter of the player's groups, in the order of its
    `params` attribute. Net calls
    are inlined first; the reverse sweep asks each op for its
    vector-Jacobian product (DifferentiableOpInterface) and adds adjoints at
    fan-out. Only values that depend on the player's parameters are
    differentiated, so a discriminator step treats generated samples as
    constants. A sample drawn with `none` is a constant; an op with no
    gradient rule on the path to a parameter is an error at its location.

    ```mlir
    // before                                      // after: also
    gm.func @train.loss.all(%x, %key) -> f32         gm.func @train.grad.all(%x, %key)
                                                         -> (tensor<f32>, tensor<3x4xf32>, ...)
    ```
  }];
}

def GMBuildTrainStepsPass : Pass<"gm-build-train-steps", "::mlir::ModuleOp"> {
  let summary = "one optimizer step per gradient: Adam or SGD over a group";
  let description = [{
    For every `gm.func` with role `gradient` writes one with role `train`,
    `@<step>.train.<player>(data..., hparams..., key) -> loss`, that
    calls the gradient and applies `gm.adam_update` or `gm.sgd_update` to
    each parameter, keeping the optimizer's state in zero-initialised slots
    (`gm.param ... {slot_of = @p}`), one set per player, and writing back with
    `gm.assign`. Hyper-parameters are runtime arguments, named by the
    `optimizer` attribute it carries, whose values are the .gm defaults.
  }];
}

def GMUpdateRunningStatsPass : Pass<"gm-update-running-stats", "::mlir::ModuleOp"> {
  let summary = "training steps move the running statistics of their batch norms";
  let description = [{
    After gm-build-train-steps. For every `gm.batch_norm` in a gradient
    function whose gamma its player trains, the batch's per-channel mean and
    unbiased variance move the layer's running statistics (`gm.param
    {statistic}`) by `momentum`, as PyTorch's training mode does; once per
    application, in program order. The gradient function returns the new
    values after its gradients (`running_stats` names them) and the training
    step writes them with `gm.assign`.
  }];
}

def GMInferenceModePass : Pass<"gm-inference-mode", "::mlir::ModuleOp"> {
  let summary = "inference functions normalise with the running statistics";
  let description = [{
    In every `gm.func` that does not train (roles other than loss, gradient
    and train), each `gm.batch_norm`, in the function or in a net it calls
    (through an inference copy `@<net>.inference` of that net), becomes
    `x * scale + (beta - running_mean * scale)` with `scale = gamma /
    sqrt(running_var + eps)`, per channel: PyTorch's eval mode. The nets
    keep training mode for the losses.
  }];
}

def GMBuildLossesPass : Pass<"gm-build-losses", "::mlir::ModuleOp"> {
  let summary = "one loss to minimise per training step and player";
  let description = [{
    `gm.step ... maximize @o` gives `@<step>.loss.all` = -o (minimize: o).
    `gm.minimax` gives `@<name>.loss.discriminator` = -value + disc_extra and
    `@<name>.loss.generator` = the generator's form of the value + gen_extra,
    where each `gm.adversarial(real, fake)` becomes mean log(1 - D(fake))
    (saturating) or -mean log D(fake) (non-saturating). Each loss takes the
    union of its objectives' data inputs and the key, and has role `loss`
    with its step, player and groups as attributes. Every objective is also
    written on its own as an `eval` entry point.
  }];
}

def GMExpandObjectivesPass : Pass<"gm-expand-objectives", "::mlir::ModuleOp"> {
  let summary = "write densities, divergences and reparameterised samples as arithmetic";
  let description = [{
    In every gm.func loss: `gm.elbo` becomes ll - beta * kl; `gm.kl` the
    closed form for normal/normal, bernoulli/bernoulli and
    categorical/categorical, log q(z) - log p(z) at its sample otherwise;
    `gm.log_prob` of normal, bernoulli, categorical and uniform the
    per-example sum of its log-density; `gm.mutual_info` log q(c) - log p(c);
    `gm.adversarial` mean log sigmoid(real) + mean log sigmoid(-fake); and a
    reparameterised `gm.sample` z = mu + sigma * eps (normal) or
    low + (high - low) * u (uniform), the noise drawn with the same key and
    stream, so the samples are unchanged. In a loss, `gm.iwae` is unrolled
    into its k draws first. After it, autodiff needs gradient rules for
    primitives only.
  }];
}

def GMExpandInputGradsPass : Pass<"gm-expand-input-grads", "::mlir::ModuleOp"> {
  let summary = "write each gm.grad as the reverse sweep that computes it";
  let description = [{
    In every gm.func: the calls are inlined, then each `gm.grad %of, %wrt`
    (d sum(of) / d wrt) becomes the vector-Jacobian products of the ops
    between wrt and of, seeded with ones: the code autodiff would write,
    placed in the function, so that gm-autodiff differentiates it in turn (a
    gradient penalty's gradient is a second derivative).
  }];
}

//===----------------------------------------------------------------------===//
// Lowering preparation
//===----------------------------------------------------------------------===//

def GMDecomposePass : Pass<"gm-decompose", "::mlir::ModuleOp"> {
  let summary = "rewrite composite ops into the core that code generation lowers";
  let description = [{
    Above this pass composite ops are first-class: they have gradient rules
    and the reference evaluator runs them directly. Below it only the core
    ops remain (docs/dialect.md lists them), each with one lowering pattern
    per target. Every rewrite is an identity, stated at its pattern:

    - `masked_linear(x, W, b, M)` = `linear(x, W * M, b)`;
    - `masked_conv2d(x, W, b, M)` = `conv2d(x, W * M, b)`, stride 1, "same"
      padding;
    - `lstm_cell` = two `linear`s, four gate slices, sigmoid/tanh and the
      cell update;
    - `row_lstm` = a mask-B 1xK `conv2d` of the input, then per row a 1xK
      `conv2d` of the previous row's states, the gates and the cell, the
      rows after the first an `scf.for` over row stacks (`tensor` slices);
      `row_lstm_grad` = those rows again and back-propagation through them
      (`conv2d_weight_grad`, `conv2d_transpose`), again a loop;
    - `embedding(ids, E)` = the sum over v of `one_hot(ids)[.., v] E[v]`,
      and `embedding_grad` its transpose;
    - `recon_loss` = its elementwise error summed per example;
    - `fade(lo, hi, a)` = `lo + a (hi - lo)`;
    - `stop_gradient(x)` = `x` (gradients are already built).

    `nade` and its gradient stay whole: they become fused loops of their
    own (GMToLinalg/Autoregressive.cpp).
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect"];
}

#endif // GM_PASSES_TD
