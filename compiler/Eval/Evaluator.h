//===- Evaluator.h - reference interpreter of the gm dialect ----*- C++ -*-===//
//
// Runs gm functions (nets and objectives) on the CPU in extended precision,
// one op at a time, with loops a reader can check against the op's
// documentation. It is slow on purpose: it is the oracle that the autodiff
// pass (finite differences through it) and the generated CPU and CUDA code
// (compared with it) are held to.
//
// Shapes are row-major; the batch is the leading dimension. Random draws
// come from runtime/include/gmrt/rng.h, keyed by the !gm.key argument, so
// the evaluator and generated code sample alike:
//   normal       z[i] = loc[i] + scale[i] * gmrt_normal(key, stream, base + i)
//   uniform      z[i] = low[i] + (high[i] - low[i]) * u(key, stream, base + i, lane 2)
//   bernoulli    z[i] = u(key, stream, base + i, lane 2) < sigmoid(logit[i])
//   categorical  row r (all but the last axis): inverse CDF of softmax at
//                u(key, stream, base + r, lane 2); one-hot
//   mixture      example b: component by inverse CDF at u(key, stream,
//                base + b * D, lane 3), then z[b, d] = mu + sigma *
//                gmrt_normal(key, stream, base + b * D + d)
// where base = 0 for gm.sample and j * elements for draw j of gm.iwae.
//
//===----------------------------------------------------------------------===//

#ifndef GM_COMPILER_EVAL_EVALUATOR_H
#define GM_COMPILER_EVAL_EVALUATOR_H

#include "dialects/GM/IR/GMOps.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gm {

/// The evaluator's number: at least double precision; long double (a 64-bit
/// mantissa on x86) makes finite differences with small steps exact enough
/// to check gradients of losses in the hundreds of nats. A second build with
/// GM_EVAL_REAL=float (gm-eval-f32) evaluates the same IR in f32, naively:
/// how far that lands from long double measures how much f32 rounding a
/// result can carry, which the conformance checks allow compiled code.
#ifdef GM_EVAL_REAL
using Real = GM_EVAL_REAL;
#else
using Real = long double;
#endif

/// A dense row-major tensor (token ids are stored as numbers too).
struct Tensor {
  llvm::SmallVector<int64_t, 4> shape;
  std::vector<Real> data;

  Tensor() = default;
  explicit Tensor(llvm::ArrayRef<int64_t> shape, Real fill = 0.0);
  int64_t numel() const { return (int64_t)data.size(); }
  int64_t rank() const { return (int64_t)shape.size(); }
};

/// A distribution value: its family and parameters, already broadcast to
/// full batched shapes (mixtures: logits (B, K), means/logvars (B, K, D)).
struct Distribution {
  mlir::gm::DistKind kind;
  mlir::gm::NormalParam normalParam = mlir::gm::NormalParam::scale;
  llvm::SmallVector<Tensor, 3> params;
  llvm::SmallVector<int64_t, 4> sampleShape;
  int64_t levels = 0; // discretized_logistic's grid size
};

/// A runtime value: a tensor, a distribution, a key or an index.
struct RtValue {
  enum class Kind { Tensor, Dist, Key, Index } kind = Kind::Tensor;
  Tensor tensor;
  std::shared_ptr<Distribution> dist;
  uint64_t key = 0;
  int64_t index = 0;

  static RtValue ofTensor(Tensor t);
  static RtValue ofKey(uint64_t k);
};

namespace eval {
class Frame;
} // namespace eval

/// Interprets the functions of one gm.model. Not thread-safe.
class Evaluator {
public:
  explicit Evaluator(mlir::gm::ModelOp model);

  /// Initialises every gm.param from its initialiser with draws from
  /// |seed| (stream = the param's index in the model).
  void initParams(uint64_t seed);
  /// Parameter storage, by symbol name; null if there is no such param.
  Tensor *param(llvm::StringRef name);
  const llvm::StringMap<Tensor> &params() const { return paramValues; }

  /// The fade-in weight that gm.schedule_alpha returns (default 1).
  void setScheduleAlpha(double alpha) { scheduleAlpha = alpha; }

  /// Runs the net or objective |name| on |args|. On failure (an unknown
  /// function, wrong arguments, or a runtime error such as a token id out of
  /// range) returns false and sets |error|.
  bool call(llvm::StringRef name, llvm::ArrayRef<RtValue> args,
            std::vector<RtValue> &results, std::string &error);

private:
  friend class eval::Frame; // the rules' view of the frames and parameters
  bool run(mlir::Region &region, llvm::ArrayRef<RtValue> args,
           std::vector<RtValue> &results);
  bool eval(mlir::Operation *op);
  bool fail(mlir::Operation *op, const llvm::Twine &msg);

  mlir::gm::ModelOp model;
  llvm::StringMap<Tensor> paramValues;
  double scheduleAlpha = 1.0;
  // A deque: a nested run pushes a frame while the caller holds a reference
  // to its own.
  std::deque<llvm::DenseMap<mlir::Value, RtValue>> frames;
  std::string lastError;
  unsigned depth = 0;
};

/// Arguments for |fn| of |model|: each data argument (named by the `inputs`
/// attribute) filled with |fill| when given, else drawn from |seed| (real
/// data uniform in [0, 1), labels one-hot, token ids below the vocabulary);
/// the batch dimension is |batch|; the !gm.key is |seed|. Returns false and
/// sets |error| for an argument type it cannot make.
bool makeArguments(mlir::FunctionOpInterface fn, mlir::gm::ModelOp model,
                   int64_t batch, uint64_t seed, std::optional<double> fill,
                   std::vector<RtValue> &args, std::string &error);

} // namespace gm

#endif // GM_COMPILER_EVAL_EVALUATOR_H
