//===- GMBase.td - gm dialect, enums, attributes and types -*- tablegen -*-===//
//
// The gm dialect describes a generative model: its data, parameters, networks,
// stochastic nodes, densities and divergences, and how it is trained. Values
// are builtin ranked f32 tensors whose leading dimension is the (dynamic)
// batch, distributions (!gm.dist) and counter-based RNG keys (!gm.key).
//
//===----------------------------------------------------------------------===//

#ifndef GM_BASE_TD
#define GM_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinTypes.td"

def GM_Dialect : Dialect {
  let name = "gm";
  let summary = "Generative models: stochastic nodes, densities, objectives and training steps";
  let description = [{
    The gm dialect is the first IR of the gm compiler. A `gm.model` holds the
    declarations of one `.gm` file: data inputs, parameters and their groups,
    networks (`gm.net`), objectives (`gm.objective`) and how they are trained
    (`gm.step`, `gm.minimax`). Stochastic nodes (`gm.sample`) draw from
    distribution values (`!gm.dist`) with a counter-based key, so every
    function stays pure and deterministic for a given key.

    Shapes: every tensor that flows through a net or objective has the batch
    as its leading, dynamic dimension (`tensor<?x784xf32>`); parameters have
    static shapes. Per-example quantities (log-densities, KL, ELBO) have type
    `tensor<?xf32>`; objectives return a batch mean, `tensor<f32>`.
  }];
  let cppNamespace = "::mlir::gm";
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
}

class GM_Op<string mnemonic, list<Trait> traits = []>
    : Op<GM_Dialect, mnemonic, traits>;

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def GM_DistKindAttr : I32EnumAttr<"DistKind", "distribution family", [
    I32EnumAttrCase<"normal", 0>, I32EnumAttrCase<"bernoulli", 1>,
    I32EnumAttrCase<"categorical", 2>, I32EnumAttrCase<"uniform", 3>,
    I32EnumAttrCase<"mixture_normal", 4>,
    I32EnumAttrCase<"discretized_logistic", 5>]> {
  let cppNamespace = "::mlir::gm";
  let genSpecializedAttr = 1;
}

def GM_NormalParamAttr : I32EnumAttr<"NormalParam",
    "how the second operand of gm.normal is read", [
    I32EnumAttrCase<"scale", 0>, I32EnumAttrCase<"logvar", 1>]> {
  let cppNamespace = "::mlir::gm";
  let genSpecializedAttr = 1;
}

def GM_EstimatorAttr : I32EnumAttr<"Estimator",
    "how gradients flow through a sample", [
    I32EnumAttrCase<"reparam", 0>, I32EnumAttrCase<"score_function", 1>,
    I32EnumAttrCase<"none", 2>]> {
  let cppNamespace = "::mlir::gm";
  let genSpecializedAttr = 1;
}

def GM_KLMethodAttr : I32EnumAttr<"KLMethod", "how a KL divergence is computed", [
    I32EnumAttrCase<"analytic", 0>, I32EnumAttrCase<"monte_carlo", 1>]> {
  let cppNamespace = "::mlir::gm";
  let genSpecializedAttr = 1;
}

def GM_LossKindAttr : I32EnumAttr<"LossKind", "per-example reconstruction loss", [
    I32EnumAttrCase<"mse", 0>, I32EnumAttrCase<"l1", 1>,
    I32EnumAttrCase<"bce_logits", 2>, I32EnumAttrCase<"softmax_xent", 3>]> {
  let cppNamespace = "::mlir::gm";
  let genSpecializedAttr = 1;
}

def GM_GenLossAttr : I32EnumAttr<"GenLoss", "generator loss of a minimax game", [
    I32EnumAttrCase<"saturating", 0>, I32EnumAttrCase<"non_saturating", 1>]> {
  let cppNamespace = "::mlir::gm";
  let genSpecializedAttr = 1;
}

