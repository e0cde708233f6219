//===- GMShapes.cpp - the shape rules of the gm ops -----------------------===//
//
// inferResultType of every op whose result shape follows from its operands
// and attributes, and the verifiers built on it (the rule is stated in the
// first section below).
//
// Shape legend: B = batch (dynamic, leading), D = features, H = hidden,
// C = channels, K = classes or components.
//
//===----------------------------------------------------------------------===//

#include "dialects/GM/IR/GMOps.h"

#include "dialects/GM/IR/OpHelpers.h"

#include "runtime/include/gmrt/abi.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/SmallSet.h"

using namespace mlir;
using namespace mlir::gm;
using namespace mlir::gm::ophelpers;

//===----------------------------------------------------------------------===//
// Shape rules
//
// Each op whose result shape follows from its operands and attributes has
// one static inferResultType: its verifier checks the result type against
// it, and MLIRGen builds the op with the type it returns, so a formula is
// written once. Messages continue the prefix of |err| ("'gm.conv2d' op " in
// the verifier, "conv2d " at the .gm source) and print shapes as the .gm
// source writes them (describeShape).
//===----------------------------------------------------------------------===//

std::string mlir::gm::describeShape(Type type) {
  auto t = cast<RankedTensorType>(type);
  ArrayRef<int64_t> dims = t.getShape();
  bool batched = isBatched(t);
  if (batched)
    dims = dims.drop_front();
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? ", " : "") + std::to_string(dims[i]);
  s += "]";
  if (!batched && !dims.empty())
    s += " (unbatched)";
  return s;
}

/// (B, dims...) with the element type |elt|.
static RankedTensorType batchedType(ArrayRef<int64_t> dims, Type elt) {
  SmallVector<int64_t> shape{ShapedType::kDynamic};
  shape.append(dims.begin(), dims.end());
  return RankedTensorType::get(shape, elt);
}

/// A verifier: the result type must be the one the shape rule infers.
static LogicalResult checkInferred(Operation *op, FailureOr<RankedTensorType> inferred,
                                   Type actual) {
  if (failed(inferred))
    return failure();
  if (*inferred != actual)
    return op->emitOpError() << "expects result type " << *inferred << ", got " << actual;
  return success();
}

/// |axis| counts from 0 = the batch; per-example axes only, unless
/// |allowBatch|.
static LogicalResult checkAxis(ShapeError err, int64_t axis, int64_t rank,
                               bool allowBatch = false) {
  if (axis < (allowBatch ? 0 : 1) || axis >= rank)
    return err() << "axis " << axis << " is out of range for rank " << rank
                 << (allowBatch ? "" : " (axis 0 is the batch)");
  return success();
}

/// |t| is (B, ...) with |rank| dimensions in all, else an error naming
/// |what| it should be and the |hint| to get there.
static LogicalResult checkBatched(ShapeError err, RankedTensorType t, int64_t rank,
                                  StringRef what, StringRef hint = "") {
  if (!isBatched(t) || (rank >= 0 && t.getRank() != rank)) {
    InFlightDiagnostic d = err();
    d << "expects " << what << ", got " << describeShape(t);
    if (!hint.empty())
      d << "; " << hint;
    return d;
  }
  return success();
}

static LogicalResult checkShape(ShapeError err, RankedTensorType t, StringRef what,
                                ArrayRef<int64_t> shape) {
  if (t.getShape() != shape)
    return err() << "expects " << what << " of shape "
                 << describeShape(RankedTensorType::get(shape, t.getElementType())) << ", got "
                 << describeShape(t);
  return success();
}

static LogicalResult checkPair(ShapeError err, ArrayRef<int64_t> v, StringRef name,
                               int64_t min) {
  if (v.size() != 2 || v[0] < min || v[1] < min)
    return err() << "expects '" << name << "' to be two integers >= " << min;
  return success();
}

