//===- artifact.h - loading gmc's artifacts and calling their entries -*- C++ -*-===//
//
// An artifact is a shared library with a text manifest (abi.h). Loading it
// checks, in order, that the file exists, is an ELF shared object, exports
// gm's magic, was written for this ABI version, has a well-formed manifest
// and was compiled for ISA extensions this CPU has (cpu.h); each failure is
// a message naming the file.
//
//===----------------------------------------------------------------------===//

#ifndef GMRT_ARTIFACT_H
#define GMRT_ARTIFACT_H

#include "runtime/include/gmrt/abi.h"
#include "runtime/include/gmrt/status.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gmrt {

/// A shape from the manifest; -1 is the batch dimension.
using Shape = std::vector<int64_t>;

int64_t numel(const Shape &shape);
std::string shapeString(const Shape &shape);

struct StateSpec {
  std::string name;   // as in the .gm file: encoder.linear0.weight
  Shape shape;
  std::string init;   // zeros, ones, normal, uniform, glorot_uniform, kaiming_uniform
  double scale = 1;
  std::string slotOf; // optimizer slot of this parameter; empty for a parameter
};

struct DataSpec {
  std::string name;
  Shape shape;        // per batch: {-1, 784}
  std::string kind;   // real, label (one-hot rows), tokens (ids as floats)
  std::string source; // fashion-mnist:images, fashion-mnist:labels, ...
};

struct InputSpec {
  enum class Kind { Data, HParam, Key, Tensor } kind;
  std::string name;
  Shape shape;             // Data and Tensor
  bool hasDefault = false; // HParam
  double value = 0;        // HParam default
};

struct EntrySpec {
  std::string name;   // train.train.all, eval.elbo, encode.z, decode.x
  std::string symbol; // gm_entry_<n>
  std::string kind;   // train, eval, encode, decode
  std::vector<InputSpec> inputs;
  std::vector<Shape> outputs;
  std::map<std::string, std::string> info;
  gm_entry_fn fn = nullptr;

  /// Index of the input called |name| of kind |kind|, or -1.
  int find(InputSpec::Kind kind, const std::string &name = "") const;
};

struct Manifest {
  std::string model;
  std::string targetCPU;              // the CPU gmc compiled for (-mcpu)
  std::vector<std::string> targetISA; // the ISA extensions the code may use
  std::vector<StateSpec> state;
  std::vector<DataSpec> data;
  std::vector<EntrySpec> entries;

  const EntrySpec *entry(const std::string &kind, const std::string &name = "") const;
  const DataSpec *dataNamed(const std::string &name) const;
};

/// Parses manifest text; |origin| names where it came from in messages.
Status parseManifest(const std::string &text, const std::string &origin, Manifest &out);

/// A loaded artifact. Not copyable; unloads on destruction.
class Artifact {
public:
  Artifact() = default;
  Artifact(const Artifact &) = delete;
  Artifact &operator=(const Artifact &) = delete;
  ~Artifact();

  static Status load(const std::string &path, Artifact &out);

  std::string path;
  std::string manifestText;
  Manifest manifest;
  /// FNV-1a of the manifest: a checkpoint records it to recognise its model.
  uint64_t fingerprint = 0;

private:
  void *handle = nullptr;
};

/// Parameters and optimizer slots, one buffer per manifest state entry.
struct State {
  std::vector<std::vector<float>> tensors;

  /// Initialises every tensor as the reference evaluator does for |seed|
  /// (stream = state index; see rng.h).
  void init(const Manifest &m, uint64_t seed);
};

/// A caller's buffer for one input or output of an entry.
struct Buffer {
  void *data;
  Shape shape; // concrete
};

/// Calls |entry| on |state| (read, and written by training steps) with its
/// inputs then outputs in manifest order.
void callEntry(const EntrySpec &entry, State &state, const Manifest &m,
               const std::vector<Buffer> &args);

} // namespace gmrt

#endif // GMRT_ARTIFACT_H
