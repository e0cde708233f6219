//===- Parser.cpp - recursive-descent parser for .gm ----------------------===//
//
// One function per grammar rule (docs/language.md). Every parse function
// returns false (or null) after reporting, and callers return at once, so
// the first error is the only one printed.
//
//===----------------------------------------------------------------------===//

#include "compiler/Frontend/Parser.h"

#include "llvm/ADT/STLExtras.h"

#include "llvm/ADT/StringSwitch.h"

#include <vector>

using namespace gm;

namespace {

/// Deeper nesting than this is rejected instead of recursing further.
constexpr unsigned kMaxDepth = 200;
/// Dimensions are stored as int64 and multiplied: keep each well below 2^31.
constexpr double kMaxDim = 1 << 30;

class Parser {
public:
  Parser(llvm::StringRef buffer, const DiagnosticFn &diag) : diag(diag) {
    Lexer lexer(buffer);
    do {
      toks.push_back(lexer.next());
    } while (toks.back().kind != Tok::Eof && toks.back().kind != Tok::Error);
  }

  std::unique_ptr<ModelAST> parseModel();

private:
  // Token access ----------------------------------------------------------
  const Token &cur() const { return toks[std::min(pos, toks.size() - 1)]; }
  const Token &peek(size_t n = 1) const {
    return toks[std::min(pos + n, toks.size() - 1)];
  }
  void consume() {
    if (pos + 1 < toks.size())
      ++pos;
  }
  bool is(Tok kind) const { return cur().kind == kind; }
  bool isIdent(llvm::StringRef text) const {
    return is(Tok::Ident) && cur().text == text;
  }

  /// Reports at the current token; a lexer error token reports its own text.
  bool error(const llvm::Twine &msg) {
    if (is(Tok::Error))
      diag(cur().loc, cur().error);
    else
      diag(cur().loc, msg);
    return false;
  }
  bool errorAt(Loc loc, const llvm::Twine &msg) {
    diag(loc, msg);
    return false;
  }
  std::string describeCur() const {
    if (is(Tok::Eof))
      return "end of file";
    return "'" + cur().text.str() + "'";
  }
  bool expect(Tok kind, const llvm::Twine &context) {
    if (is(kind)) {
      consume();
      return true;
    }
    return error(llvm::Twine("expected ") + tokName(kind) + " " + context +
                 ", got " + describeCur());
  }
  bool expectKeyword(llvm::StringRef word, const llvm::Twine &context) {
    if (isIdent(word)) {
      consume();
      return true;
    }
    return error("expected '" + word + "' " + context + ", got " +
                 describeCur());
  }
  bool parseName(Name &out, const llvm::Twine &what) {
    if (!is(Tok::Ident))
      return error("expected " + what + ", got " + describeCur());
    out = Name{cur().text.str(), cur().loc};
    consume();
    return true;
  }
  bool parseNameList(std::vector<Name> &out, const llvm::Twine &what) {
    do {
      Name n;
      if (!parseName(n, what))
        return false;
      out.push_back(n);
    } while (is(Tok::Comma) && (consume(), true));
    return true;
  }
  void skipSemis() {
    while (is(Tok::Semi))
      consume();
  }

  bool parseInteger(int64_t &out, llvm::StringRef what, double min = 0,
                    double max = kMaxDim) {
    if (!is(Tok::Number) || !cur().isInteger)
      return error("expected " + what + " (an integer), got " + describeCur());
    double v = cur().number;
    if (v < min || v > max)
      return error(what + " must be between " + llvm::Twine((int64_t)min) +
                   " and " + llvm::Twine((int64_t)max) + ", got " +
                   cur().text);
    out = (int64_t)v;
    consume();
    return true;
  }
  bool parseNumber(double &out, llvm::StringRef what) {
    bool neg = false;
    if (is(Tok::Minus)) {
      neg = true;
      consume();
    }
    if (!is(Tok::Number))
      return error("expected " + what + " (a number), got " + describeCur());
    out = neg ? -cur().number : cur().number;
    consume();
    return true;
  }
  bool parseDims(std::vector<int64_t> &dims, Loc &loc);