LogicalResult SoftmaxOp::verify() {
  return checkAxis([&] { return emitOpError(); }, getAxis(), rt(getInput()).getRank());
}
LogicalResult LogSoftmaxOp::verify() {
  return checkAxis([&] { return emitOpError(); }, getAxis(), rt(getInput()).getRank());
}
LogicalResult ShiftOp::verify() {
  return checkAxis([&] { return emitOpError(); }, getAxis(), rt(getInput()).getRank());
}

LogicalResult ReshapeOp::verify() {
  // Batched to batched (the batch is kept), or static to static (gradients
  // of parameters); never one to the other.
  auto in = rt(getInput()), out = rt(getResult());
  if (in.hasStaticShape() && out.hasStaticShape()) {
    if (in.getNumElements() != out.getNumElements())
      return emitOpError() << "cannot reshape " << in << " to " << out;
    return success();
  }
  if (failed(expectBatched(*this, in, "an operand")) ||
      failed(expectBatched(*this, out, "a result")))
    return failure();
  auto count = [](RankedTensorType t) {
    int64_t n = 1;
    for (int64_t d : t.getShape().drop_front())
      n *= d;
    return n;
  };
  if (count(in) != count(out))
    return emitOpError() << "cannot reshape " << describeShape(in) << " (" << count(in)
                         << " elements) to " << describeShape(out) << " (" << count(out) << ")";
  return success();
}

FailureOr<RankedTensorType> TransposeOp::inferResultType(ShapeError err, RankedTensorType in,
                                                         ArrayRef<int64_t> perm) {
  if ((int64_t)perm.size() != in.getRank())
    return err() << "expects a permutation of " << in.getRank() << " dimensions";
  llvm::SmallSet<int64_t, 8> seen;
  SmallVector<int64_t> shape;
  for (int64_t p : perm) {
    if (p < 0 || p >= in.getRank() || !seen.insert(p).second)
      return err() << "expects a permutation of " << in.getRank() << " dimensions";
    shape.push_back(in.getDimSize(p));
  }
  return RankedTensorType::get(shape, in.getElementType());
}
LogicalResult TransposeOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()),
                                       getPermutation()),
                       getType());
}

FailureOr<RankedTensorType> ConcatOp::inferResultType(ShapeError err, TypeRange inputs,
                                                      int64_t axis) {
  if (inputs.empty())
    return err() << "expects at least one input";
  auto first = rt(inputs.front());
  if (failed(checkAxis(err, axis, first.getRank())))
    return failure();
  SmallVector<int64_t> shape(first.getShape());
  for (Type input : inputs.drop_front()) {
    auto t = rt(input);
    bool agree = t.getRank() == first.getRank() && t.getElementType() == first.getElementType();
    for (int64_t i = 0; agree && i < t.getRank(); ++i)
      agree = i == axis || t.getDimSize(i) == first.getDimSize(i);
    if (!agree)
      return err() << "cannot concatenate " << describeShape(first) << " and "
                   << describeShape(t) << " along axis " << axis;
    shape[axis] += t.getDimSize(axis);
  }
  return RankedTensorType::get(shape, first.getElementType());
}
LogicalResult ConcatOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); },
                                       getInputs().getTypes(), getAxis()),
                       getType());
}

FailureOr<RankedTensorType> SliceOp::inferResultType(ShapeError err, RankedTensorType in,
                                                     int64_t axis, int64_t start, int64_t size) {
  if (failed(checkAxis(err, axis, in.getRank())))
    return failure();
  if (start < 0 || size < 1 || start + size > in.getDimSize(axis))
    return err() << "slice [" << start << ", " << start + size
                 << ") is out of bounds for an axis of size " << in.getDimSize(axis);
  SmallVector<int64_t> shape(in.getShape());
  shape[axis] = size;
  return RankedTensorType::get(shape, in.getElementType());
}
LogicalResult SliceOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()),
                                       getAxis(), getStart(), getSize()),
                       getType());
}

