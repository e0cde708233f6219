//===- memory.h - where an entry's buffers live ----------------*- C++ -*-===//
//
// On the CPU an entry's buffers (parameters, optimizer slots, batches,
// scratch) are host memory. With `gmrun --device cuda` the kernels run on a
// GPU while the entries' glue, products and convolutions still read and
// write the same buffers on the host (docs/cuda.md), so every one of them
// must be memory both reach: the CUDA executor installs an allocator of
// managed memory (cuMemAllocManaged) before anything is allocated, and the
// buffers gmrun hands to entries come from here: State's tensors (Floats),
// the scratch blocks of gmrt_alloc, and callEntry's copies of the batches.
//
//===----------------------------------------------------------------------===//

#ifndef GMRT_MEMORY_H
#define GMRT_MEMORY_H

#include <cstddef>
#include <new>
#include <vector>

namespace gmrt {

/// An allocator of memory entries may be given: 64-byte aligned, freed by
/// the same system.
struct MemorySystem {
  const char *name;                // "host", "cuda managed"
  void *(*allocate)(size_t bytes); // nullptr when out of memory
  void (*release)(void *p);
  /// A device reads it too: callEntry gives entries copies of the caller's
  /// buffers in it.
  bool device = false;
};

/// The system buffers come from now: host memory until setMemorySystem.
const MemorySystem &memorySystem();

/// Makes |system| the one buffers come from. Only before any buffer is
/// allocated (a block must go back to the system it came from): returns
/// false, changing nothing, if some buffer is still live or cached
/// (gmrt::trimScratch first gives the cached scratch blocks back).
bool setMemorySystem(const MemorySystem &system);

/// |bytes| from the current system (at least 1), counted until memoryFree.
void *memoryAllocate(size_t bytes);
void memoryFree(void *p);

/// std::allocator's contract on memoryAllocate: the storage of the tensors
/// gmrun passes to entries.
template <class T> struct EntryAllocator {
  using value_type = T;
  EntryAllocator() = default;
  template <class U> EntryAllocator(const EntryAllocator<U> &) {}
  T *allocate(size_t n) {
    if (void *p = memoryAllocate(n * sizeof(T)))
      return static_cast<T *>(p);
    throw std::bad_alloc();
  }
  void deallocate(T *p, size_t) { memoryFree(p); }
  template <class U> bool operator==(const EntryAllocator<U> &) const { return true; }
  template <class U> bool operator!=(const EntryAllocator<U> &) const { return false; }
};

/// A tensor an entry may read or write.
using Floats = std::vector<float, EntryAllocator<float>>;

} // namespace gmrt

#endif // GMRT_MEMORY_H
