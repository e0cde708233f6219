//===- GMOps.td - gm dialect operations --------------------*- tablegen -*-===//
//
// Operations of the gm dialect, in five groups: structure (model, data,
// parameters, groups, nets, objectives), primitives (tensor computations with
// parameters passed in explicitly), stochastic nodes (distributions and
// samples), densities and divergences (log_prob, kl, elbo, iwae, the
// adversarial value, mutual information) and training (step, minimax,
// progressive schedule). The layers are in GMLayerOps.td and the stochastic
// nodes with the densities in GMStochasticOps.td, both included here: one
// op set, one generated GMOps.h.inc.
//
// Shape legend used below: B = batch (always the dynamic leading dim), D =
// features, H = hidden units, C = channels, K = components or classes.
//
//===----------------------------------------------------------------------===//

#ifndef GM_OPS_TD
#define GM_OPS_TD

include "dialects/GM/IR/GMBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/FunctionInterfaces.td"
include "mlir/Interfaces/CallInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "dialects/GM/IR/GMInterfaces.td"

//===----------------------------------------------------------------------===//
// Structure
//===----------------------------------------------------------------------===//

def GM_ModelOp : GM_Op<"model", [IsolatedFromAbove, NoTerminator, SingleBlock,
    SymbolTable, Symbol, NoRegionArguments]> {
  let summary = "a generative model: the declarations of one .gm file";
  let description = [{
    Holds the data inputs, parameters, groups, nets, objectives and training
    blocks of one model. Symbols inside are unique within the model.

    ```mlir
    gm.model @vae {
      gm.data @x : tensor<?x784xf32> real
      gm.param @decoder.linear0.weight : tensor<400x20xf32> init glorot_uniform
      ...
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$sym_name attr-dict-with-keyword $body";
  let extraClassDeclaration = [{
    ::mlir::Block &getBlock() { return getBody().front(); }
  }];
  let skipDefaultBuilders = 1;
  let builders = [OpBuilder<(ins "::llvm::StringRef":$name)>];
}

def GM_DataOp : GM_Op<"data", [Symbol, HasParent<"ModelOp">]> {
  let summary = "a data input of the model";
  let description = [{
    Declares one input that the runtime feeds per batch. `real` inputs are f32
    (pixel intensities in [0, 1]); `label` inputs arrive as one-hot f32
    vectors over `classes`; `tokens` inputs are i32 ids below `classes` (the
    vocabulary size). `source` names where the runtime reads it from.

    ```mlir
    gm.data @x : tensor<?x1x28x28xf32> real {source = "fashion-mnist:images"}
    gm.data @y : tensor<?x10xf32> label {classes = 10 : i64}
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<GM_AnyTensor>:$type,
                       GM_DataKindAttr:$kind,
                       OptionalAttr<I64Attr>:$classes,
                       OptionalAttr<StrAttr>:$source);
  let assemblyFormat = "$sym_name `:` $type $kind attr-dict";
  let hasVerifier = 1;
}

def GM_ParamOp : GM_Op<"param", [Symbol, HasParent<"ModelOp">]> {
  let summary = "a trainable parameter tensor";
  let description = [{
    A named parameter with a static shape and an initialiser. Names follow
    the `.gm` source: `<net>.<layer>.<weight|bias|...>`. Linear weights are
    laid out `[out, in]` and convolution weights `[out, in, kh, kw]`, as in
    PyTorch. `scale` is the standard deviation (normal) or half-width
    (uniform) of the initialiser where the kind takes one.

    ```mlir
    gm.param @encoder.linear0.weight : tensor<400x784xf32> init glorot_uniform
    gm.param @G.conv0.weight : tensor<64x1x4x4xf32> init normal {scale = 2.0e-02 : f64}
    ```

    Optimizer state (Adam's moments, SGD's momentum buffer) is held in
    zero-initialised params that name the parameter they serve in `slot_of`;
    no group contains them.

    A `statistic` (a batch norm's running mean and variance) is not
    trained either: no group contains it; a training step writes it
    (gm-update-running-stats) and inference functions read it
    (gm-inference-mode).

    ```mlir
    gm.param @G.batch_norm0.running_var : tensor<64xf32> init ones {statistic}
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<GM_F32Tensor>:$type,
                       GM_InitKindAttr:$init,
                       OptionalAttr<F64Attr>:$scale,
                       OptionalAttr<FlatSymbolRefAttr>:$slot_of,
                       UnitAttr:$statistic);
  let assemblyFormat = "$sym_name `:` $type `init` $init attr-dict";
  let hasVerifier = 1;
}

def GM_GroupOp : GM_Op<"group", [Symbol, HasParent<"ModelOp">,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "a named set of parameters trained together";
  let description = [{
    A parameter group: each training step updates exactly the parameters of
    its groups, with its own optimizer state.

    ```mlir
    gm.group @G = [@G.linear0.weight, @G.linear0.bias]
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, SymbolRefArrayAttr:$params);
  let assemblyFormat = "$sym_name `=` $params attr-dict";
}

class GM_FunctionLikeOp<string mnemonic, list<Trait> traits = [],
                        dag protocol = (ins)>
    : GM_Op<mnemonic, !listconcat(traits, [FunctionOpInterface,
        IsolatedFromAbove, HasParent<"ModelOp">])> {
  // The function, then what the passes that write and read it agree on
  // (|protocol|): checked by the op's verifier, never parsed from names.
  let arguments = !con((ins SymbolNameAttr:$sym_name,
                            TypeAttrOf<FunctionType>:$function_type,
                            OptionalAttr<DictArrayAttr>:$arg_attrs,
                            OptionalAttr<DictArrayAttr>:$res_attrs), protocol);
  let regions = (region AnyRegion:$body);
  let extraClassDeclaration = [{
    ::llvm::ArrayRef<::mlir::Type> getArgumentTypes() {
      return getFunctionType().getInputs();
    }
    ::llvm::ArrayRef<::mlir::Type> getResultTypes() {
      return getFunctionType().getResults();
    }
    ::mlir::Region *getCallableRegion() { return &getBody(); }
  }];
  let hasCustomAssemblyFormat = 1;
  let skipDefaultBuilders = 1;
  let builders = [OpBuilder<(ins "::llvm::StringRef":$name,
                                 "::mlir::FunctionType":$type)>];
  let hasVerifier = 1;
  // One implementation for every function-like op (GMOps.cpp).
  let extraClassDefinition = [{
    void $cppClass::build(::mlir::OpBuilder &builder,
                          ::mlir::OperationState &state, ::llvm::StringRef name,
                          ::mlir::FunctionType type) {
      buildFunctionLike<$cppClass>(builder, state, name, type);
    }
    ::mlir::ParseResult $cppClass::parse(::mlir::OpAsmParser &parser,
                                         ::mlir::OperationState &result) {
      return parseFunctionLike<$cppClass>(parser, result);
    }
    void $cppClass::print(::mlir::OpAsmPrinter &p) {
      printFunctionLike(p, *this);
    }
  }];
}

def GM_NetOp : GM_FunctionLikeOp<"net"> {
  let summary = "a network: a pure function of its inputs and parameters";
  let description = [{
    A reusable network. Its parameters are read with `gm.param_ref`, so every
    call of the net shares them. Inputs and results carry the batch as their
    leading dimension.

    ```mlir
    gm.net @decoder(%z: tensor<?x20xf32>) -> tensor<?x784xf32> {
      %w = gm.param_ref @decoder.linear0.weight : tensor<784x20xf32>
      %y = gm.linear %z, %w : (tensor<?x20xf32>, tensor<784x20xf32>) -> tensor<?x784xf32>
      gm.return %y : tensor<?x784xf32>
    }
    ```
  }];
}

def GM_ObjectiveOp : GM_FunctionLikeOp<"objective", [],
    (ins SymbolRefArrayAttr:$inputs)> {
  let summary = "a scalar training or evaluation objective";
  let description = [{
    A function from a batch of data (one argument per `gm.data` named in
    `inputs`, in order) and a random key to a scalar, the batch mean of a
    per-example quantity. Whether it is maximised or minimised is said by the
    `gm.step` or `gm.minimax` that uses it.

    ```mlir
    gm.objective @recon(%x: tensor<?x784xf32>, %key: !gm.key) -> tensor<f32>
        attributes {inputs = [@x]} {
      ...
      gm.return %m : tensor<f32>
    }
    ```
  }];
}

def GM_FuncOp : GM_FunctionLikeOp<"func", [],
    (ins GM_FuncRoleAttr:$role, SymbolRefArrayAttr:$inputs,
         OptionalAttr<FlatSymbolRefAttr>:$step, OptionalAttr<GM_PlayerAttr>:$player,
         OptionalAttr<SymbolRefArrayAttr>:$groups, OptionalAttr<SymbolRefArrayAttr>:$params,
         OptionalAttr<FlatSymbolRefAttr>:$loss, OptionalAttr<GM_OptimizerAttr>:$optimizer,
         OptionalAttr<GM_BoundAttr>:$bound, OptionalAttr<StrAttr>:$latent,
         UnitAttr:$standard_prior, OptionalAttr<SymbolRefArrayAttr>:$running_stats,
         OptionalAttr<DictionaryAttr>:$codes)> {
  let summary = "a function the compiler derived: a loss, a gradient, an entry point";
  let description = [{
    Written by the passes and by MLIRGen's entry points, never by hand in a
    .gm file. Its `role` says what it is, and the other attributes are the
    protocol between the passes, checked by the verifier:

    | role | arguments | results | also |
    |---|---|---|---|
    | `loss` | data (`inputs`), key | tensor<f32> | `step`, `player`, `groups` |
    | `gradient` | data, key | loss, one gradient per `params`, then one new value per `running_stats` | `step`, `player`, `groups`, `loss` |
    | `train` | data, the optimizer's run-time scalars, key | loss | `step`, `player`, `params`, `optimizer` |
    | `eval` | data, key | tensor<f32> | `bound` when it is an ELBO or IWAE bound, or the exact log p(x) |
    | `score` | data, key | tensor<?xf32>, one value per example | `bound`, always |
    | `sample` | uniforms of the data's shape, key | an exact sample of the data | |
    | `encode` | data, key | the posterior mean of `latent` | |
    | `decode`, `generate` | data conditions, a value of `latent`, then one of each of `codes`, key | a mean image | `standard_prior` |
    | `translate` | data of one domain, then one of each of `codes`, key | its image in another domain | |

    A `generate` or `translate` entry's `codes` are the other latents its
    generator reads whose priors a host can draw, by name (their arguments
    follow in that order): `"standard_normal"` or `"uniform_categorical"`
    (one-hot). A host sets them to choose what is generated (InfoGAN's
    category, StarGAN's target domain); a generator's data conditions are
    labels or captions (text-to-image).

    `loss`, `gradient` and `train` functions of one player of one training
    block are named `@<step>.loss.<player>`, `.grad.`, `.train.` for the
    reader; no pass reads a name.

    ```mlir
    gm.func @train.grad.all(%x: tensor<?x4xf32>, %key: !gm.key) -> (tensor<f32>, tensor<3x4xf32>)
        attributes {role = #gm.role<gradient>, inputs = [@x], step = @train,
                    player = #gm.player<all>, groups = [@g], params = [@f.w],
                    loss = @train.loss.all} {
      ...
      gm.return %loss, %dw : tensor<f32>, tensor<3x4xf32>
    }
    ```
  }];
  let extraClassDeclaration = [{
    ::llvm::ArrayRef<::mlir::Type> getArgumentTypes() {
      return getFunctionType().getInputs();
    }
    ::llvm::ArrayRef<::mlir::Type> getResultTypes() {
      return getFunctionType().getResults();
    }
    ::mlir::Region *getCallableRegion() { return &getBody(); }
    /// An entry point of the artifact (train, eval, score, encode, decode,
    /// generate).
    bool isEntry() {
      return getRole() != FuncRole::loss && getRole() != FuncRole::gradient;
    }
    /// The names of the run-time scalars a training step takes after its
    /// data (empty for other roles).
    ::llvm::ArrayRef<::llvm::StringRef> getRuntimeArgNames() {
      return getOptimizer() ? getOptimizer()->getRuntimeArgs()
                            : ::llvm::ArrayRef<::llvm::StringRef>();
    }
  }];
}

def GM_ReturnOp : GM_Op<"return", [Pure, Terminator,
    ParentOneOf<["NetOp", "ObjectiveOp", "FuncOp"]>, ReturnLike]> {
  let summary = "returns the results of a net or objective";
  let description = [{
    ```mlir
    gm.return %mu, %logvar : tensor<?x20xf32>, tensor<?x20xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$operands);
  let assemblyFormat = "attr-dict ($operands^ `:` type($operands))?";
  let hasVerifier = 1;
}

def GM_CallOp : GM_Op<"call", [DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "calls a net (or, in derived code, a gm.func)";
  let description = [{
    ```mlir
    %mu, %lv = gm.call @encoder(%x) : (tensor<?x784xf32>) -> (tensor<?x20xf32>, tensor<?x20xf32>)
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$callee, Variadic<AnyType>:$operands);
  let results = (outs Variadic<AnyType>:$results);
  let assemblyFormat =
      "$callee `(` $operands `)` attr-dict `:` functional-type($operands, $results)";
}

def GM_ParamRefOp : GM_Op<"param_ref", [Pure,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "reads a parameter of the enclosing model";
  let description = [{
    ```mlir
    %w = gm.param_ref @encoder.linear0.weight : tensor<400x784xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$name);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Training
//===----------------------------------------------------------------------===//

def GM_AssignOp : GM_Op<"assign", [DeclareOpInterfaceMethods<SymbolUserOpInterface>,
    MemoryEffects<[MemWrite]>]> {
  let summary = "writes a new value into a parameter or optimizer slot";
  let description = [{
    The one op with a side effect: a training step ends with one gm.assign
    per parameter and slot it updates, after every read.

    ```mlir
    gm.assign @w, %new : tensor<3x4xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$name, GM_F32Tensor:$value);
  let assemblyFormat = "$name `,` $value attr-dict `:` type($value)";
}

def GM_AdamUpdateOp : GM_Op<"adam_update", [Pure,
    AllTypesMatch<["param", "grad", "m", "v", "new_param", "new_m", "new_v"]>]> {
  let summary = "one Adam step with bias correction, elementwise";
  let description = [{
    m' = b1 m + (1 - b1) g; v' = b2 v + (1 - b2) g^2;
    p' = p - lr (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps),
    with the step count t (from 1) and the hyper-parameters as runtime
    scalars, so changing them never recompiles.

    ```mlir
    %p1, %m1, %v1 = gm.adam_update %p, %g, %m, %v, %t, %lr, %b1, %b2, %eps : tensor<400x784xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$param, GM_F32Tensor:$grad, GM_F32Tensor:$m,
                       GM_F32Tensor:$v, GM_Scalar:$t, GM_Scalar:$lr,
                       GM_Scalar:$beta1, GM_Scalar:$beta2, GM_Scalar:$eps);
  let results = (outs GM_F32Tensor:$new_param, GM_F32Tensor:$new_m,
                      GM_F32Tensor:$new_v);
  let assemblyFormat = [{
    $param `,` $grad `,` $m `,` $v `,` $t `,` $lr `,` $beta1 `,` $beta2 `,` $eps
    attr-dict `:` type($param)
  }];
}

def GM_SgdUpdateOp : GM_Op<"sgd_update", [Pure,
    AllTypesMatch<["param", "grad", "buf", "new_param", "new_buf"]>]> {
  let summary = "one SGD step with momentum, elementwise";
  let description = [{
    buf' = momentum buf + g; p' = p - lr buf' (PyTorch's form).

    ```mlir
    %p1, %b1 = gm.sgd_update %p, %g, %buf, %lr, %mom : tensor<3xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$param, GM_F32Tensor:$grad, GM_F32Tensor:$buf,
                       GM_Scalar:$lr, GM_Scalar:$momentum);
  let results = (outs GM_F32Tensor:$new_param, GM_F32Tensor:$new_buf);
  let assemblyFormat = [{
    $param `,` $grad `,` $buf `,` $lr `,` $momentum attr-dict `:` type($param)
  }];
}

def GM_StepOp : GM_Op<"step", [Symbol, HasParent<"ModelOp">,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "one optimizer step on an objective over parameter groups";
  let description = [{
    Maximises or minimises `objective` with respect to the parameters of
    `groups`, with `optimizer`. Several steps in one model run in order, once
    per batch (an autoencoder's reconstruction step, then an AAE's minimax).

    ```mlir
    gm.step @train maximize @elbo over [@encoder, @decoder]
        using #gm.optimizer<adam, {beta1 = 9.0e-01 : f64, beta2 = 9.99e-01 : f64,
                                   eps = 1.0e-08 : f64, lr = 1.0e-03 : f64}> {batch = 128 : i64}
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, GM_DirectionAttr:$direction,
                       FlatSymbolRefAttr:$objective, SymbolRefArrayAttr:$groups,
                       GM_OptimizerAttr:$optimizer, OptionalAttr<I64Attr>:$batch);
  let assemblyFormat = [{
    $sym_name $direction $objective `over` $groups `using` $optimizer attr-dict
  }];
}

def GM_MinimaxOp : GM_Op<"minimax", [Symbol, HasParent<"ModelOp">,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "an adversarial game between two parameter sets";
  let description = [{
    With a `value` objective, a zero-sum game: the discriminator groups
    maximise it; the generator groups play against it, minimising it, with
    its `gm.adversarial` terms in the `gen_loss` form: `saturating`
    minimises log(1 - D(G(z))), `non_saturating` maximises log D(G(z)). A
    value with no `gm.adversarial` term is played as written (a Wasserstein
    critic's mean(C(x)) - mean(C(G(z)))). `disc_extra` and `gen_extra` are
    objectives added to the respective player's loss (to be minimised):
    cycle consistency, classification, mutual information. Without a
    value, they are each player's whole loss, and both are required
    (least-squares and hinge GANs). `k` discriminator steps run per
    generator step. The two players' groups must not share a parameter.

    ```mlir
    gm.minimax @gan value @gan.value
        discriminator [@D] using #gm.optimizer<adam, {...}>
        generator [@G] using #gm.optimizer<adam, {...}> loss non_saturating
        {k = 1 : i64}
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, OptionalAttr<FlatSymbolRefAttr>:$value,
                       SymbolRefArrayAttr:$disc_groups, GM_OptimizerAttr:$disc_optimizer,
                       SymbolRefArrayAttr:$gen_groups, GM_OptimizerAttr:$gen_optimizer,
                       GM_GenLossAttr:$gen_loss,
                       ConfinedAttr<I64Attr, [IntPositive]>:$k,
                       OptionalAttr<FlatSymbolRefAttr>:$disc_extra,
                       OptionalAttr<FlatSymbolRefAttr>:$gen_extra,
                       OptionalAttr<I64Attr>:$batch);
  let assemblyFormat = [{
    $sym_name (`value` $value^)?
    `discriminator` $disc_groups `using` $disc_optimizer
    `generator` $gen_groups `using` $gen_optimizer `loss` $gen_loss attr-dict
  }];
}

def GM_ProgressiveOp : GM_Op<"progressive", [Symbol, HasParent<"ModelOp">]> {
  let summary = "a resolution schedule for progressive growing";
  let description = [{
    Training runs through `resolutions` in order, `epochs_per_stage` epochs
    each; during the first `fade_fraction` of a stage the new layers are
    blended in, their weight `alpha` rising linearly from 0 to 1 (read with
    `gm.schedule_alpha`). Data are average-pooled to the stage's resolution.

    ```mlir
    gm.progressive @grow resolutions [7, 14, 28]
        {epochs_per_stage = 4 : i64, fade_fraction = 5.0e-01 : f64}
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, DenseI64ArrayAttr:$resolutions,
                       I64Attr:$epochs_per_stage, F64Attr:$fade_fraction);
  let assemblyFormat = "$sym_name `resolutions` $resolutions attr-dict";
  let hasVerifier = 1;
}

def GM_ScheduleAlphaOp : GM_Op<"schedule_alpha", [Pure,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "the current fade-in weight of a progressive schedule";
  let description = [{
    A scalar in [0, 1] that the runtime sets as training moves through the
    schedule; it is not differentiated. `to` is the resolution being faded
    in, one of the schedule's after the first: alpha is 0 in the stages
    before it, rises from 0 to 1 over the first `fade_fraction` of its own
    stage, and is 1 after. Code generation makes it the entry's run-time
    scalar `alpha.<to>`; the evaluator takes one value for all.

    ```mlir
    %alpha = gm.schedule_alpha @grow to 28 : tensor<f32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$schedule, I64Attr:$to);
  let results = (outs GM_Scalar:$result);
  let assemblyFormat = "$schedule `to` $to attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Primitives: constants, shapes and broadcasting
//===----------------------------------------------------------------------===//

def GM_ConstantOp : GM_Op<"constant", [Pure, ConstantLike]> {
  let summary = "a constant tensor";
  let description = [{
    ```mlir
    %zero = gm.constant dense<0.000000e+00> : tensor<20xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs GM_AnyTensor:$result);
  let hasCustomAssemblyFormat = 1;
  let hasFolder = 1;
  let hasVerifier = 1;
}

def GM_BatchSizeOp : GM_Op<"batch_size", [Pure]> {
  let summary = "the batch size of a tensor (its leading dimension)";
  let description = [{
    ```mlir
    %n = gm.batch_size %x : tensor<?x784xf32>
    ```
  }];
  let arguments = (ins GM_AnyTensor:$input);
  let results = (outs Index:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def GM_SizeOp : GM_Op<"size", [Pure]> {
  let summary = "the number of elements along some axes, as an f32 scalar";
  let description = [{
    The product of the sizes of `axes` of the operand (the batch size for
    axis 0), as a number: what a mean divides by, and so what its gradient
    does.

    ```mlir
    %n = gm.size %x {axes = array<i64: 0>} : tensor<?x784xf32> -> tensor<f32>
    ```
  }];
  let arguments = (ins GM_AnyTensor:$input, DenseI64ArrayAttr:$axes);
  let results = (outs GM_Scalar:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let builders = [OpBuilder<(ins "::mlir::Value":$input,
                                 "::llvm::ArrayRef<int64_t>":$axes), [{
    build($_builder, $_state,
          ::mlir::RankedTensorType::get({}, $_builder.getF32Type()), input,
          $_builder.getDenseI64ArrayAttr(axes));
  }]>];
}

def GM_BroadcastOp : GM_Op<"broadcast", [Pure, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "numpy-style broadcast to a larger shape";
  let description = [{
    Right-aligned broadcasting: each input dimension is 1 or equal to the
    result's; new leading dimensions are added. Dynamic result dimensions
    take their sizes from the index operands, in order.

    ```mlir
    %b = gm.broadcast %bias [%n] : tensor<784xf32> -> tensor<?x784xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, Variadic<Index>:$dynamic_sizes);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = [{
    $input (`[` $dynamic_sizes^ `]`)? attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Primitives: elementwise
//===----------------------------------------------------------------------===//

class GM_BinaryOp<string mnemonic, string formula>
    : GM_Op<mnemonic, [Pure, SameOperandsAndResultType, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "elementwise " # formula;
  let description = "Elementwise `" # formula # "` on tensors of one type "
      # "(broadcasting is explicit, with `gm.broadcast`).\n\n"
      # "```mlir\n%r = gm." # mnemonic # " %a, %b : tensor<?x784xf32>\n```";
  let arguments = (ins GM_F32Tensor:$lhs, GM_F32Tensor:$rhs);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def GM_AddOp : GM_BinaryOp<"add", "lhs + rhs">;
def GM_SubOp : GM_BinaryOp<"sub", "lhs - rhs">;
def GM_MulOp : GM_BinaryOp<"mul", "lhs * rhs">;
def GM_DivOp : GM_BinaryOp<"div", "lhs / rhs">;

// The language calls the op by its mnemonic: relu(x), leaky_relu(x, 0.1).
def GM_ElementwiseBuiltin : NativeOpTrait<"ElementwiseBuiltin"> {
  let cppNamespace = "::mlir::OpTrait::gm";
}

class GM_UnaryOp<string mnemonic, string formula, list<Trait> traits = []>
    : GM_Op<mnemonic, !listconcat(traits, [Pure, SameOperandsAndResultType,
        DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>])> {
  let summary = "elementwise " # formula;
  let description = "Elementwise `" # formula # "`.\n\n"
      # "```mlir\n%y = gm." # mnemonic # " %x : tensor<?x400xf32>\n```";
  let arguments = (ins GM_F32Tensor:$input);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def GM_NegOp : GM_UnaryOp<"neg", "-x">;
def GM_ExpOp : GM_UnaryOp<"exp", "exp(x)", [GM_ElementwiseBuiltin]>;
def GM_LogOp : GM_UnaryOp<"log", "log(x)", [GM_ElementwiseBuiltin]>;
def GM_SqrtOp : GM_UnaryOp<"sqrt", "sqrt(x)", [GM_ElementwiseBuiltin]>;
def GM_SquareOp : GM_UnaryOp<"square", "x * x", [GM_ElementwiseBuiltin]>;
def GM_AbsOp : GM_UnaryOp<"abs", "|x|", [GM_ElementwiseBuiltin]>;
def GM_TanhOp : GM_UnaryOp<"tanh", "tanh(x)", [GM_ElementwiseBuiltin]>;
def GM_SigmoidOp : GM_UnaryOp<"sigmoid", "1 / (1 + exp(-x))", [GM_ElementwiseBuiltin]>;
def GM_SoftplusOp : GM_UnaryOp<"softplus", "log(1 + exp(x))", [GM_ElementwiseBuiltin]>;
def GM_LogSigmoidOp : GM_UnaryOp<"log_sigmoid", "log(sigmoid(x)) = -softplus(-x)", [GM_ElementwiseBuiltin]>;
def GM_ReluOp : GM_UnaryOp<"relu", "max(x, 0)", [GM_ElementwiseBuiltin]>;
def GM_SignOp : GM_UnaryOp<"sign", "sign(x): -1, 0 or 1">;
def GM_StopGradientOp : GM_UnaryOp<"stop_gradient",
    "x, with a zero gradient (the identity in the forward pass)", [GM_ElementwiseBuiltin]>;

def GM_LeakyReluOp : GM_Op<"leaky_relu", [Pure, SameOperandsAndResultType,
    GM_ElementwiseBuiltin, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "elementwise x > 0 ? x : alpha * x";
  let description = [{
    ```mlir
    %y = gm.leaky_relu %x {alpha = 2.000000e-01 : f64} : tensor<?x256xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, DefaultValuedAttr<F64Attr, "0.2">:$alpha);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def GM_EluOp : GM_Op<"elu", [Pure, SameOperandsAndResultType,
    GM_ElementwiseBuiltin, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "elementwise x > 0 ? x : alpha * (exp(x) - 1)";
  let description = [{
    The exponential linear unit (Clevert et al., 2016).

    ```mlir
    %y = gm.elu %x {alpha = 5.000000e-01 : f64} : tensor<?x256xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, DefaultValuedAttr<F64Attr, "1.0">:$alpha);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

class GM_AxisOp<string mnemonic, string what>
    : GM_Op<mnemonic, [Pure, SameOperandsAndResultType, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = what # " along one axis";
  let description = "Applies `" # mnemonic # "` along `axis` (batch is axis 0).\n\n"
      # "```mlir\n%y = gm." # mnemonic # " %x {axis = 1 : i64} : tensor<?x10xf32>\n```";
  let arguments = (ins GM_F32Tensor:$input, I64Attr:$axis);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def GM_SoftmaxOp : GM_AxisOp<"softmax", "softmax">;
def GM_LogSoftmaxOp : GM_AxisOp<"log_softmax", "log-softmax">;

def GM_FadeOp : GM_Op<"fade", [Pure, AllTypesMatch<["low", "high", "result"]>,
    DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "blend (1 - alpha) * low + alpha * high";
  let description = [{
    The fade-in of progressive growing: `low` is the upsampled output of the
    previous stage, `high` the output of the new layers.

    ```mlir
    %y = gm.fade %low, %high, %alpha : tensor<?x1x28x28xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$low, GM_F32Tensor:$high, GM_Scalar:$alpha);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$low `,` $high `,` $alpha attr-dict `:` type($result) `,` type($alpha)";
}

//===----------------------------------------------------------------------===//
// Primitives: shape manipulation and reductions
//===----------------------------------------------------------------------===//

def GM_ReshapeOp : GM_Op<"reshape", [Pure, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "reshape the per-example dimensions";
  let description = [{
    Keeps the batch dimension and the element count of each example.

    ```mlir
    %y = gm.reshape %x : tensor<?x784xf32> -> tensor<?x1x28x28xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def GM_TransposeOp : GM_Op<"transpose", [Pure, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "permute dimensions";
  let description = [{
    `result.dim(i) = input.dim(permutation[i])`.

    ```mlir
    %t = gm.transpose %w {permutation = array<i64: 1, 0>} : tensor<400x784xf32> -> tensor<784x400xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The shape rule: input.dim(permutation[i]) for each i.
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(::mlir::gm::ShapeError err, ::mlir::RankedTensorType input, ::llvm::ArrayRef<int64_t> permutation);
  }];
}

def GM_ConcatOp : GM_Op<"concat", [Pure, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "concatenate tensors along an axis";
  let description = [{
    ```mlir
    %zc = gm.concat %z, %c {axis = 1 : i64} : (tensor<?x62xf32>, tensor<?x10xf32>) -> tensor<?x72xf32>
    ```
  }];
  let arguments = (ins Variadic<GM_F32Tensor>:$inputs, I64Attr:$axis);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type($inputs, $result)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The shape rule: the inputs agree off |axis|; their sizes along it add.
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(::mlir::gm::ShapeError err, ::mlir::TypeRange inputs, int64_t axis);
  }];
}

def GM_SliceOp : GM_Op<"slice", [Pure, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "a contiguous slice along one axis";
  let description = [{
    Takes `size` elements from `start` along `axis`.

    ```mlir
    %top = gm.slice %x {axis = 2 : i64, start = 0 : i64, size = 14 : i64}
        : tensor<?x1x28x28xf32> -> tensor<?x1x14x28xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, I64Attr:$axis, I64Attr:$start,
                       I64Attr:$size);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The shape rule: |size| elements from |start| along |axis|.
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(::mlir::gm::ShapeError err, ::mlir::RankedTensorType input, int64_t axis, int64_t start, int64_t size);
  }];
}

def GM_ShiftOp : GM_Op<"shift", [Pure, SameOperandsAndResultType, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "shift along an axis, filling with zeros";
  let description = [{
    `result[..., i, ...] = input[..., i - amount, ...]`, zero where
    `i - amount` is out of range. With amount 1 over flattened pixels it gives
    each pixel its predecessor: the context of a Markov (AR-1) model; a
    negative amount shifts the other way (the gradient of a shift).

    ```mlir
    %prev = gm.shift %x {axis = 1 : i64, amount = 1 : i64} : tensor<?x784xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, I64Attr:$axis, I64Attr:$amount);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

class GM_ReduceOp<string mnemonic> : GM_Op<mnemonic, [Pure, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let extraClassDeclaration = [{
    /// The shape rule: |axes| (strictly increasing) dropped.
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(
        ::mlir::gm::ShapeError err, ::mlir::RankedTensorType input,
        ::llvm::ArrayRef<int64_t> axes);
  }];
  let summary = mnemonic # " over axes";
  let description = "Reduces over `axes` (dropping them) with " # mnemonic # ".\n\n"
      # "```mlir\n%s = gm." # mnemonic # " %x {axes = array<i64: 1>} : "
      # "tensor<?x784xf32> -> tensor<?xf32>\n```";
  let arguments = (ins GM_F32Tensor:$input, DenseI64ArrayAttr:$axes);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def GM_SumOp : GM_ReduceOp<"sum">;
def GM_MeanOp : GM_ReduceOp<"mean">;

def GM_UpsampleOp : GM_Op<"upsample", [Pure, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "nearest-neighbour upsampling of NCHW images";
  let description = [{
    ```mlir
    %y = gm.upsample %x {factor = 2 : i64} : tensor<?x64x7x7xf32> -> tensor<?x64x14x14xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, ConfinedAttr<I64Attr, [IntPositive]>:$factor);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The shape rule: (B, C, H * factor, W * factor).
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(::mlir::gm::ShapeError err, ::mlir::RankedTensorType input, int64_t factor);
  }];
}

def GM_AvgPoolOp : GM_Op<"avg_pool", [Pure, DeclareOpInterfaceMethods<GM_DifferentiableOpInterface>]> {
  let summary = "average pooling of NCHW images with a square window";
  let description = [{
    Window and stride are both `factor`; H and W must be divisible by it.

    ```mlir
    %y = gm.avg_pool %x {factor = 2 : i64} : tensor<?x1x28x28xf32> -> tensor<?x1x14x14xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$input, ConfinedAttr<I64Attr, [IntPositive]>:$factor);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The shape rule: (B, C, H / factor, W / factor), H and W divisible.
    static ::mlir::FailureOr<::mlir::RankedTensorType> inferResultType(::mlir::gm::ShapeError err, ::mlir::RankedTensorType input, int64_t factor);
  }];
}

// Layers (parameters are explicit operands): GMLayerOps.td.
include "dialects/GM/IR/GMLayerOps.td"

// Stochastic nodes, densities and divergences: GMStochasticOps.td.
include "dialects/GM/IR/GMStochasticOps.td"

//===----------------------------------------------------------------------===//
// Lowering-stage ops: made by conversions, never by MLIRGen or autodiff
//===----------------------------------------------------------------------===//

def GM_HostConv2DOp : GM_Op<"host_conv2d", [Pure]> {
  let summary = "one direction of a convolution, computed by the host's gmrt_conv2d";
  let description = [{
    Made by gm-conv-to-runtime from `conv2d`, `conv2d_transpose` and
    `conv2d_weight_grad`; bufferization turns it into a call of the host's
    `gmrt_conv2d` (abi.h) on the operands' buffers and a new result buffer.
    `kind` is abi.h's GM_CONV_FORWARD (a = src, b = weights -> dst),
    GM_CONV_BACKWARD_DATA (a = diff_dst, b = weights -> diff_src) or
    GM_CONV_BACKWARD_WEIGHTS (a = src, b = diff_dst -> diff_weights) of the
    convolution src (N, C, H, W) * weights (F, C, KH, KW) -> dst
    (N, F, OH, OW); `padding` is the top/left zero padding. No bias: a bias
    is a separate add. Pure, so CSE may merge identical calls.

    ```mlir
    %y = gm.host_conv2d %x, %w {kind = 0 : i32, padding = array<i64: 1, 1>,
        stride = array<i64: 2, 2>}
        : (tensor<?x1x28x28xf32>, tensor<64x1x4x4xf32>) -> tensor<?x64x14x14xf32>
    ```
  }];
  let arguments = (ins GM_F32Tensor:$a, GM_F32Tensor:$b, I32Attr:$kind,
                       DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding);
  let results = (outs GM_F32Tensor:$result);
  let assemblyFormat = "$a `,` $b attr-dict `:` functional-type(operands, $result)";
  let hasVerifier = 1;
}

#endif // GM_OPS_TD
