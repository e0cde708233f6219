//===- safetensors.h - checkpoints in the safetensors format ------*- C++ -*-===//
//
// A checkpoint is a safetensors file: an 8-byte little-endian header length,
// a JSON header naming each tensor's dtype, shape and byte range, and the
// raw data. gm writes float32 tensors named as in the .gm file (linear
// weights [out, in], as PyTorch lays them out) and string metadata (model
// name, step, RNG state) under "__metadata__", with the CRC-32 of each
// tensor's bytes as "gm.crc32.<tensor>" (8 hex digits), so that a damaged
// file is an error naming the tensor instead of silently wrong numbers.
//
// Thread-compatible; callers own what they get.
//
//===----------------------------------------------------------------------===//

#ifndef GMRT_SAFETENSORS_H
#define GMRT_SAFETENSORS_H

#include "runtime/include/gmrt/status.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gmrt {

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data; // row-major, product(shape) elements
};

struct Checkpoint {
  std::vector<NamedTensor> tensors;             // in file order
  std::map<std::string, std::string> metadata;  // "__metadata__", less checksums
  /// Read: every tensor matched its recorded CRC-32. False for a file with
  /// no checksums at all (written by other tools, or by gm before them).
  bool verified = false;

  /// The tensor called |name|, or null.
  const NamedTensor *find(const std::string &name) const;
};

/// Writes |ckpt| to |path| atomically (see writeFileAtomic): an interrupted
/// write leaves the previous checkpoint intact.
Status writeSafetensors(const std::string &path, const Checkpoint &ckpt);

/// Reads |path|. Fails, naming the file, when it is missing, truncated, has
/// a malformed header, a dtype other than F32, or byte ranges that do not fit
/// the shapes or the file; and, naming the tensor, when a tensor's bytes do
/// not match its recorded CRC-32 or a file with checksums lacks one.
Status readSafetensors(const std::string &path, Checkpoint &out);

} // namespace gmrt

#endif // GMRT_SAFETENSORS_H
