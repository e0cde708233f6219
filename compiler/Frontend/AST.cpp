//===- AST.cpp - printing the .gm syntax tree (gmc -emit=ast) -------------===//

#include "compiler/Frontend/AST.h"

#include "llvm/Support/Format.h"

using namespace gm;

namespace {

class Dumper {
public:
  explicit Dumper(llvm::raw_ostream &os) : os(os) {}

  void model(const ModelAST &m);

private:
  llvm::raw_ostream &indent() { return os.indent(level * 2); }
  static std::string at(Loc loc) {
    return " @" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
  }
  static std::string dims(const std::vector<int64_t> &d) {
    std::string s = "[";
    for (size_t i = 0; i < d.size(); ++i)
      s += (i ? ", " : "") + std::to_string(d[i]);
    return s + "]";
  }
  void expr(const Expr &e);
  void exprLine(llvm::StringRef label, const Expr *e) {
    if (!e)
      return;
    indent() << label << ":\n";
    ++level;
    expr(*e);
    --level;
  }
  void assigns(const std::vector<Assign> &list) {
    for (const Assign &a : list) {
      indent() << "Assign";
      for (const Name &t : a.targets)
        os << " " << t.text;
      os << at(a.targets.front().loc) << "\n";
      ++level;
      expr(*a.value);
      --level;
    }
  }

  llvm::raw_ostream &os;
  unsigned level = 0;
};

void Dumper::expr(const Expr &e) {
  switch (e.kind) {
  case Expr::Kind::Number:
    indent() << "Number " << llvm::format("%g", e.number) << at(e.loc) << "\n";
    return;
  case Expr::Kind::Ref:
    indent() << "Ref " << e.name << at(e.loc) << "\n";
    return;
  case Expr::Kind::Call:
    indent() << "Call " << e.name << at(e.loc) << "\n";
    ++level;
    for (const Arg &a : e.args) {
      if (!a.key.text.empty()) {
        indent() << a.key.text << " =\n";
        ++level;
        expr(*a.value);
        --level;
      } else {
        expr(*a.value);
      }
    }
    --level;
    return;
  case Expr::Kind::Binary:
    indent() << "Binary " << e.op << at(e.loc) << "\n";
    break;
  case Expr::Kind::Neg:
    indent() << "Neg" << at(e.loc) << "\n";
    break;
  case Expr::Kind::List:
    indent() << "List" << at(e.loc) << "\n";
    break;
  case Expr::Kind::Dist:
    indent() << "Dist " << e.name << "(" << e.var.text
             << (e.operands.empty() ? "" : " | ...") << ")" << at(e.loc)
             << "\n";
    break;
  case Expr::Kind::LogProb:
    indent() << "LogProb" << at(e.loc) << "\n";
    break;
  case Expr::Kind::KL:
    indent() << "KL" << at(e.loc) << "\n";
    break;
  case Expr::Kind::Sample:
    indent() << "Sample" << at(e.loc) << "\n";
    break;
  }
  ++level;
  for (const ExprPtr &op : e.operands)
    expr(*op);
  --level;
}

void Dumper::model(const ModelAST &m) {
  os << "Model " << m.name.text << at(m.name.loc) << "\n";
  level = 1;
  for (const ConstDecl &c : m.consts) {
    indent() << "Const " << c.name.text << at(c.name.loc) << "\n";
    ++level;
    expr(*c.value);
    --level;
  }
  for (const DataDecl &d : m.data) {
    indent() << "Data " << d.name.text << ": " << d.dtype.text << dims(d.dims);
    if (d.vocab)
      os << " vocab " << *d.vocab;
    if (d.source)
      os << " from \"" << *d.source << "\"";
    os << at(d.name.loc) << "\n";
  }
  for (const ParamDecl &p : m.params) {
    indent() << "Param " << p.name.text << dims(p.dims) << at(p.name.loc)
             << "\n";
    ++level;
    exprLine("init", p.init.get());
    --level;
  }
  for (const NetDecl &n : m.nets) {
    indent() << "Net " << n.name.text << "(";
    for (size_t i = 0; i < n.args.size(); ++i)
      os << (i ? ", " : "") << n.args[i].text
         << (n.argDims[i] ? ": " + dims(*n.argDims[i]) : "");
    os << ")" << at(n.name.loc) << "\n";
    ++level;
    assigns(n.body);
    indent() << "Return" << at(n.returnLoc) << "\n";
    ++level;
    for (const ExprPtr &r : n.results)
      expr(*r);
    level -= 2;
  }
  for (const DistDecl &d : m.dists) {
    static const char *roles[] = {"Prior", "Posterior", "Likelihood"};
    indent() << roles[(int)d.role] << " " << d.name.text << "(" << d.var.text;
    for (size_t i = 0; i < d.conds.size(); ++i)
      os << (i ? ", " : " | ") << d.conds[i].text;
    os << ")" << (d.dims ? " : " + dims(*d.dims) : "") << at(d.loc) << "\n";
    ++level;
    expr(*d.dist);
    --level;
  }
  for (const ObjectiveDecl &o : m.objectives) {
    indent() << "Objective " << o.name.text << at(o.name.loc) << "\n";
    ++level;
    expr(*o.value);
    --level;
  }
  for (const GroupDecl &g : m.groups) {
    indent() << "Group " << g.name.text << " =";
    for (const Name &n : g.members)
      os << " " << n.text;
    os << at(g.name.loc) << "\n";
  }
  for (const TrainDecl &t : m.trains) {
    indent() << "Train " << (t.name.text.empty() ? "" : t.name.text + " ")
             << (t.maximize ? "maximize " : "minimize ") << t.objective.text;
    if (!t.over.empty()) {
      os << " over";
      for (const Name &n : t.over)
        os << " " << n.text;
    }
    if (t.batch)
      os << " batch " << *t.batch;
    os << at(t.loc) << "\n";
    ++level;
    exprLine("optimizer", t.optimizer.get());
    --level;
  }
  for (const MinimaxDecl &mm : m.minimaxes) {
    indent() << "Minimax " << mm.name.text << at(mm.name.loc) << "\n";
    ++level;
    indent() << "discriminator";
    for (const Name &n : mm.discriminator)
      os << " " << n.text;
    os << "\n";
    indent() << "generator";
    for (const Name &n : mm.generator)
      os << " " << n.text;
    os << "\n";
    indent() << "generator_loss "
             << (mm.genLoss.text.empty() ? "non_saturating" : mm.genLoss.text)
             << " k " << mm.k.value_or(1) << "\n";
    assigns(mm.lets);
    exprLine("value", mm.value.get());
    exprLine("discriminator_loss", mm.discLoss.get());
    exprLine("generator_loss", mm.genLossExpr.get());
    exprLine("discriminator_extra", mm.discExtra.get());
    exprLine("generator_extra", mm.genExtra.get());
    exprLine("discriminator optimizer", mm.discOptimizer.get());
    exprLine("generator optimizer", mm.genOptimizer.get());
    --level;
  }
  for (const ProgressiveDecl &p : m.progressives)
    indent() << "Progressive " << p.name.text << " resolutions "
             << dims(p.resolutions) << " epochs_per_stage "
             << p.epochsPerStage << " fade " << llvm::format("%g", p.fade)
             << at(p.name.loc)
             << "\n";
}

} // namespace

void gm::dumpAST(const ModelAST &model, llvm::raw_ostream &os) {
  Dumper(os).model(model);
}
