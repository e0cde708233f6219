//===- AST.h - the abstract syntax tree of a .gm file -----------*- C++ -*-===//
//
// Plain data: what the parser read, with the line and column of every node.
// Nothing here knows about MLIR; MLIRGen is the only code that sees both this
// tree and the IR. `dumpAST` prints it for `gmc -emit=ast`.
//
//===----------------------------------------------------------------------===//

#ifndef GM_COMPILER_FRONTEND_AST_H
#define GM_COMPILER_FRONTEND_AST_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gm {

/// A 1-based source position.
struct Loc {
  unsigned line = 0, col = 0;
};

/// A name with the place it was written.
struct Name {
  std::string text;
  Loc loc;
};

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

/// A call argument, positional (`key` empty) or named (`key = value`).
struct Arg {
  Name key;
  ExprPtr value;
};

struct Expr {
  enum class Kind {
    Number,  // number
    Ref,     // name: a variable, data, latent, constant or parameter
    Call,    // name(args): a primitive, layer, net or distribution
    Binary,  // lhs op rhs, op in + - * /
    Neg,     // -operand
    List,    // [elements]: shapes, permutations, resolutions
    Dist,    // name(var | conds): a declared distribution, e.g. q(z | x)
    LogProb, // log dist: its log-density at its variable's value
    KL,      // kl(dist || dist)
    Sample,  // sample(dist): a fresh draw
  };
  Kind kind;
  Loc loc;
  double number = 0;
  bool isInteger = false;
  std::string name; // Ref, Call and Dist name; Dist's variable is `var`
  Name var;
  char op = 0;
  std::vector<Arg> args;       // Call arguments
  std::vector<ExprPtr> operands; // Binary (2), Neg (1), List, Dist conds,
                                 // LogProb/Sample (1 Dist), KL (2 Dists)

  Expr(Kind kind, Loc loc) : kind(kind), loc(loc) {}
};

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

/// `a, b = expr` inside a net or minimax block.
struct Assign {
  std::vector<Name> targets;
  ExprPtr value;
};

/// `net name(arg[: [dims]], ...) { assigns; return exprs }`.
struct NetDecl {
  Name name;
  std::vector<Name> args;
  std::vector<std::optional<std::vector<int64_t>>> argDims; // per arg
  std::vector<Assign> body;
  std::vector<ExprPtr> results;
  Loc returnLoc;
};

/// `data name: f32|label|tokens[dims] [vocab N] [from "source"]`.
struct DataDecl {
  Name name;
  Name dtype; // f32, label or tokens
  std::vector<int64_t> dims;
  Loc dimsLoc;
  std::optional<int64_t> vocab;
  std::optional<std::string> source;
};

/// `param name: [dims] [init kind[(scale)]]` at model level.
struct ParamDecl {
  Name name;
  std::vector<int64_t> dims;
  Loc dimsLoc;
  ExprPtr init; // Ref or Call, or null for the default
};

/// `const name = number`.
struct ConstDecl {
  Name name;
  ExprPtr value;
};

/// `prior|posterior|likelihood name(var | cond, ...) = dist(...) [: [dims]]`.
struct DistDecl {
  enum class Role { Prior, Posterior, Likelihood };
  Role role;
  Loc loc;
  Name name;
  Name var;
  std::vector<Name> conds;
  ExprPtr dist; // a Call of a distribution constructor
  std::optional<std::vector<int64_t>> dims;
  Loc dimsLoc;
};

/// `objective name = expr`.
struct ObjectiveDecl {
  Name name;
  ExprPtr value;
};

/// `group name = member, ...` (members are nets, params or groups).
struct GroupDecl {
  Name name;
  std::vector<Name> members;
};

/// `train [name:] maximize|minimize objective [over members] using opt(...)
///  [batch N]`.
struct TrainDecl {
  Name name;
  Loc loc;
  bool maximize = false;
  Name objective;
  std::vector<Name> over;
  ExprPtr optimizer; // a Call: adam(...) or sgd(...)
  std::optional<int64_t> batch;
};

/// `minimax name { ... }`: an adversarial game.
struct MinimaxDecl {
  Name name;
  std::vector<Name> discriminator, generator;
  Loc discLoc, genLoc;
  ExprPtr discOptimizer, genOptimizer;
  ExprPtr value; // a zero-sum value; null when each player has a loss
  Loc valueLoc;
  Name genLoss; // saturating or non_saturating; empty = non_saturating
  // Each player's own loss, minimised (LSGAN, hinge): both or neither, and
  // only without a value.
  ExprPtr discLoss, genLossExpr;
  Loc discLossLoc, genLossLoc;
  std::optional<int64_t> k;
  ExprPtr discExtra, genExtra;
  std::vector<Assign> lets;
  std::optional<int64_t> batch;
};

/// `progressive name { resolutions = [...] epochs_per_stage = N fade = f }`.
struct ProgressiveDecl {
  Name name;
  std::vector<int64_t> resolutions;
  Loc resolutionsLoc;
  int64_t epochsPerStage = 1;
  double fade = 0.5;
};

struct ModelAST {
  Name name;
  std::vector<ConstDecl> consts;
  std::vector<DataDecl> data;
  std::vector<ParamDecl> params;
  std::vector<NetDecl> nets;
  std::vector<DistDecl> dists;
  std::vector<ObjectiveDecl> objectives;
  std::vector<GroupDecl> groups;
  std::vector<TrainDecl> trains;
  std::vector<MinimaxDecl> minimaxes;
  std::vector<ProgressiveDecl> progressives;
};

/// Prints `model` as an indented tree (gmc -emit=ast).
void dumpAST(const ModelAST &model, llvm::raw_ostream &os);

} // namespace gm

#endif // GM_COMPILER_FRONTEND_AST_H
