//===- safetensors.cpp - checkpoints in the safetensors format -------------===//
//
// The header is JSON, read and written with gm's one JSON library (json.h):
// bounded in size (100 MB, the safetensors limit) and depth before anything
// is allocated for it, and every value's type checked before it is used,
// since a checkpoint may come from anywhere. Keys other than the three a
// tensor needs, and metadata gm does not know, are ignored: files written by
// PyTorch's safetensors carry their own.
//
//===----------------------------------------------------------------------===//

#include "runtime/include/gmrt/safetensors.h"

#include "runtime/include/gmrt/io.h"
#include "runtime/include/gmrt/json.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace gmrt {

namespace {

constexpr const char kCrcPrefix[] = "gm.crc32.";

/// The CRC-32 (zlib's) of |bytes| bytes at |p|, as 8 lowercase hex digits.
std::string crc32Hex(const void *p, uint64_t bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const Bytef *b = static_cast<const Bytef *>(p);
  while (bytes > 0) { // zlib takes at most 4 GB per call
    uInt chunk = (uInt)std::min<uint64_t>(bytes, 1u << 30);
    crc = crc32(crc, b, chunk);
    b += chunk;
    bytes -= chunk;
  }
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08lx", (unsigned long)crc);
  return hex;
}

/// A non-negative integer JSON value at most |max|, into |out|.
bool unsignedValue(const Json &j, uint64_t max, uint64_t &out) {
  if (!j.is_number_unsigned() || j.get<uint64_t>() > max)
    return false;
  out = j.get<uint64_t>();
  return true;
}

} // namespace

const NamedTensor *Checkpoint::find(const std::string &name) const {
  for (const NamedTensor &t : tensors)
    if (t.name == name)
      return &t;
  return nullptr;
}

Status writeSafetensors(const std::string &path, const Checkpoint &ckpt) {
  Json header = Json::object();
  Json metadata = Json::object();
  for (auto &[k, v] : ckpt.metadata)
    metadata[k] = v;
  for (const NamedTensor &t : ckpt.tensors)
    metadata[kCrcPrefix + t.name] = crc32Hex(t.data.data(), t.data.size() * 4);
  if (!metadata.empty())
    header["__metadata__"] = std::move(metadata);
  uint64_t offset = 0;
  for (const NamedTensor &t : ckpt.tensors) {
    if (t.name == "__metadata__" || header.contains(t.name))
      return Status::error("cannot write '" + path + "': two tensors called '" + t.name +
                           "' (or one called like the metadata)");
    uint64_t bytes = t.data.size() * 4;
    Json shape = Json::array();
    for (int64_t d : t.shape)
      shape.push_back(d);
    header[t.name] = Json{{"dtype", "F32"},
                          {"shape", std::move(shape)},
                          {"data_offsets", Json::array({offset, offset + bytes})}};
    offset += bytes;
  }
  std::string text = dumpJson(header);
  text.append((8 - text.size() % 8) % 8, ' '); // align the data
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i)
    file[i] = (char)((uint64_t)text.size() >> (8 * i));
  file += text;
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
  Json root;
  std::string why;
  if (!parseJson(std::string_view(file).substr(8, headerLen), root, why, /*maxDepth=*/8))
    return bad("malformed JSON header (" + why + ")");
  if (!root.is_object())
    return bad("malformed JSON header (not an object)");
  uint64_t dataSize = file.size() - 8 - headerLen;
  const char *data = file.data() + 8 + headerLen;
  out.tensors.clear();
  out.metadata.clear();
  out.verified = false;
  std::map<std::string, std::string> crcs; // tensor -> recorded CRC-32
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string &name = it.key();
    const Json &entry = it.value();
    if (name == "__metadata__") {
      if (!entry.is_object())
        return bad("__metadata__ is not an object");
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (!m.value().is_string())
          return bad("metadata '" + m.key() + "' is not a string");
        const std::string &key = m.key();
        if (key.compare(0, sizeof kCrcPrefix - 1, kCrcPrefix) == 0)
          crcs[key.substr(sizeof kCrcPrefix - 1)] = m.value().get<std::string>();
        else
          out.metadata[key] = m.value().get<std::string>();
      }
      continue;
    }
    const Json *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    if (entry.is_object()) {
      auto find = [&](const char *key) {
        auto f = entry.find(key);
        return f == entry.end() ? nullptr : &*f;
      };
      dtype = find("dtype");
      shape = find("shape");
      offsets = find("data_offsets");
    }
    if (!dtype || !shape || !offsets || !shape->is_array() || !offsets->is_array() ||
        offsets->size() != 2)
      return bad("tensor '" + name + "' lacks dtype, shape or data_offsets");
    if (!dtype->is_string() || *dtype != "F32")
      return bad("tensor '" + name + "' has dtype " +
                 (dtype->is_string() ? dtype->get<std::string>() : jsonExcerpt(*dtype)) +
                 "; gm reads F32");
    NamedTensor t;
    t.name = name;
    uint64_t count = 1;
    for (const Json &d : *shape) {
      uint64_t dim = 0;
      if (!unsignedValue(d, 1u << 30, dim))
        return bad("tensor '" + name + "' has a malformed shape");
      t.shape.push_back((int64_t)dim);
      count *= dim;
      if (count > (1ull << 32))
        return bad("tensor '" + name + "' is implausibly large");
    }
    uint64_t begin = 0, end = 0;
    if (!unsignedValue((*offsets)[0], UINT64_MAX, begin) ||
        !unsignedValue((*offsets)[1], UINT64_MAX, end))
      return bad("tensor '" + name + "' has malformed data_offsets " + jsonExcerpt(*offsets));
    if (begin > end || end > dataSize || end - begin != count * 4)
      return bad("tensor '" + name + "' has byte range [" + std::to_string(begin) +
                 ", " + std::to_string(end) + ") that does not fit its shape or the "
                 "file (truncated?)");
    t.data.resize(count);
    if (count) // an empty vector's data() may be null, which memcpy may not take
      std::memcpy(t.data.data(), data + begin, count * 4);
    out.tensors.push_back(std::move(t));
  }
  // Checksums, once the metadata (which may come after the tensors) is read.
  if (crcs.empty())
    return Status();
  for (const NamedTensor &t : out.tensors) {
    auto it = crcs.find(t.name);
    if (it == crcs.end())
      return bad("tensor '" + t.name + "' has no checksum, though the file records them "
                 "for others");
    std::string actual = crc32Hex(t.data.data(), t.data.size() * 4);
    if (actual != it->second)
      return Status::error("'" + path + "' is damaged: tensor '" + t.name +
                           "' does not match its checksum (CRC-32 " + actual +
                           ", recorded " + it->second + ")");
  }
  out.verified = true;
  return Status();
}

} // namespace gmrt