/// The shape rule of sum and mean.
static FailureOr<RankedTensorType> inferReduce(ShapeError err, RankedTensorType in,
                                               ArrayRef<int64_t> axes) {
  if (axes.empty())
    return err() << "expects at least one axis";
  for (size_t i = 0; i < axes.size(); ++i) {
    if (failed(checkAxis(err, axes[i], in.getRank(), /*allowBatch=*/true)))
      return failure();
    if (i > 0 && axes[i] <= axes[i - 1])
      return err() << "expects strictly increasing axes";
  }
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < in.getRank(); ++i)
    if (!llvm::is_contained(axes, i))
      shape.push_back(in.getDimSize(i));
  return RankedTensorType::get(shape, in.getElementType());
}
FailureOr<RankedTensorType> SumOp::inferResultType(ShapeError err, RankedTensorType in,
                                                   ArrayRef<int64_t> axes) {
  return inferReduce(err, in, axes);
}
FailureOr<RankedTensorType> MeanOp::inferResultType(ShapeError err, RankedTensorType in,
                                                    ArrayRef<int64_t> axes) {
  return inferReduce(err, in, axes);
}
LogicalResult SumOp::verify() {
  return checkInferred(
      *this, inferResultType([&] { return emitOpError(); }, rt(getInput()), getAxes()),
      getType());
}
LogicalResult MeanOp::verify() {
  return checkInferred(
      *this, inferResultType([&] { return emitOpError(); }, rt(getInput()), getAxes()),
      getType());
}

/// The shape rule of upsample (|up|) and avg_pool.
static FailureOr<RankedTensorType> inferResample(ShapeError err, RankedTensorType in,
                                                 int64_t factor, bool up) {
  if (failed(checkBatched(err, in, 4, "(batch, channels, height, width) images")))
    return failure();
  int64_t h = in.getDimSize(2), w = in.getDimSize(3);
  if (factor < 1)
    return err() << "expects a positive factor, got " << factor;
  if (!up && (h % factor || w % factor))
    return err() << "needs height and width divisible by " << factor << ", got "
                 << describeShape(in);
  int64_t oh = up ? h * factor : h / factor, ow = up ? w * factor : w / factor;
  return batchedType({in.getDimSize(1), oh, ow}, in.getElementType());
}
FailureOr<RankedTensorType> UpsampleOp::inferResultType(ShapeError err, RankedTensorType in,
                                                        int64_t factor) {
  return inferResample(err, in, factor, true);
}
FailureOr<RankedTensorType> AvgPoolOp::inferResultType(ShapeError err, RankedTensorType in,
                                                       int64_t factor) {
  return inferResample(err, in, factor, false);
}
LogicalResult UpsampleOp::verify() {
  return checkInferred(
      *this, inferResultType([&] { return emitOpError(); }, rt(getInput()), getFactor()),
      getType());
}
LogicalResult AvgPoolOp::verify() {
  return checkInferred(
      *this, inferResultType([&] { return emitOpError(); }, rt(getInput()), getFactor()),
      getType());
}

FailureOr<RankedTensorType> OneHotOp::inferResultType(ShapeError err, RankedTensorType ids,
                                                      int64_t classes) {
  if (classes < 1)
    return err() << "expects a positive number of classes, got " << classes;
  SmallVector<int64_t> shape(ids.getShape());
  shape.push_back(classes);
  return RankedTensorType::get(shape, Float32Type::get(ids.getContext()));
}
LogicalResult OneHotOp::verify() {
  return checkInferred(
      *this, inferResultType([&] { return emitOpError(); }, rt(getIds()), getClasses()),
      getType());
}

//===----------------------------------------------------------------------===//
// Shape rules: layers
//===----------------------------------------------------------------------===//

FailureOr<RankedTensorType> MatmulOp::inferResultType(ShapeError err, RankedTensorType a,
                                                      RankedTensorType b) {
  if (a.getRank() != 2 || b.getRank() != 2)
    return err() << "expects rank-2 operands, got " << a << " and " << b;
  if (a.getDimSize(1) != b.getDimSize(0))
    return err() << "contracting dimensions differ: " << a << " and " << b;
  return RankedTensorType::get({a.getDimSize(0), b.getDimSize(1)}, a.getElementType());
}
LogicalResult MatmulOp::verify() {
  return checkInferred(
      *this, inferResultType([&] { return emitOpError(); }, rt(getLhs()), rt(getRhs())),
      getType());
}