  // Declarations -----------------------------------------------------------
  bool parseDecl(ModelAST &model);
  bool parseConst(ModelAST &model);
  bool parseData(ModelAST &model);
  bool parseParam(ModelAST &model);
  bool parseNet(ModelAST &model);
  bool parseAssign(std::vector<Assign> &out);
  bool parseDistDecl(ModelAST &model, DistDecl::Role role);
  bool parseObjective(ModelAST &model);
  bool parseGroup(ModelAST &model);
  bool parseTrain(ModelAST &model);
  bool parseMinimax(ModelAST &model);
  bool parseProgressive(ModelAST &model);

  // Expressions ------------------------------------------------------------
  ExprPtr parseExpr();
  ExprPtr parseBinary(unsigned level);
  ExprPtr parseUnary();
  ExprPtr parsePrimary();
  ExprPtr parseCallArgs(ExprPtr call);
  ExprPtr parseDistRef(llvm::StringRef context);

  const DiagnosticFn &diag;
  std::vector<Token> toks;
  size_t pos = 0;
  unsigned depth = 0;
};

/// Counts nesting for the lifetime of a parse call.
struct DepthGuard {
  unsigned &depth;
  explicit DepthGuard(unsigned &depth) : depth(depth) { ++depth; }
  ~DepthGuard() { --depth; }
};

} // namespace

std::unique_ptr<ModelAST> Parser::parseModel() {
  auto model = std::make_unique<ModelAST>();
  if (!expectKeyword("model", "at the start of the file") ||
      !parseName(model->name, "a model name") ||
      !expect(Tok::LBrace, "after the model name"))
    return nullptr;
  while (true) {
    skipSemis();
    if (is(Tok::RBrace))
      break;
    if (is(Tok::Eof)) {
      error("expected '}' to close model '" + model->name.text +
            "', got end of file");
      return nullptr;
    }
    if (!parseDecl(*model))
      return nullptr;
  }
  consume();
  if (!is(Tok::Eof)) {
    error("expected end of file after the model, got " + describeCur());
    return nullptr;
  }
  return model;
}

bool Parser::parseDims(std::vector<int64_t> &dims, Loc &loc) {
  loc = cur().loc;
  if (!expect(Tok::LBracket, "to start a shape"))
    return false;
  do {
    int64_t d;
    if (!parseInteger(d, "a dimension", 1))
      return false;
    dims.push_back(d);
  } while (is(Tok::Comma) && (consume(), true));
  if (dims.size() > 6)
    return errorAt(loc, "shapes have at most 6 dimensions, got " +
                            llvm::Twine(dims.size()));
  double elements = 1;
  for (int64_t d : dims)
    elements *= d;
  if (elements > kMaxDim)
    return errorAt(loc, "shape has too many elements per example (" +
                            llvm::Twine((int64_t)elements) + ", limit 2^30)");
  return expect(Tok::RBracket, "to end the shape");
}

bool Parser::parseDecl(ModelAST &model) {
  if (!is(Tok::Ident))
    return error("expected a declaration, got " + describeCur());
  llvm::StringRef word = cur().text;
  if (word == "const") return parseConst(model);
  if (word == "data") return parseData(model);
  if (word == "param") return parseParam(model);
  if (word == "net") return parseNet(model);
  if (word == "prior") return parseDistDecl(model, DistDecl::Role::Prior);
  if (word == "posterior") return parseDistDecl(model, DistDecl::Role::Posterior);
  if (word == "likelihood") return parseDistDecl(model, DistDecl::Role::Likelihood);
  if (word == "objective") return parseObjective(model);
  if (word == "group") return parseGroup(model);
  if (word == "train") return parseTrain(model);
  if (word == "minimax") return parseMinimax(model);
  if (word == "progressive") return parseProgressive(model);
  return error("unknown declaration '" + word +
               "'; expected data, param, const, net, prior, posterior, "
               "likelihood, objective, group, train, minimax or progressive");
}

bool Parser::parseConst(ModelAST &model) {
  consume();
  ConstDecl decl;
  if (!parseName(decl.name, "a constant name") ||
      !expect(Tok::Equal, "after the constant name"))
    return false;
  decl.value = parseExpr();
  if (!decl.value)
    return false;
  model.consts.push_back(std::move(decl));
  return true;
}

