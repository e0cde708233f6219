//===- safetensors.h - checkpoints in the safetensors format ------*- C++ -*-===//
//
// A checkpoint is a safetensors file: an 8-byte little-endian header length,
// a JSON header naming each tensor's dtype, shape and byte range, and the
// raw data. gm writes float32 tensors named as in the .gm file (linear
// weights [out, in], as PyTorch lays them out) and string metadata (model
// name, step, RNG state) under "__metadata__".
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
  std::map<std::string, std::string> metadata;  // "__metadata__"

  /// The tensor called |name|, or null.
  const NamedTensor *find(const std::string &name) const;
};

/// Writes |ckpt| to |path| atomically (see writeFileAtomic): an interrupted
/// write leaves the previous checkpoint intact.
Status writeSafetensors(const std::string &path, const Checkpoint &ckpt);

/// Reads |path|. Fails, naming the file, when it is missing, truncated, has
/// a malformed header, a dtype other than F32, or byte ranges that do not fit
/// the shapes or the file.
Status readSafetensors(const std::string &path, Checkpoint &out);

} // namespace gmrt

#endif // GMRT_SAFETENSORS_H