def GM_DirectionAttr : I32EnumAttr<"Direction", "optimisation direction", [
    I32EnumAttrCase<"minimize", 0>, I32EnumAttrCase<"maximize", 1>]> {
  let cppNamespace = "::mlir::gm";
  let genSpecializedAttr = 1;
}

def GM_InitKindAttr : I32EnumAttr<"InitKind", "parameter initialiser", [
    I32EnumAttrCase<"zeros", 0>, I32EnumAttrCase<"ones", 1>,
    I32EnumAttrCase<"normal", 2>, I32EnumAttrCase<"uniform", 3>,
    I32EnumAttrCase<"glorot_uniform", 4>, I32EnumAttrCase<"kaiming_uniform", 5>]> {
  let cppNamespace = "::mlir::gm";
  let genSpecializedAttr = 1;
}

def GM_DataKindAttr : I32EnumAttr<"DataKind", "what a data input holds", [
    I32EnumAttrCase<"real", 0>, I32EnumAttrCase<"label", 1>,
    I32EnumAttrCase<"tokens", 2>]> {
  let cppNamespace = "::mlir::gm";
  let genSpecializedAttr = 1;
}

def GM_MaskKindAttr : I32EnumAttr<"MaskKind", "autoregressive mask of a layer", [
    I32EnumAttrCase<"A", 0>, I32EnumAttrCase<"B", 1>]> {
  let cppNamespace = "::mlir::gm";
  let genSpecializedAttr = 1;
}

//===----------------------------------------------------------------------===//
// The pass protocol: what a derived function is for, and for whom
//===----------------------------------------------------------------------===//

def GM_FuncRole : I32EnumAttr<"FuncRole", "what a derived gm.func is for", [
    I32EnumAttrCase<"loss", 0>, I32EnumAttrCase<"gradient", 1>,
    I32EnumAttrCase<"train", 2>, I32EnumAttrCase<"eval", 3>,
    I32EnumAttrCase<"encode", 4>, I32EnumAttrCase<"decode", 5>,
    I32EnumAttrCase<"generate", 6>, I32EnumAttrCase<"score", 7>,
    I32EnumAttrCase<"sample", 8>, I32EnumAttrCase<"classify", 9>,
    I32EnumAttrCase<"features", 10>, I32EnumAttrCase<"translate", 11>,
    I32EnumAttrCase<"prior", 12>, I32EnumAttrCase<"draw", 13>]> {
  let cppNamespace = "::mlir::gm";
  let genSpecializedAttr = 0;
}

def GM_Player : I32EnumAttr<"Player", "who a training step trains", [
    I32EnumAttrCase<"all", 0>, I32EnumAttrCase<"discriminator", 1>,
    I32EnumAttrCase<"generator", 2>]> {
  let cppNamespace = "::mlir::gm";
  let genSpecializedAttr = 0;
}

def GM_Bound : I32EnumAttr<"Bound", "the bound on log p(x) an objective computes", [
    I32EnumAttrCase<"elbo", 0>, I32EnumAttrCase<"iwae", 1>, I32EnumAttrCase<"exact", 2>]> {
  let cppNamespace = "::mlir::gm";
  let genSpecializedAttr = 0;
}