bool Parser::parseData(ModelAST &model) {
  consume();
  DataDecl decl;
  if (!parseName(decl.name, "a data name") ||
      !expect(Tok::Colon, "after the data name") ||
      !parseName(decl.dtype, "a data type (f32, label or tokens)"))
    return false;
  if (decl.dtype.text != "f32" && decl.dtype.text != "label" &&
      decl.dtype.text != "tokens")
    return errorAt(decl.dtype.loc, "unknown data type '" + decl.dtype.text +
                                       "'; expected f32, label or tokens");
  if (!parseDims(decl.dims, decl.dimsLoc))
    return false;
  if (isIdent("vocab")) {
    consume();
    int64_t v;
    if (!parseInteger(v, "a vocabulary size", 1))
      return false;
    decl.vocab = v;
  }
  if (isIdent("from")) {
    consume();
    if (!is(Tok::String))
      return error("expected a string after 'from', got " + describeCur());
    decl.source = cur().text.drop_front().drop_back().str();
    consume();
  }
  model.data.push_back(std::move(decl));
  return true;
}

bool Parser::parseParam(ModelAST &model) {
  consume();
  ParamDecl decl;
  if (!parseName(decl.name, "a parameter name") ||
      !expect(Tok::Colon, "after the parameter name") ||
      !parseDims(decl.dims, decl.dimsLoc))
    return false;
  if (isIdent("init")) {
    consume();
    decl.init = parsePrimary();
    if (!decl.init)
      return false;
  }
  model.params.push_back(std::move(decl));
  return true;
}

bool Parser::parseNet(ModelAST &model) {
  consume();
  NetDecl net;
  if (!parseName(net.name, "a net name") ||
      !expect(Tok::LParen, "after the net name"))
    return false;
  if (!is(Tok::RParen)) {
    do {
      Name arg;
      if (!parseName(arg, "an argument name"))
        return false;
      net.args.push_back(arg);
      std::optional<std::vector<int64_t>> dims;
      if (is(Tok::Colon)) {
        consume();
        std::vector<int64_t> d;
        Loc loc;
        if (!parseDims(d, loc))
          return false;
        dims = d;
      }
      net.argDims.push_back(dims);
    } while (is(Tok::Comma) && (consume(), true));
  }
  if (!expect(Tok::RParen, "to close the argument list") ||
      !expect(Tok::LBrace, "to open the net body"))
    return false;
  while (true) {
    skipSemis();
    if (isIdent("return") && peek().kind != Tok::Equal &&
        peek().kind != Tok::Comma)
      break;
    if (is(Tok::RBrace) || is(Tok::Eof))
      return error("expected 'return' at the end of net '" + net.name.text +
                   "', got " + describeCur());
    if (!parseAssign(net.body))
      return false;
  }
  net.returnLoc = cur().loc;
  consume();
  do {
    ExprPtr e = parseExpr();
    if (!e)
      return false;
    net.results.push_back(std::move(e));
  } while (is(Tok::Comma) && (consume(), true));
  skipSemis();
  if (!expect(Tok::RBrace, "after the return of net '" + net.name.text + "'"))
    return false;
  model.nets.push_back(std::move(net));
  return true;
}

bool Parser::parseAssign(std::vector<Assign> &out) {
  Assign assign;
  if (!parseNameList(assign.targets, "a name to assign"))
    return false;
  if (!expect(Tok::Equal, "after the assigned name(s)"))
    return false;
  assign.value = parseExpr();
  if (!assign.value)
    return false;
  out.push_back(std::move(assign));
  return true;
}

