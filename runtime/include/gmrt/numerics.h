//===- numerics.h - the host's side of gmc -check-numerics -------*- C++ -*-===//
//
// An artifact compiled with `gmc -check-numerics` calls gmrt_check_finite
// (abi.h) on every f32 buffer it computes, with the index of the site in
// its gm_check_sites table. Defined in src/host.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef GM_RUNTIME_GMRT_NUMERICS_H
#define GM_RUNTIME_GMRT_NUMERICS_H

#include <cstdint>
#include <optional>
#include <vector>

namespace gmrt {

/// The first non-finite value the checks saw.
struct NumericFailure {
  int32_t site;               // index into the artifact's gm_check_sites
  float value;                // NaN, +Inf or -Inf
  int64_t index;              // its flat (row-major) index in the buffer
  std::vector<int64_t> shape; // the buffer's shape
};

/// Checks are off until enabled; while off, gmrt_check_finite returns at
/// once.
void enableNumericChecks(bool on);

/// The first failure since the last call, if any (and forgets it).
std::optional<NumericFailure> takeNumericFailure();

} // namespace gmrt

#endif // GM_RUNTIME_GMRT_NUMERICS_H