/// linear and masked_linear: (B, IN) x (OUT, IN) [+ (OUT)] -> (B, OUT).
static FailureOr<RankedTensorType> inferAffine(ShapeError err, RankedTensorType x,
                                               RankedTensorType w, RankedTensorType bias) {
  if (failed(checkBatched(err, x, 2, "a (batch, features) input", "flatten it first")))
    return failure();
  if (w.getRank() != 2 || w.getDimSize(1) != x.getDimSize(1))
    return err() << "expects a weight [OUT, " << x.getDimSize(1) << "], got "
                 << describeShape(w);
  if (bias && failed(checkShape(err, bias, "a bias", {w.getDimSize(0)})))
    return failure();
  return batchedType({w.getDimSize(0)}, x.getElementType());
}
FailureOr<RankedTensorType> LinearOp::inferResultType(ShapeError err, RankedTensorType x,
                                                      RankedTensorType w, RankedTensorType b) {
  return inferAffine(err, x, w, b);
}
FailureOr<RankedTensorType> MaskedLinearOp::inferResultType(ShapeError err, RankedTensorType x,
                                                            RankedTensorType w,
                                                            RankedTensorType b) {
  return inferAffine(err, x, w, b);
}
static RankedTensorType typeOrNull(Value v) { return v ? rt(v) : RankedTensorType(); }
LogicalResult LinearOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()),
                                       rt(getWeight()), typeOrNull(getBias())),
                       getType());
}
LogicalResult MaskedLinearOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()),
                                       rt(getWeight()), typeOrNull(getBias())),
                       getType());
}

/// (B, C, H, W) input, (O, C, KH, KW) (or (C, O, KH, KW) when |transposed|)
/// weight, (O) bias; sets O, KH, KW.
static LogicalResult checkConvOperands(ShapeError err, RankedTensorType x, RankedTensorType w,
                                       RankedTensorType bias, bool transposed, int64_t &outC,
                                       int64_t &kh, int64_t &kw) {
  if (failed(checkBatched(err, x, 4, "(batch, channels, height, width) images",
                          "reshape it first")))
    return failure();
  if (w.getRank() != 4)
    return err() << "expects a rank-4 weight, got " << describeShape(w);
  int64_t inC = transposed ? w.getDimSize(0) : w.getDimSize(1);
  outC = transposed ? w.getDimSize(1) : w.getDimSize(0);
  kh = w.getDimSize(2);
  kw = w.getDimSize(3);
  if (inC != x.getDimSize(1))
    return err() << "weight " << describeShape(w) << " expects " << inC
                 << " input channels, got " << describeShape(x);
  if (bias && failed(checkShape(err, bias, "a bias", {outC})))
    return failure();
  return success();
}

FailureOr<RankedTensorType> Conv2DOp::inferResultType(ShapeError err, RankedTensorType x,
                                                      RankedTensorType w, RankedTensorType bias,
                                                      ArrayRef<int64_t> stride,
                                                      ArrayRef<int64_t> padding) {
  int64_t o, kh, kw;
  if (failed(checkConvOperands(err, x, w, bias, false, o, kh, kw)) ||
      failed(checkPair(err, stride, "stride", 1)) || failed(checkPair(err, padding, "padding", 0)))
    return failure();
  int64_t h = x.getDimSize(2) + 2 * padding[0] - kh, wd = x.getDimSize(3) + 2 * padding[1] - kw;
  if (h < 0 || wd < 0)
    return err() << "kernel " << kh << "x" << kw << " is larger than the padded input "
                 << describeShape(x);
  return batchedType({o, h / stride[0] + 1, wd / stride[1] + 1}, x.getElementType());
}
LogicalResult Conv2DOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()),
                                       rt(getWeight()), typeOrNull(getBias()), getStride(),
                                       getPadding()),
                       getType());
}