bool Parser::parseDistDecl(ModelAST &model, DistDecl::Role role) {
  DistDecl decl;
  decl.role = role;
  decl.loc = cur().loc;
  llvm::StringRef roleName = cur().text;
  consume();
  if (!parseName(decl.name, "a distribution name") ||
      !expect(Tok::LParen, "after the distribution name") ||
      !parseName(decl.var, "the variable it is over"))
    return false;
  if (is(Tok::Bar)) {
    consume();
    if (!parseNameList(decl.conds, "a conditioning variable"))
      return false;
  }
  if (role == DistDecl::Role::Posterior && decl.conds.empty())
    return error("a posterior must be conditioned, as in q(z | x); got " +
                 describeCur());
  if (!expect(Tok::RParen, "to close the " + roleName) ||
      !expect(Tok::Equal, "before the distribution"))
    return false;
  decl.dist = parseExpr();
  if (!decl.dist)
    return false;
  if (is(Tok::Colon)) {
    consume();
    std::vector<int64_t> dims;
    if (!parseDims(dims, decl.dimsLoc))
      return false;
    decl.dims = dims;
  }
  model.dists.push_back(std::move(decl));
  return true;
}

bool Parser::parseObjective(ModelAST &model) {
  consume();
  ObjectiveDecl decl;
  if (!parseName(decl.name, "an objective name") ||
      !expect(Tok::Equal, "after the objective name"))
    return false;
  decl.value = parseExpr();
  if (!decl.value)
    return false;
  model.objectives.push_back(std::move(decl));
  return true;
}

bool Parser::parseGroup(ModelAST &model) {
  consume();
  GroupDecl decl;
  if (!parseName(decl.name, "a group name") ||
      !expect(Tok::Equal, "after the group name") ||
      !parseNameList(decl.members, "a net, parameter or group"))
    return false;
  model.groups.push_back(std::move(decl));
  return true;
}

bool Parser::parseTrain(ModelAST &model) {
  TrainDecl decl;
  decl.loc = cur().loc;
  consume();
  if (is(Tok::Ident) && peek().kind == Tok::Colon) {
    decl.name = Name{cur().text.str(), cur().loc};
    consume();
    consume();
  }
  if (isIdent("maximize"))
    decl.maximize = true;
  else if (!isIdent("minimize"))
    return error("expected 'maximize' or 'minimize', got " + describeCur());
  consume();
  if (!parseName(decl.objective, "an objective name"))
    return false;
  if (isIdent("over")) {
    consume();
    if (!parseNameList(decl.over, "a net, parameter or group"))
      return false;
  }
  if (!expectKeyword("using", "before the optimizer"))
    return false;
  decl.optimizer = parsePrimary();
  if (!decl.optimizer)
    return false;
  if (isIdent("batch")) {
    consume();
    int64_t b;
    if (!parseInteger(b, "a batch size", 1, 1 << 20))
      return false;
    decl.batch = b;
  }
  model.trains.push_back(std::move(decl));
  return true;
}

