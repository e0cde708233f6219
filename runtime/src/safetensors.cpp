//===- safetensors.cpp - checkpoints in the safetensors format -------------===//
//
// The header is JSON; this file carries the small parser it needs (objects,
// arrays, strings without escapes beyond \" and \\, non-negative integers),
// bounded in depth and size, since a checkpoint may come from anywhere.
//
//===----------------------------------------------------------------------===//

#include "runtime/include/gmrt/safetensors.h"

#include "runtime/include/gmrt/io.h"

#include <cstring>
#include <memory>

namespace gmrt {

namespace {

struct Json {
  enum class Kind { Object, Array, String, Number } kind = Kind::Number;
  std::vector<std::pair<std::string, std::unique_ptr<Json>>> members; // Object
  std::vector<std::unique_ptr<Json>> items;                           // Array
  std::string text;                                                   // String
  uint64_t number = 0;                                                // Number

  const Json *get(const std::string &key) const {
    for (auto &m : members)
      if (m.first == key)
        return m.second.get();
    return nullptr;
  }
};

class JsonParser {
public:
  explicit JsonParser(const std::string &s) : s(s) {}

  std::unique_ptr<Json> parse() {
    auto v = value(0);
    space();
    return v && at == s.size() ? std::move(v) : nullptr;
  }

private:
  void space() {
    while (at < s.size() && (s[at] == ' ' || s[at] == '\n' || s[at] == '\t' || s[at] == '\r'))
      ++at;
  }
  bool eat(char c) {
    space();
    if (at < s.size() && s[at] == c) {
      ++at;
      return true;
    }
    return false;
  }
  bool string(std::string &out) {
    if (!eat('"'))
      return false;
    while (at < s.size() && s[at] != '"') {
      if (s[at] == '\\') {
        if (++at >= s.size() || (s[at] != '"' && s[at] != '\\' && s[at] != '/'))
          return false;
      }
      out += s[at++];
    }
    return eat('"');
  }
  std::unique_ptr<Json> value(int depth) {
    if (depth > 8)
      return nullptr;
    auto v = std::make_unique<Json>();
    space();
    if (at >= s.size())
      return nullptr;
    if (s[at] == '{') {
      ++at;
      v->kind = Json::Kind::Object;
      if (eat('}'))
        return v;
      do {
        std::string key;
        if (!string(key) || !eat(':'))
          return nullptr;
        auto member = value(depth + 1);
        if (!member)
          return nullptr;
        v->members.emplace_back(std::move(key), std::move(member));
      } while (eat(','));
      return eat('}') ? std::move(v) : nullptr;
    }
    if (s[at] == '[') {
      ++at;
      v->kind = Json::Kind::Array;
      if (eat(']'))
        return v;
      do {
        auto item = value(depth + 1);
        if (!item)
          return nullptr;
        v->items.push_back(std::move(item));
      } while (eat(','));
      return eat(']') ? std::move(v) : nullptr;
    }
    if (s[at] == '"') {
      v->kind = Json::Kind::String;
      return string(v->text) ? std::move(v) : nullptr;
    }
    size_t start = at;
    while (at < s.size() && std::isdigit((unsigned char)s[at]) && at - start < 19)
      v->number = v->number * 10 + (uint64_t)(s[at++] - '0');
    return at > start ? std::move(v) : nullptr;
  }

  const std::string &s;
  size_t at = 0;
};

std::string quote(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

} // namespace

const NamedTensor *Checkpoint::find(const std::string &name) const {
  for (const NamedTensor &t : tensors)
    if (t.name == name)
      return &t;
  return nullptr;
}

Status writeSafetensors(const std::string &path, const Checkpoint &ckpt) {
  std::string header = "{";
  if (!ckpt.metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (auto &[k, v] : ckpt.metadata) {
      header += (first ? "" : ",") + quote(k) + ":" + quote(v);
      first = false;
    }
    header += "}";
  }
  uint64_t offset = 0;
  for (const NamedTensor &t : ckpt.tensors) {
    uint64_t bytes = t.data.size() * 4;
    if (header.size() > 1)
      header += ",";
    header += quote(t.name) + ":{\"dtype\":\"F32\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i)
      header += (i ? "," : "") + std::to_string(t.shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' '); // align the data
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i)
    file[i] = (char)((uint64_t)header.size() >> (8 * i));
  file += header;
  for (const NamedTensor &t : ckpt.tensors)
    file.append(reinterpret_cast<const char *>(t.data.data()), t.data.size() * 4);
  return writeFileAtomic(path, file);
}

Status readSafetensors(const std::string &path, Checkpoint &out) {
  std::string file;
  if (Status s = readFile(path, file); !s)
    return s;
  auto bad = [&](const std::string &why) {
    return Status::error("'" + path + "' is not a valid checkpoint: " + why);
  };
  if (file.size() < 8)
    return bad("shorter than its 8-byte header length");
  uint64_t headerLen = 0;
  for (int i = 0; i < 8; ++i)
    headerLen |= (uint64_t)(unsigned char)file[i] << (8 * i);
  if (headerLen > (100u << 20) || headerLen > file.size() - 8)
    return bad("its header length (" + std::to_string(headerLen) +
               ") runs past the end of the file");
  std::string header = file.substr(8, headerLen);
  std::unique_ptr<Json> root = JsonParser(header).parse();
  if (!root || root->kind != Json::Kind::Object)
    return bad("malformed JSON header");
  uint64_t dataSize = file.size() - 8 - headerLen;
  const char *data = file.data() + 8 + headerLen;
  out.tensors.clear();
  out.metadata.clear();
  for (auto &[name, entry] : root->members) {
    if (name == "__metadata__") {
      if (entry->kind != Json::Kind::Object)
        return bad("__metadata__ is not an object");
      for (auto &[k, v] : entry->members) {
        if (v->kind != Json::Kind::String)
          return bad("metadata '" + k + "' is not a string");
        out.metadata[k] = v->text;
      }
      continue;
    }
    const Json *dtype = entry->get("dtype"), *shape = entry->get("shape"),
               *offsets = entry->get("data_offsets");
    if (entry->kind != Json::Kind::Object || !dtype || !shape || !offsets ||
        shape->kind != Json::Kind::Array || offsets->kind != Json::Kind::Array ||
        offsets->items.size() != 2)
      return bad("tensor '" + name + "' lacks dtype, shape or data_offsets");
    if (dtype->kind != Json::Kind::String || dtype->text != "F32")
      return bad("tensor '" + name + "' has dtype " + dtype->text + "; gm reads F32");
    NamedTensor t;
    t.name = name;
    uint64_t count = 1;
    for (auto &d : shape->items) {
      if (d->kind != Json::Kind::Number || d->number > (1u << 30))
        return bad("tensor '" + name + "' has a malformed shape");
      t.shape.push_back((int64_t)d->number);
      count *= d->number;
      if (count > (1ull << 32))
        return bad("tensor '" + name + "' is implausibly large");
    }
    uint64_t begin = offsets->items[0]->number, end = offsets->items[1]->number;
    if (begin > end || end > dataSize || end - begin != count * 4)
      return bad("tensor '" + name + "' has byte range [" + std::to_string(begin) +
                 ", " + std::to_string(end) + ") that does not fit its shape or the "
                 "file (truncated?)");
    t.data.resize(count);
    std::memcpy(t.data.data(), data + begin, count * 4);
    out.tensors.push_back(std::move(t));
  }
  return Status();
}

} // namespace gmrt
