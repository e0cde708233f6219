//===- scratch.h - the scratch memory an artifact's entries use -*- C++ -*-===//
//
// Every buffer an entry allocates (its intermediate tensors) comes from the
// host's gmrt_alloc and goes back through gmrt_free (abi.h). gmrun keeps the
// freed blocks, by size, and hands them out again: a training loop runs the
// same entries on the same shapes every step, so after the first step every
// allocation is served from blocks already held, and none reaches the
// system allocator (no page faults on fresh memory, no mmap/munmap per
// step). Within a step the compiler frees each buffer after its last use
// (MLIR's buffer deallocation), so a block is reused as soon as its tensor
// is dead.
//
//===----------------------------------------------------------------------===//

#ifndef GMRT_SCRATCH_H
#define GMRT_SCRATCH_H

#include <cstdint>

namespace gmrt {

struct ScratchStats {
  uint64_t inUse = 0;        // bytes the entries hold now
  uint64_t peak = 0;         // the most they held at once (since resetScratchPeak)
  uint64_t held = 0;         // bytes taken from the system, in use or cached
  uint64_t systemAllocs = 0; // blocks taken from the system, ever
  uint64_t allocs = 0;       // gmrt_alloc calls, ever
};

ScratchStats scratchStats();

/// Starts a new peak from what is in use now.
void resetScratchPeak();

/// Gives every cached block that is not in use back to the system: after a
/// phase whose shapes the next one will not reuse (evaluation at the test
/// batch size).
void trimScratch();

} // namespace gmrt

#endif // GMRT_SCRATCH_H