bool Parser::parseMinimax(ModelAST &model) {
  consume();
  MinimaxDecl decl;
  if (!parseName(decl.name, "a minimax name") ||
      !expect(Tok::LBrace, "to open the minimax block"))
    return false;
  while (true) {
    skipSemis();
    if (is(Tok::RBrace))
      break;
    if (!is(Tok::Ident))
      return error("expected a minimax item, got " + describeCur());
    llvm::StringRef word = cur().text;
    Loc loc = cur().loc;
    bool isItem = peek().kind != Tok::Comma &&
                  (peek().kind != Tok::Equal || word == "value" ||
                   word == "generator_loss" || word == "discriminator_loss" || word == "k" ||
                   word == "generator_extra" || word == "discriminator_extra");
    if (isItem && (word == "discriminator" || word == "generator")) {
      consume();
      bool disc = word == "discriminator";
      std::vector<Name> &players = disc ? decl.discriminator : decl.generator;
      if (!players.empty())
        return errorAt(loc, "minimax '" + decl.name.text + "' has two '" +
                                word + "' lines");
      (disc ? decl.discLoc : decl.genLoc) = loc;
      if (!parseNameList(players, "a net, parameter or group") ||
          !expectKeyword("using", "before the optimizer"))
        return false;
      ExprPtr opt = parsePrimary();
      if (!opt)
        return false;
      (disc ? decl.discOptimizer : decl.genOptimizer) = std::move(opt);
    } else if (isItem && word == "batch") {
      consume();
      int64_t b;
      if (!parseInteger(b, "a batch size", 1, 1 << 20))
        return false;
      decl.batch = b;
    } else if (isItem) {
      consume();
      if (!expect(Tok::Equal, "after '" + word + "'"))
        return false;
      if (word == "value") {
        decl.valueLoc = loc;
        if (!(decl.value = parseExpr()))
          return false;
      } else if (word == "generator_loss") {
        // A keyword, how the generator plays gan() terms; or an expression,
        // its own loss.
        Loc at = cur().loc;
        ExprPtr e = parseExpr();
        if (!e)
          return false;
        if (e->kind == Expr::Kind::Ref &&
            (e->name == "saturating" || e->name == "non_saturating")) {
          decl.genLoss = Name{e->name, at};
        } else {
          decl.genLossExpr = std::move(e);
          decl.genLossLoc = at;
        }
      } else if (word == "discriminator_loss") {
        decl.discLossLoc = cur().loc;
        if (!(decl.discLoss = parseExpr()))
          return false;
      } else if (word == "k") {
        int64_t k;
        if (!parseInteger(k, "k (discriminator steps per generator step)", 1,
                          1000))
          return false;
        decl.k = k;
      } else if (word == "generator_extra") {
        if (!(decl.genExtra = parseExpr()))
          return false;
      } else {
        if (!(decl.discExtra = parseExpr()))
          return false;
      }
    } else if (peek().kind == Tok::Equal || peek().kind == Tok::Comma) {
      if (!parseAssign(decl.lets))
        return false;
    } else {
      return error("unknown minimax item '" + word +
                   "'; expected discriminator, generator, value, "
                   "discriminator_loss, generator_loss, k, generator_extra, "
                   "discriminator_extra, batch or an assignment");
    }
  }
  Loc close = cur().loc;
  consume();
  // A bare name as the generator's loss is one of the block's assignments;
  // anything else is a misspelt keyword.
  if (decl.genLossExpr && decl.genLossExpr->kind == Expr::Kind::Ref &&
      llvm::none_of(decl.lets, [&](const Assign &a) {
        return llvm::any_of(a.targets, [&](const Name &n) { return n.text == decl.genLossExpr->name; });
      }))
    return errorAt(decl.genLossLoc, "unknown generator loss '" + decl.genLossExpr->name +
                                        "'; expected saturating or non_saturating, or "
                                        "the generator's own loss");
  if (decl.discriminator.empty())
    return errorAt(close, "minimax '" + decl.name.text +
                              "' needs a 'discriminator ... using ...' line");
  if (decl.generator.empty())
    return errorAt(close, "minimax '" + decl.name.text +
                              "' needs a 'generator ... using ...' line");
  // A zero-sum value both players use, or a loss for each.
  if (decl.value && decl.discLoss)
    return errorAt(decl.discLossLoc,
                   "minimax '" + decl.name.text +
                       "' has a value, which is the discriminator's loss "
                       "negated; give a value or a loss per player, not both");
  if (decl.value && decl.genLossExpr)
    return errorAt(decl.genLossLoc,
                   "minimax '" + decl.name.text +
                       "' has a value, which the generator minimises; give a "
                       "value or a loss per player, not both");
  if (!decl.value && !(decl.discLoss && decl.genLossExpr))
    return errorAt(close, "minimax '" + decl.name.text +
                              "' needs a 'value = ...' line, or both "
                              "'discriminator_loss = ...' and "
                              "'generator_loss = ...'");
  if (decl.discLoss && decl.discExtra)
    return errorAt(decl.discLossLoc, "minimax '" + decl.name.text +
                                         "': 'discriminator_extra' adds to a value's loss; "
                                         "write it into 'discriminator_loss'");
  if (decl.genLossExpr && decl.genExtra)
    return errorAt(decl.genLossLoc, "minimax '" + decl.name.text +
                                        "': 'generator_extra' adds to a value's loss; "
                                        "write it into 'generator_loss'");
  if (!decl.value && !decl.genLoss.text.empty())
    return errorAt(decl.genLoss.loc,
                   "'generator_loss = " + decl.genLoss.text +
                       "' says how the generator plays a value's gan() terms; "
                       "minimax '" + decl.name.text + "' has no value");
  model.minimaxes.push_back(std::move(decl));
  return true;
}

