//===- Lexer.h - tokens of the .gm language ---------------------*- C++ -*-===//
//
// Splits a .gm buffer into tokens. Keywords are ordinary identifiers: the
// parser gives them meaning by position, so `data` or `log` stay usable as
// names where nothing else is expected. Comments run from `#` to the end of
// the line. The lexer never reads past the buffer and turns every byte it
// does not understand into an error token, so any input is safe to feed it.
//
//===----------------------------------------------------------------------===//

#ifndef GM_COMPILER_FRONTEND_LEXER_H
#define GM_COMPILER_FRONTEND_LEXER_H

#include "compiler/Frontend/AST.h"

#include "llvm/ADT/StringRef.h"

#include <string>

namespace gm {

enum class Tok {
  Eof,
  Error,      // a byte or literal the lexer rejects; text says why
  Ident,
  Number,
  String,
  LBrace, RBrace, LParen, RParen, LBracket, RBracket,
  Comma, Colon, Semi, Equal, Plus, Minus, Star, Slash, Bar, BarBar, Tilde,
};

/// A human-readable name of a token kind, for "expected ..." messages.
const char *tokName(Tok kind);

struct Token {
  Tok kind = Tok::Eof;
  llvm::StringRef text; // points into the source buffer
  Loc loc;
  double number = 0;     // value of a Number
  bool isInteger = false; // a Number written without '.' or exponent
  std::string error;     // message of an Error token
};

class Lexer {
public:
  /// Lexes `buffer`; the buffer must outlive the lexer and its tokens.
  explicit Lexer(llvm::StringRef buffer) : buf(buffer) {}

  /// Returns the next token; Eof forever after the end.
  Token next();

private:
  void skipSpaceAndComments();
  Token make(Tok kind, size_t start);
  Token lexNumber(size_t start);
  Token lexString(size_t start);

  llvm::StringRef buf;
  size_t pos = 0;
  unsigned line = 1, col = 1;
  unsigned tokLine = 1, tokCol = 1;
  void advance();
};

} // namespace gm

#endif // GM_COMPILER_FRONTEND_LEXER_H
