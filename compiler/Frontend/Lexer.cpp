//===- Lexer.cpp - tokens of the .gm language -----------------------------===//

#include "compiler/Frontend/Lexer.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

using namespace gm;

const char *gm::tokName(Tok kind) {
  switch (kind) {
  case Tok::Eof: return "end of file";
  case Tok::Error: return "invalid token";
  case Tok::Ident: return "identifier";
  case Tok::Number: return "number";
  case Tok::String: return "string";
  case Tok::LBrace: return "'{'";
  case Tok::RBrace: return "'}'";
  case Tok::LParen: return "'('";
  case Tok::RParen: return "')'";
  case Tok::LBracket: return "'['";
  case Tok::RBracket: return "']'";
  case Tok::Comma: return "','";
  case Tok::Colon: return "':'";
  case Tok::Semi: return "';'";
  case Tok::Equal: return "'='";
  case Tok::Plus: return "'+'";
  case Tok::Minus: return "'-'";
  case Tok::Star: return "'*'";
  case Tok::Slash: return "'/'";
  case Tok::Bar: return "'|'";
  case Tok::BarBar: return "'||'";
  case Tok::Tilde: return "'~'";
  }
  return "token";
}

void Lexer::advance() {
  if (buf[pos] == '\n') {
    ++line;
    col = 1;
  } else {
    ++col;
  }
  ++pos;
}

void Lexer::skipSpaceAndComments() {
  while (pos < buf.size()) {
    char c = buf[pos];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      advance();
    } else if (c == '#') {
      while (pos < buf.size() && buf[pos] != '\n')
        advance();
    } else {
      return;
    }
  }
}

Token Lexer::make(Tok kind, size_t start) {
  Token tok;
  tok.kind = kind;
  tok.text = buf.slice(start, pos);
  tok.loc = Loc{tokLine, tokCol};
  return tok;
}

Token Lexer::next() {
  skipSpaceAndComments();
  tokLine = line;
  tokCol = col;
  size_t start = pos;
  if (pos >= buf.size())
    return make(Tok::Eof, start);

  unsigned char c = buf[pos];
  if (std::isalpha(c) || c == '_') {
    while (pos < buf.size() &&
           (std::isalnum((unsigned char)buf[pos]) || buf[pos] == '_'))
      advance();
    return make(Tok::Ident, start);
  }
  if (std::isdigit(c) ||
      (c == '.' && pos + 1 < buf.size() && std::isdigit((unsigned char)buf[pos + 1])))
    return lexNumber(start);
  if (c == '"')
    return lexString(start);

  advance();
  switch (c) {
  case '{': return make(Tok::LBrace, start);
  case '}': return make(Tok::RBrace, start);
  case '(': return make(Tok::LParen, start);
  case ')': return make(Tok::RParen, start);
  case '[': return make(Tok::LBracket, start);
  case ']': return make(Tok::RBracket, start);
  case ',': return make(Tok::Comma, start);
  case ':': return make(Tok::Colon, start);
  case ';': return make(Tok::Semi, start);
  case '=': return make(Tok::Equal, start);
  case '+': return make(Tok::Plus, start);
  case '-': return make(Tok::Minus, start);
  case '*': return make(Tok::Star, start);
  case '/': return make(Tok::Slash, start);
  case '~': return make(Tok::Tilde, start);
  case '|':
    if (pos < buf.size() && buf[pos] == '|') {
      advance();
      return make(Tok::BarBar, start);
    }
    return make(Tok::Bar, start);
  default:
    break;
  }
  Token tok = make(Tok::Error, start);
  std::string msg;
  llvm::raw_string_ostream os(msg);
  if (std::isprint(c))
    os << "unexpected character '" << (char)c << "'";
  else
    os << "unexpected byte 0x" << llvm::format_hex_no_prefix(c, 2);
  tok.error = msg;
  return tok;
}

Token Lexer::lexNumber(size_t start) {
  bool isInteger = true;
  while (pos < buf.size() && std::isdigit((unsigned char)buf[pos]))
    advance();
  if (pos < buf.size() && buf[pos] == '.') {
    isInteger = false;
    advance();
    while (pos < buf.size() && std::isdigit((unsigned char)buf[pos]))
      advance();
  }
  if (pos < buf.size() && (buf[pos] == 'e' || buf[pos] == 'E')) {
    size_t save = pos;
    unsigned saveCol = col;
    advance();
    if (pos < buf.size() && (buf[pos] == '+' || buf[pos] == '-'))
      advance();
    if (pos < buf.size() && std::isdigit((unsigned char)buf[pos])) {
      isInteger = false;
      while (pos < buf.size() && std::isdigit((unsigned char)buf[pos]))
        advance();
    } else {
      pos = save; // `2e` is the number 2 followed by the name e
      col = saveCol;
    }
  }
  Token tok = make(Tok::Number, start);
  tok.isInteger = isInteger;
  std::string text = tok.text.str();
  errno = 0;
  tok.number = std::strtod(text.c_str(), nullptr);
  // Integers must be exact in a double and fit an int64 shape dimension.
  if (errno == ERANGE || !std::isfinite(tok.number) ||
      (isInteger && tok.number > 9007199254740992.0)) {
    tok.kind = Tok::Error;
    tok.error = "number '" + text + "' is out of range";
  }
  return tok;
}

Token Lexer::lexString(size_t start) {
  advance(); // opening quote
  while (pos < buf.size() && buf[pos] != '"' && buf[pos] != '\n')
    advance();
  if (pos >= buf.size() || buf[pos] != '"') {
    Token tok = make(Tok::Error, start);
    tok.error = "unterminated string";
    return tok;
  }
  advance(); // closing quote
  return make(Tok::String, start);
}