FailureOr<RankedTensorType>
Conv2DTransposeOp::inferResultType(ShapeError err, RankedTensorType x, RankedTensorType w,
                                   RankedTensorType bias, ArrayRef<int64_t> stride,
                                   ArrayRef<int64_t> padding, ArrayRef<int64_t> outputPadding) {
  int64_t o, kh, kw;
  if (failed(checkConvOperands(err, x, w, bias, true, o, kh, kw)) ||
      failed(checkPair(err, stride, "stride", 1)) ||
      failed(checkPair(err, padding, "padding", 0)) ||
      failed(checkPair(err, outputPadding, "output_padding", 0)))
    return failure();
  int64_t h = (x.getDimSize(2) - 1) * stride[0] - 2 * padding[0] + kh + outputPadding[0];
  int64_t wd = (x.getDimSize(3) - 1) * stride[1] - 2 * padding[1] + kw + outputPadding[1];
  if (h < 1 || wd < 1)
    return err() << "output would be empty for input " << describeShape(x);
  return batchedType({o, h, wd}, x.getElementType());
}
LogicalResult Conv2DTransposeOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()),
                                       rt(getWeight()), typeOrNull(getBias()), getStride(),
                                       getPadding(), getOutputPadding()),
                       getType());
}

FailureOr<RankedTensorType> MaskedConv2DOp::inferResultType(ShapeError err, RankedTensorType x,
                                                            RankedTensorType w,
                                                            RankedTensorType bias) {
  int64_t o, kh, kw;
  if (failed(checkConvOperands(err, x, w, bias, false, o, kh, kw)))
    return failure();
  if (kh % 2 == 0 || kw % 2 == 0)
    return err() << "needs an odd kernel, got " << kh << "x" << kw;
  return batchedType({o, x.getDimSize(2), x.getDimSize(3)}, x.getElementType());
}
LogicalResult MaskedConv2DOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()),
                                       rt(getWeight()), typeOrNull(getBias())),
                       getType());
}

FailureOr<RankedTensorType> BatchNormOp::inferResultType(ShapeError err, RankedTensorType x,
                                                         RankedTensorType gamma,
                                                         RankedTensorType beta) {
  if (failed(checkBatched(err, x, -1, "(batch, channels, ...)")) ||
      (x.getRank() < 2 && failed(checkBatched(err, x, 2, "(batch, channels, ...)"))))
    return failure();
  int64_t c = x.getDimSize(1);
  if (failed(checkShape(err, gamma, "gamma", {c})) || failed(checkShape(err, beta, "beta", {c})))
    return failure();
  return x;
}
LogicalResult BatchNormOp::verify() {
  if (!(getEps().convertToDouble() > 0))
    return emitOpError() << "expects a positive 'eps'";
  auto err = [&] { return emitOpError(); };
  if (failed(checkInferred(*this,
                           inferResultType(err, rt(getInput()), rt(getGamma()), rt(getBeta())),
                           getType())))
    return failure();
  int64_t c = rt(getInput()).getDimSize(1);
  if (failed(checkShape(err, rt(getRunningMean()), "running_mean", {c})) ||
      failed(checkShape(err, rt(getRunningVar()), "running_var", {c})))
    return failure();
  return success();
}

FailureOr<RankedTensorType> EmbeddingOp::inferResultType(ShapeError err, RankedTensorType ids,
                                                         RankedTensorType table) {
  if (!ids.getElementType().isInteger(32) || !isBatched(ids) || ids.getRank() != 2)
    return err() << "expects token ids (batch, tokens), got " << describeShape(ids);
  if (table.getRank() != 2)
    return err() << "expects a table [V, E], got " << describeShape(table);
  return batchedType({ids.getDimSize(1), table.getDimSize(1)}, table.getElementType());
}
LogicalResult EmbeddingOp::verify() {
  return checkInferred(
      *this, inferResultType([&] { return emitOpError(); }, rt(getIds()), rt(getTable())),
      getType());
}

