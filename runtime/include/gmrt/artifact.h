//===- artifact.h - loading gmc's artifacts and calling their entries -*- C++ -*-===//
//
// An artifact is a shared library with a JSON manifest (abi.h, manifest.h),
// the schema it and gmc share. Loading it
// checks, in order, that the file exists, is an ELF shared object, exports
// gm's magic, was written for this ABI version, has a well-formed manifest
// and was compiled for ISA extensions this CPU has (cpu.h); each failure is
// a message naming the file.
//
//===----------------------------------------------------------------------===//

#ifndef GMRT_ARTIFACT_H
#define GMRT_ARTIFACT_H

#include "runtime/include/gmrt/abi.h"
#include "runtime/include/gmrt/manifest.h"
#include "runtime/include/gmrt/memory.h"
#include "runtime/include/gmrt/status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace gmrt {

/// The number of elements of |shape| (1 for a scalar); no dimension may be
/// the batch (-1).
int64_t numel(const Shape &shape);
/// |shape| as gmrun prints it: "400x784", "?x784" (? the batch), "scalar".
std::string shapeString(const Shape &shape);

/// Reads manifest text (manifest.h) into |out|; on any problem fails with
/// "'|origin|' has a malformed manifest (what and where)". Never throws.
Status parseManifest(const std::string &text, const std::string &origin, Manifest &out);

/// The checks Artifact::load makes before dlopen: an x86-64 ELF shared
/// library whose program and section headers and segments lie inside the
/// file (dlopen maps segments without checking them: a truncated library
/// faults on first touch), and whose checksum trailer (abi.h), when it has
/// one, matches its contents. |hasChecksum|, when given, says whether it
/// has one.
Status checkArtifactFile(const std::string &path, bool *hasChecksum = nullptr);

/// A loaded artifact. Not copyable; unloads on destruction.
class Artifact {
public:
  Artifact() = default;
  Artifact(const Artifact &) = delete;
  Artifact &operator=(const Artifact &) = delete;
  ~Artifact();

  /// Loads the artifact at |path| into |out| (checks in the header
  /// comment). On failure |out| holds no usable artifact.
  static Status load(const std::string &path, Artifact &out);

  /// The entry point of |entry|, one of |manifest.entries|.
  gm_entry_fn function(const EntrySpec &entry) const {
    return functions[&entry - manifest.entries.data()];
  }

  std::string path;
  std::string manifestText;
  Manifest manifest;
  /// FNV-1a of the manifest: a checkpoint records it to recognise its model.
  uint64_t fingerprint = 0;
  /// gm_check_sites of an artifact compiled with `gmc -check-numerics`
  /// (index = site); empty otherwise.
  std::vector<std::string> checkSites;
  /// The PTX text of each chip of manifest.target.cuda, in that order
  /// (gmc --target=cuda; in the loaded library, NUL-terminated).
  std::vector<const char *> cudaPTX;

private:
  void *handle = nullptr;
  /// The symbol of each manifest entry, in the same order (the manifest is
  /// data only: what the schema serialises).
  std::vector<gm_entry_fn> functions;
};

/// Parameters and optimizer slots, one buffer per manifest state entry, in
/// memory entries may be given (the device's too, gmrt/memory.h).
struct State {
  std::vector<Floats> tensors;

  /// Initialises every tensor as the reference evaluator does for |seed|
  /// (stream = state index; see rng.h).
  void init(const Manifest &m, uint64_t seed);
};

/// A caller's buffer for one input or output of an entry.
struct Buffer {
  void *data;
  Shape shape; // concrete
};

/// Calls |entry| of |art| on |state| (read, and written by training steps)
/// with its inputs then outputs in manifest order.
void callEntry(const Artifact &art, const EntrySpec &entry, State &state,
               const std::vector<Buffer> &args);

} // namespace gmrt

#endif // GMRT_ARTIFACT_H
