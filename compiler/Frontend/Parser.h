//===- Parser.h - recursive-descent parser for .gm --------------*- C++ -*-===//
//
// Parses one `model NAME { ... }` into a ModelAST. The grammar is in
// docs/language.md. The parser stops at the first error, which it reports
// through the callback with the position of the offending token; it bounds
// its recursion, so no input can exhaust the stack.
//
//===----------------------------------------------------------------------===//

#ifndef GM_COMPILER_FRONTEND_PARSER_H
#define GM_COMPILER_FRONTEND_PARSER_H

#include "compiler/Frontend/AST.h"
#include "compiler/Frontend/Lexer.h"

#include "llvm/ADT/Twine.h"

#include <functional>
#include <memory>

namespace gm {

/// Receives one error: where, and the message (lowercase, no "error:").
using DiagnosticFn = std::function<void(Loc, const llvm::Twine &)>;

/// Parses `buffer`; returns null after reporting an error through `diag`.
std::unique_ptr<ModelAST> parseModel(llvm::StringRef buffer,
                                     const DiagnosticFn &diag);

} // namespace gm

#endif // GM_COMPILER_FRONTEND_PARSER_H
