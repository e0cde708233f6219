//===- Rules.h - how the evaluator runs each op -----------------*- C++ -*-===//
//
// The evaluator's rules, one per op, registered by op family
// (Structure.cpp, Elementwise.cpp, Shapes.cpp, Layers.cpp, Stochastic.cpp):
// each family file is the reference semantics of its ops, written directly
// from their documentation and independent of how gm lowers them, so that
// compiled code and decompositions are checked against something else.
//
// A rule reads its operands' values from a Frame and writes its results
// there. Adding an op to the evaluator is one `rules.def<Op>(...)` in its
// family's register function.
//
// Shape legend used in the family files: B batch, C channels, H/W height and
// width, K kernel or classes, D features.
//
//===----------------------------------------------------------------------===//

#ifndef GM_COMPILER_EVAL_RULES_H
#define GM_COMPILER_EVAL_RULES_H

#include "compiler/Eval/Evaluator.h"

#include "dialects/GM/IR/GMOps.h"

#include "llvm/ADT/DenseMap.h"

#include <functional>

namespace gm::eval {

/// The values of the function being run, seen from one op: operands are
/// looked up in the innermost frame first, then in enclosing ones (a
/// gm.iwae region reads its function's values).
class Frame {
public:
  explicit Frame(Evaluator &e) : e(e) {}

  RtValue &get(mlir::Value v);
  const Tensor &T(mlir::Value v) { return get(v).tensor; }
  const Distribution &D(mlir::Value v) { return *get(v).dist; }
  void set(mlir::Value v, RtValue r);
  void setT(mlir::Value v, Tensor t) { set(v, RtValue::ofTensor(std::move(t))); }
  /// Stores a distribution; its sample shape comes from |v|'s type with the
  /// batch of its first parameter.
  void setD(mlir::Value v, Distribution d);

  /// The result of a one-operand elementwise op: |f| of every element.
  template <typename F> bool unary(mlir::Value in, mlir::Value out, F f) {
    Tensor t = T(in);
    for (Real &x : t.data)
      x = f(x);
    setT(out, std::move(t));
    return true;
  }
  /// The result of a two-operand elementwise op of equal operand types.
  template <typename F> bool binary(mlir::Operation *o, F f) {
    Tensor t = T(o->getOperand(0));
    const Tensor &r = T(o->getOperand(1));
    for (int64_t i = 0; i < t.numel(); ++i)
      t.data[i] = f(t.data[i], r.data[i]);
    setT(o->getResult(0), std::move(t));
    return true;
  }

  /// Runs |region| (a callee's body, a gm.iwae region) on |args|.
  bool run(mlir::Region &region, llvm::ArrayRef<RtValue> args, std::vector<RtValue> &results);
  /// Records a runtime error at |op| (with its .gm location); returns false.
  bool fail(mlir::Operation *op, const llvm::Twine &msg);
  /// The storage of parameter |name| (read by gm.param_ref, written by
  /// gm.assign).
  Tensor &param(llvm::StringRef name);
  Real scheduleAlpha() const;

private:
  Evaluator &e;
};

using Rule = std::function<bool(mlir::Operation *, Frame &)>;

/// Op -> rule, by the op's TypeID.
class Rules {
public:
  /// Registers |f|, callable as f(OpT, Frame &), for each op of |OpTs|.
  template <typename... OpTs, typename F> void def(F f) { (add<OpTs>(f), ...); }
  const Rule *lookup(mlir::Operation *op) const {
    auto it = table.find(op->getName().getTypeID());
    return it == table.end() ? nullptr : &it->second;
  }

private:
  template <typename OpT, typename F> void add(F f) {
    table[mlir::TypeID::get<OpT>()] = [f](mlir::Operation *op, Frame &frame) {
      return f(llvm::cast<OpT>(op), frame);
    };
  }
  llvm::DenseMap<mlir::TypeID, Rule> table;
};

/// Every family's rules (Rules.cpp); built once.
const Rules &allRules();

void registerStructureRules(Rules &rules);
void registerElementwiseRules(Rules &rules);
void registerShapeRules(Rules &rules);
void registerLayerRules(Rules &rules);
void registerStochasticRules(Rules &rules);

} // namespace gm::eval

#endif // GM_COMPILER_EVAL_RULES_H