FailureOr<RankedTensorType> LSTMCellOp::inferResultType(ShapeError err, RankedTensorType x,
                                                        RankedTensorType h, RankedTensorType c,
                                                        RankedTensorType wIh,
                                                        RankedTensorType wHh,
                                                        RankedTensorType bias) {
  if (failed(checkBatched(err, x, 2, "a (batch, features) input")) ||
      failed(checkBatched(err, h, 2, "a (batch, hidden) state h")))
    return failure();
  if (c != h)
    return err() << "expects h and c of one (batch, hidden) shape, got " << describeShape(h)
                 << " and " << describeShape(c);
  int64_t in = x.getDimSize(1), hid = h.getDimSize(1);
  if (failed(checkShape(err, wIh, "w_ih", {4 * hid, in})) ||
      failed(checkShape(err, wHh, "w_hh", {4 * hid, hid})) ||
      failed(checkShape(err, bias, "a bias", {4 * hid})))
    return failure();
  return h;
}
LogicalResult LSTMCellOp::verify() {
  auto t = inferResultType([&] { return emitOpError(); }, rt(getInput()), rt(getH()), rt(getC()),
                           rt(getWIh()), rt(getWHh()), rt(getBias()));
  if (failed(checkInferred(*this, t, getHNext().getType())))
    return failure();
  return checkInferred(*this, t, getCNext().getType());
}

FailureOr<RankedTensorType> RowLSTMOp::inferResultType(ShapeError err, RankedTensorType x,
                                                       RankedTensorType wis,
                                                       RankedTensorType wss,
                                                       RankedTensorType bias) {
  if (failed(checkBatched(err, x, 4, "(batch, channels, rows, columns) images")))
    return failure();
  if (wis.getRank() != 4 || wis.getDimSize(0) % 4 != 0 || wis.getDimSize(1) != x.getDimSize(1) ||
      wis.getDimSize(2) != 1 || wis.getDimSize(3) % 2 == 0)
    return err() << "expects w_is [4H, " << x.getDimSize(1) << ", 1, K] with odd K, got "
                 << describeShape(wis);
  int64_t hid = wis.getDimSize(0) / 4, k = wis.getDimSize(3);
  if (failed(checkShape(err, wss, "w_ss", {4 * hid, hid, 1, k})) ||
      failed(checkShape(err, bias, "a bias", {4 * hid})))
    return failure();
  return batchedType({hid, x.getDimSize(2), x.getDimSize(3)}, x.getElementType());
}
LogicalResult RowLSTMOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()),
                                       rt(getWIs()), rt(getWSs()), rt(getBias())),
                       getType());
}

FailureOr<RankedTensorType> NadeOp::inferResultType(ShapeError err, RankedTensorType x,
                                                    RankedTensorType w, RankedTensorType c,
                                                    RankedTensorType v, RankedTensorType b) {
  if (failed(checkBatched(err, x, 2, "a (batch, pixels) input", "flatten it first")))
    return failure();
  int64_t d = x.getDimSize(1);
  if (w.getRank() != 2 || w.getDimSize(1) != d)
    return err() << "expects W [H, " << d << "], got " << describeShape(w);
  int64_t h = w.getDimSize(0);
  if (failed(checkShape(err, c, "c", {h})) || failed(checkShape(err, v, "V", {d, h})) ||
      failed(checkShape(err, b, "b", {d})))
    return failure();
  return x;
}
LogicalResult NadeOp::verify() {
  return checkInferred(*this,
                       inferResultType([&] { return emitOpError(); }, rt(getInput()), rt(getW()),
                                       rt(getC()), rt(getV()), rt(getB())),
                       getType());
}

