//===- json.h - gm's one JSON library: nlohmann/json, configured once -*- C++ -*-===//
//
// Every JSON text gm parses goes through nlohmann/json (Debian's
// nlohmann-json3-dev, header-only) and through this header: the artifact
// manifest (manifest.h), safetensors checkpoint headers (safetensors.cpp)
// and .npy header dicts once their Python literal is rewritten as JSON
// (data.cpp). There is no other JSON parser in gm. The manifest and
// safetensors headers are written with it too; gmrun's metrics lines, flat
// objects of numbers, are printed directly.
//
// Header-only and shared by the compiler and the runtime. It works with and
// without C++ exceptions: nlohmann turns its throws into std::abort() when
// exceptions are off (-fno-exceptions, or JSON_NOEXCEPTION), so nothing here
// calls a function that throws on input gm does not control. Parsing goes
// through nlohmann's SAX interface, which reports a syntax error as a call
// rather than a throw; values are then read with the is_*() checks before
// any get<>(), which never throws on a type that has been checked.
//
// Input may come from anywhere (a checkpoint downloaded from the web, a
// damaged artifact), so parseJson bounds the nesting depth, rejects
// duplicate keys (which readers would otherwise resolve silently, and
// differently), and rejects anything but exactly one JSON value.
//
//===----------------------------------------------------------------------===//

#ifndef GMRT_JSON_H
#define GMRT_JSON_H

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace gmrt {

/// A JSON value. Objects keep their keys in insertion order, so what gm
/// writes comes out in the order its schema documents, the same every time,
/// and what it reads keeps the file's order (safetensors tensors).
using Json = nlohmann::ordered_json;

namespace json_detail {

/// Builds the value from nlohmann's SAX events with the DOM builder its own
/// json::parse uses (detail::json_sax_dom_parser, stable since 3.2), adding
/// the checks parseJson documents. Syntax errors arrive as parse_error()
/// calls with the byte offset; returning false stops parsing.
class Builder {
public:
  Builder(Json &root, unsigned maxDepth)
      : dom(root, /*allow_exceptions=*/false), maxDepth(maxDepth) {}

  bool null() { return dom.null(); }
  bool boolean(bool v) { return dom.boolean(v); }
  bool number_integer(Json::number_integer_t v) { return dom.number_integer(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return dom.number_unsigned(v); }
  bool number_float(Json::number_float_t v, const Json::string_t &s) {
    return dom.number_float(v, s);
  }
  bool string(Json::string_t &v) { return dom.string(v); }
  bool binary(Json::binary_t &v) { return dom.binary(v); }
  bool start_object(std::size_t n) {
    if (!enter())
      return false;
    keys.emplace_back();
    return dom.start_object(n);
  }
  bool key(Json::string_t &k) {
    if (!keys.back().insert(k).second) {
      error = "duplicate key \"" + k + "\"";
      return false;
    }
    return dom.key(k);
  }
  bool end_object() {
    --depth;
    keys.pop_back();
    return dom.end_object();
  }
  bool start_array(std::size_t n) { return enter() && dom.start_array(n); }
  bool end_array() {
    --depth;
    return dom.end_array();
  }
  template <class Exception>
  bool parse_error(std::size_t byte, const std::string & /*token*/, const Exception &ex) {
    // nlohmann's message reads "[json.exception.parse_error.101] parse error
    // at line 1, column 7: syntax error while parsing value - invalid
    // literal; last read: 'x'"; keep what follows the position, which is
    // given as the byte instead: 1-based, of the character that did not fit
    // (one past the end for a text cut short), as a column would be.
    std::string what = ex.what();
    size_t at = what.find(": ");
    std::string why = at == std::string::npos ? what : what.substr(at + 2);
    if (why.rfind("syntax error ", 0) == 0)
      why = why.substr(13);
    error = "syntax error at byte " + std::to_string(byte) + ": " + why;
    return false;
  }

  std::string error;

private:
  bool enter() {
    if (++depth <= maxDepth)
      return true;
    error = "nested deeper than " + std::to_string(maxDepth) + " levels";
    return false;
  }

  nlohmann::detail::json_sax_dom_parser<Json> dom;
  unsigned depth = 0, maxDepth;
  std::vector<std::set<std::string>> keys; // of each open object, innermost last
};

} // namespace json_detail

/// Parses |text|, which must hold exactly one JSON value (RFC 8259, UTF-8;
/// surrounding whitespace allowed), into |out|. Never throws. Returns false
/// with |error| set when the text is not JSON ("syntax error at byte 12:
/// while parsing value - invalid literal; last read: 'x'"), nests arrays and
/// objects deeper than |maxDepth|, or repeats a key within one object; |out|
/// is then unspecified. Thread-safe: it shares no state.
inline bool parseJson(std::string_view text, Json &out, std::string &error,
                      unsigned maxDepth = 16) {
  out = Json();
  json_detail::Builder builder(out, maxDepth);
  bool ok = Json::sax_parse(text.begin(), text.end(), &builder, Json::input_format_t::json,
                            /*strict=*/true);
  if (!ok)
    error = builder.error.empty() ? "malformed JSON" : builder.error;
  return ok;
}

/// |value| as compact JSON text: no spaces, keys in insertion order, numbers
/// in the shortest form that reads back as the same double, non-ASCII
/// UTF-8 kept as is. Never throws: bytes that are not valid UTF-8 in a
/// string become U+FFFD.
inline std::string dumpJson(const Json &value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

/// A short rendering of |value| for error messages: its JSON text, cut to
/// about 40 characters.
inline std::string jsonExcerpt(const Json &value) {
  std::string text = dumpJson(value);
  return text.size() > 40 ? text.substr(0, 37) + "..." : text;
}

} // namespace gmrt

#endif // GMRT_JSON_H