bool Parser::parseProgressive(ModelAST &model) {
  consume();
  ProgressiveDecl decl;
  if (!parseName(decl.name, "a schedule name") ||
      !expect(Tok::LBrace, "to open the progressive block"))
    return false;
  while (true) {
    skipSemis();
    if (is(Tok::RBrace))
      break;
    Name item;
    if (!parseName(item, "resolutions, epochs_per_stage or fade") ||
        !expect(Tok::Equal, "after '" + item.text + "'"))
      return false;
    if (item.text == "resolutions") {
      decl.resolutionsLoc = cur().loc;
      if (!expect(Tok::LBracket, "to start the resolutions"))
        return false;
      do {
        int64_t r;
        if (!parseInteger(r, "a resolution", 1, 1 << 16))
          return false;
        decl.resolutions.push_back(r);
      } while (is(Tok::Comma) && (consume(), true));
      if (!expect(Tok::RBracket, "to end the resolutions"))
        return false;
    } else if (item.text == "epochs_per_stage") {
      if (!parseInteger(decl.epochsPerStage, "epochs per stage", 1, 1 << 20))
        return false;
    } else if (item.text == "fade") {
      Loc loc = cur().loc;
      if (!parseNumber(decl.fade, "the fade-in fraction"))
        return false;
      if (decl.fade < 0 || decl.fade > 1)
        return errorAt(loc, "the fade-in fraction must be in [0, 1]");
    } else {
      return errorAt(item.loc, "unknown progressive item '" + item.text +
                                   "'; expected resolutions, "
                                   "epochs_per_stage or fade");
    }
  }
  Loc close = cur().loc;
  consume();
  if (decl.resolutions.empty())
    return errorAt(close, "progressive '" + decl.name.text +
                              "' needs 'resolutions = [...]'");
  model.progressives.push_back(std::move(decl));
  return true;
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

ExprPtr Parser::parseExpr() {
  DepthGuard guard(depth);
  if (depth > kMaxDepth) {
    error("expression is nested too deeply (more than " +
          llvm::Twine(kMaxDepth) + " levels)");
    return nullptr;
  }
  return parseBinary(0);
}

/// The binary operators of one precedence level, loosest first.
static const char *const kBinaryLevels[] = {"+-", "*/"};

ExprPtr Parser::parseBinary(unsigned level) {
  if (level == std::size(kBinaryLevels))
    return parseUnary();
  llvm::StringRef ops = kBinaryLevels[level];
  ExprPtr lhs = parseBinary(level + 1);
  // Left-associative: a - b - c is (a - b) - c.
  while (lhs && is(Tok::Plus) + is(Tok::Minus) + is(Tok::Star) + is(Tok::Slash) &&
         ops.contains(cur().text.front())) {
    auto bin = std::make_unique<Expr>(Expr::Kind::Binary, cur().loc);
    bin->op = cur().text.front();
    consume();
    ExprPtr rhs = parseBinary(level + 1);
    if (!rhs)
      return nullptr;
    bin->operands.push_back(std::move(lhs));
    bin->operands.push_back(std::move(rhs));
    lhs = std::move(bin);
  }
  return lhs;
}

ExprPtr Parser::parseUnary() {
  if (!is(Tok::Minus))
    return parsePrimary();
  DepthGuard guard(depth);
  if (depth > kMaxDepth) {
    error("expression is nested too deeply (more than " +
          llvm::Twine(kMaxDepth) + " levels)");
    return nullptr;
  }
  auto neg = std::make_unique<Expr>(Expr::Kind::Neg, cur().loc);
  consume();
  ExprPtr operand = parseUnary();
  if (!operand)
    return nullptr;
  neg->operands.push_back(std::move(operand));
  return neg;
}

ExprPtr Parser::parseDistRef(llvm::StringRef context) {
  if (!is(Tok::Ident) || peek().kind != Tok::LParen) {
    error("expected a distribution such as p(x | z) " + context + ", got " +
          describeCur());
    return nullptr;
  }
  auto dist = std::make_unique<Expr>(Expr::Kind::Dist, cur().loc);
  dist->name = cur().text.str();
  consume();
  consume();
  if (!parseName(dist->var, "the variable of the distribution"))
    return nullptr;
  if (is(Tok::Bar)) {
    consume();
    do {
      ExprPtr cond = parseExpr();
      if (!cond)
        return nullptr;
      dist->operands.push_back(std::move(cond));
    } while (is(Tok::Comma) && (consume(), true));
  }
  if (!expect(Tok::RParen, "to close the distribution"))
    return nullptr;
  return dist;
}

ExprPtr Parser::parseCallArgs(ExprPtr call) {
  consume(); // '('
  if (!is(Tok::RParen)) {
    do {
      Arg arg;
      if (is(Tok::Ident) && peek().kind == Tok::Equal) {
        arg.key = Name{cur().text.str(), cur().loc};
        consume();
        consume();
      }
      arg.value = parseExpr();
      if (!arg.value)
        return nullptr;
      call->args.push_back(std::move(arg));
    } while (is(Tok::Comma) && (consume(), true));
  }
  if (!expect(Tok::RParen, "to close the call of '" + call->name + "'"))
    return nullptr;
  return call;
}

ExprPtr Parser::parsePrimary() {
  // Every nested expression comes back through parseExpr, which counts.
  Loc loc = cur().loc;
  if (is(Tok::Number)) {
    auto num = std::make_unique<Expr>(Expr::Kind::Number, loc);
    num->number = cur().number;
    num->isInteger = cur().isInteger;
    consume();
    return num;
  }
  if (is(Tok::LParen)) {
    consume();
    ExprPtr inner = parseExpr();
    if (!inner || !expect(Tok::RParen, "to close the parenthesis"))
      return nullptr;
    return inner;
  }
  if (is(Tok::LBracket)) {
    auto list = std::make_unique<Expr>(Expr::Kind::List, loc);
    consume();
    if (!is(Tok::RBracket)) {
      do {
        ExprPtr e = parseExpr();
        if (!e)
          return nullptr;
        list->operands.push_back(std::move(e));
      } while (is(Tok::Comma) && (consume(), true));
    }
    if (!expect(Tok::RBracket, "to close the list"))
      return nullptr;
    return list;
  }
  if (!is(Tok::Ident)) {
    error("expected an expression, got " + describeCur());
    return nullptr;
  }
  llvm::StringRef word = cur().text;
  // `log p(x | z)`: a log-density; `log(x)` stays the elementwise log.
  if (word == "log" && peek().kind == Tok::Ident) {
    consume();
    auto lp = std::make_unique<Expr>(Expr::Kind::LogProb, loc);
    ExprPtr dist = parseDistRef("after 'log'");
    if (!dist)
      return nullptr;
    lp->operands.push_back(std::move(dist));
    return lp;
  }
  if ((word == "kl" || word == "sample") && peek().kind == Tok::LParen) {
    bool isKL = word == "kl";
    consume();
    consume();
    auto e = std::make_unique<Expr>(isKL ? Expr::Kind::KL : Expr::Kind::Sample,
                                    loc);
    ExprPtr q = parseDistRef(isKL ? "in kl(q || p)" : "in sample(...)");
    if (!q)
      return nullptr;
    e->operands.push_back(std::move(q));
    if (isKL) {
      if (!expect(Tok::BarBar, "between the two distributions of kl"))
        return nullptr;
      ExprPtr p = parseDistRef("in kl(q || p)");
      if (!p)
        return nullptr;
      e->operands.push_back(std::move(p));
    }
    if (!expect(Tok::RParen, isKL ? "to close kl(...)" : "to close sample(...)"))
      return nullptr;
    return e;
  }
  // `name(var | cond)`: a conditioned distribution, e.g. q(c | G(z, c)).
  if (peek().kind == Tok::LParen && peek(2).kind == Tok::Ident &&
      peek(3).kind == Tok::Bar)
    return parseDistRef("");
  auto ref = std::make_unique<Expr>(Expr::Kind::Ref, loc);
  ref->name = word.str();
  consume();
  if (!is(Tok::LParen))
    return ref;
  ref->kind = Expr::Kind::Call;
  return parseCallArgs(std::move(ref));
}

std::unique_ptr<ModelAST> gm::parseModel(llvm::StringRef buffer,
                                         const DiagnosticFn &diag) {
  return Parser(buffer, diag).parseModel();
}