LogicalResult Conv2DWeightGradOp::verify() {
  auto x = rt(getInput()), g = rt(getGrad()), w = rt(getType());
  if (x.getRank() != 4 || g.getRank() != 4 || w.getRank() != 4 ||
      !w.hasStaticShape())
    return emitOpError() << "expects (B, C, H, W) input and grad and a static "
                            "(O, C, KH, KW) result";
  if (w.getDimSize(0) != g.getDimSize(1) || w.getDimSize(1) != x.getDimSize(1))
    return emitOpError() << "result " << w << " does not match input " << x
                         << " and grad " << g;
  ShapeError err = [&] { return emitOpError(); };
  if (failed(checkPair(err, getStride(), "stride", 1)) ||
      failed(checkPair(err, getPadding(), "padding", 0)))
    return failure();
  return success();
}

LogicalResult HostConv2DOp::verify() {
  auto a = rt(getA()), b = rt(getB()), out = rt(getType());
  if (a.getRank() != 4 || b.getRank() != 4 || out.getRank() != 4)
    return emitOpError() << "expects rank-4 operands and result";
  if (getKind() < GM_CONV_FORWARD || getKind() > GM_CONV_BACKWARD_WEIGHTS)
    return emitOpError() << "kind " << getKind() << " is not a gmrt_conv2d direction";
  ShapeError err = [&] { return emitOpError(); };
  if (failed(checkPair(err, getStride(), "stride", 1)) ||
      failed(checkPair(err, getPadding(), "padding", 0)))
    return failure();
  // The underlying convolution src * weights -> dst (abi.h).
  RankedTensorType src = getKind() == GM_CONV_BACKWARD_DATA ? out : a;
  RankedTensorType weights = getKind() == GM_CONV_BACKWARD_WEIGHTS ? out : b;
  RankedTensorType dst = getKind() == GM_CONV_FORWARD        ? out
                         : getKind() == GM_CONV_BACKWARD_DATA ? a
                                                              : b;
  if (!weights.hasStaticShape() || src.getDimSize(1) != weights.getDimSize(1) ||
      dst.getDimSize(1) != weights.getDimSize(0) || src.getDimSize(0) != dst.getDimSize(0))
    return emitOpError() << "src " << src << ", weights " << weights << " and dst " << dst
                         << " are not one convolution";
  for (int d = 0; d < 2; ++d) {
    // What the last window reads past the input, the bottom/right padding:
    // none left out, and no window wholly in the padding.
    int64_t past = (dst.getDimSize(2 + d) - 1) * getStride()[d] + weights.getDimSize(2 + d) -
                   src.getDimSize(2 + d) - getPadding()[d];
    if (past < 0 || past >= weights.getDimSize(2 + d))
      return emitOpError() << "dst " << dst << " is not what src " << src << " gives with "
                           << "weights " << weights << ", this stride and padding";
  }
  return success();
}

LogicalResult EmbeddingGradOp::verify() {
  auto ids = rt(getIds()), g = rt(getGrad()), t = rt(getType());
  if (ids.getRank() != 2 || g.getRank() != 3 || t.getRank() != 2 ||
      !t.hasStaticShape() || g.getDimSize(2) != t.getDimSize(1) ||
      g.getDimSize(1) != ids.getDimSize(1))
    return emitOpError() << "expects ids (B, T), grad (B, T, E) and a (V, E) "
                            "result, got "
                         << ids << ", " << g << " and " << t;
  return success();
}

LogicalResult RowLSTMGradOp::verify() {
  Value ins[] = {getInput(), getWIs(), getWSs(), getBias()};
  for (auto [in, out] : llvm::zip(ins, getResults()))
    if (in.getType() != out.getType())
      return emitOpError() << "expects each adjoint to have the type of its "
                              "operand, got "
                           << out.getType() << " for " << in.getType();
  return success();
}

LogicalResult NadeGradOp::verify() {
  if (getGrad().getType() != getInput().getType())
    return emitOpError() << "expects the adjoint of the logits to have the "
                            "type of x";
  Value ins[] = {getInput(), getW(), getC(), getV(), getB()};
  for (auto [in, out] : llvm::zip(ins, getResults()))
    if (in.getType() != out.getType())
      return emitOpError() << "expects each adjoint to have the type of its "
                              "operand, got "
                           << out.getType() << " for " << in.getType();
  return success();
}