def GM_OptimizerKind : I32EnumAttr<"OptimizerKind", "optimizer", [
    I32EnumAttrCase<"adam", 0>, I32EnumAttrCase<"sgd", 1>]> {
  let cppNamespace = "::mlir::gm";
  let genSpecializedAttr = 0;
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def GM_FuncRoleAttr : EnumAttr<GM_Dialect, GM_FuncRole, "role"> {
  let summary = "what a derived function is for";
  let description = [{
    `loss` and `gradient` are intermediate (gm-build-losses, gm-autodiff);
    `train`, `eval`, `score`, `encode`, `decode`, `generate`, `sample`,
    `classify` (a classifier's logits), `features` (the activations its
    last layer reads), `translate` (an image-to-image generator, one
    data domain to another), `prior` (a latent's prior log-density at
    given values) and `draw` (draws of a latent from a prior the host
    cannot sample itself) are the artifact's entry points.
  }];
  let assemblyFormat = "`<` $value `>`";
}

def GM_PlayerAttr : EnumAttr<GM_Dialect, GM_Player, "player"> {
  let summary = "the player of a training step: all, or one side of a game";
  let assemblyFormat = "`<` $value `>`";
}

def GM_BoundAttr : EnumAttr<GM_Dialect, GM_Bound, "bound"> {
  let summary = "which bound on log p(x) an evaluation computes";
  let assemblyFormat = "`<` $value `>`";
}

def GM_OptimizerAttr : AttrDef<GM_Dialect, "Optimizer"> {
  let mnemonic = "optimizer";
  let summary = "an optimizer and its hyper-parameters";
  let description = [{
    The optimizer of a parameter group. The hyper-parameters are the defaults
    compiled into the artifact; the runtime may override the learning rate
    and betas per run without recompiling.

    ```mlir
    #gm.optimizer<adam, {beta1 = 5.000000e-01 : f64, beta2 = 9.990000e-01 : f64,
                         eps = 1.000000e-08 : f64, lr = 2.000000e-04 : f64}>
    ```
    Adam takes `lr`, `beta1`, `beta2`, `eps`; SGD takes `lr` and `momentum`.
  }];
  let parameters = (ins EnumParameter<GM_OptimizerKind>:$kind,
                        "DictionaryAttr":$hparams);
  let assemblyFormat = "`<` $kind `,` $hparams `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The run-time scalar arguments of a training step with this optimizer,
    /// in order: Adam's step count t, lr, beta1, beta2, eps; SGD's lr,
    /// momentum. Every name but `t` has a default in the hyper-parameters.
    ::llvm::ArrayRef<::llvm::StringRef> getRuntimeArgs() const;
    /// The names of the optimizer's state slots per parameter: Adam's m and
    /// v, SGD's momentum buffer.
    ::llvm::ArrayRef<::llvm::StringRef> getSlotNames() const;
  }];
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

class GM_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<GM_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def GM_DistType : GM_Type<"Dist", "dist"> {
  let summary = "a distribution over tensors of a given shape";
  let description = [{
    A distribution value: its family and the type of one sample, batch
    dimension included. `!gm.dist<normal, tensor<?x20xf32>>` is a diagonal
    Gaussian over 20-dimensional latents for each example of the batch.
    Categorical samples are one-hot vectors over the last dimension.
  }];
  let parameters = (ins EnumParameter<GM_DistKindAttr>:$kind,
                        "RankedTensorType":$sampleType);
  let assemblyFormat = "`<` $kind `,` $sampleType `>`";
  let genVerifyDecl = 1;
}

def GM_KeyType : GM_Type<"Key", "key"> {
  let summary = "a counter-based random key";
  let description = [{
    The seed state of a counter-based generator (Philox-style). A sample op
    combines the key with its own `stream` number, so draws are independent,
    deterministic for a key, and no op has a side effect.
  }];
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def GM_F32Tensor : RankedTensorOf<[F32]>;
def GM_TokenTensor : RankedTensorOf<[I32]>;
def GM_AnyTensor : RankedTensorOf<[F32, I32]>;
def GM_Scalar : 0DTensorOf<[F32]>,
    BuildableType<"::mlir::RankedTensorType::get({}, $_builder.getF32Type())">;
def GM_PerExample : 1DTensorOf<[F32]>;
def GM_Dist : Type<CPred<"::llvm::isa<::mlir::gm::DistType>($_self)">,
                   "gm distribution", "::mlir::gm::DistType">;
def GM_Key : Type<CPred<"::llvm::isa<::mlir::gm::KeyType>($_self)">,
                  "gm random key", "::mlir::gm::KeyType">;

#endif // GM_BASE_TD
