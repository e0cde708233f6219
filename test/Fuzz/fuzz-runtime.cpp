//===- fuzz-runtime.cpp - libFuzzer targets: the files gmrun reads --------===//
//
// Built once per reader (GM_FUZZ_READER): a checkpoint (safetensors), an
// artifact's ELF checks and manifest, an IDX data file (plain or gzip'ed)
// or a .npy array. The readers take paths, as gmrun gives them, so each
// input goes through a file. Errors are expected; a crash, a sanitizer
// report, a leak or a hang is a finding.
//
//===----------------------------------------------------------------------===//

#include "runtime/include/gmrt/artifact.h"
#include "runtime/include/gmrt/data.h"
#include "runtime/include/gmrt/safetensors.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace {

/// A file holding |data|, rewritten for each input.
const std::string &inputFile(const uint8_t *data, size_t size) {
  static const std::string path = [] {
    const char *dir = std::getenv("TMPDIR");
    return std::string(dir ? dir : "/tmp") + "/gm-fuzz-" + std::to_string(getpid()) +
           GM_FUZZ_SUFFIX;
  }();
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    std::abort();
  if (size)
    std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = inputFile(data, size);
#if GM_FUZZ_READER == 0
  gmrt::Checkpoint c;
  (void)gmrt::readSafetensors(path, c);
#elif GM_FUZZ_READER == 1
  // The checks before dlopen, then the manifest as if the library held it
  // (dlopen itself is glibc's, and runs whatever a file asks it to).
  (void)gmrt::checkArtifactFile(path);
  gmrt::Manifest m;
  (void)gmrt::parseManifest(std::string(reinterpret_cast<const char *>(data), size), path, m);
#elif GM_FUZZ_READER == 2
  gmrt::ByteArray a;
  (void)gmrt::readIdx(path, a);
#else
  gmrt::FloatArray a;
  (void)gmrt::readNpy(path, a);
#endif
  return 0;
}
