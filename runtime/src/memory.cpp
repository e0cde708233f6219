//===- memory.cpp - where an entry's buffers live -------------------------===//

#include "runtime/include/gmrt/memory.h"

#include <atomic>
#include <cstdlib>

namespace gmrt {

namespace {

void *hostAllocate(size_t bytes) { return std::aligned_alloc(64, (bytes + 63) / 64 * 64); }

const MemorySystem kHost = {"host", hostAllocate, std::free};
const MemorySystem *current = &kHost;
// Blocks taken from |current| and not given back (scratch's cached blocks
// included): a system may change only while none is.
std::atomic<long> live{0};

} // namespace

const MemorySystem &memorySystem() { return *current; }

bool setMemorySystem(const MemorySystem &system) {
  if (live.load() != 0)
    return false;
  current = &system;
  return true;
}

void *memoryAllocate(size_t bytes) {
  void *p = current->allocate(bytes ? bytes : 1);
  if (p)
    ++live;
  return p;
}

void memoryFree(void *p) {
  if (!p)
    return;
  --live;
  current->release(p);
}

} // namespace gmrt
