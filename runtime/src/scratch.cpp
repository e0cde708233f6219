//===- scratch.cpp - gmrt_alloc and gmrt_free: cached scratch blocks -------===//
//
// Blocks are kept in free lists by size, rounded up to 64 bytes. Each block
// carries a 64-byte header with its size (gmrt_free gets only the pointer),
// so what the entry sees stays 64-byte aligned, and a tag saying whether it
// is in use: a pointer that is not a live block (freed twice, never
// allocated, or its header overwritten by a write past the block before it)
// stops the program with a message instead of handing one block to two
// tensors. Exact size classes waste nothing on a training loop, whose
// shapes repeat exactly; a phase with other shapes (evaluation) adds its
// own classes, which trimScratch gives back. Entries may run concurrently (abi.h), so one mutex guards the lists:
// a few allocations per op, against the op's work, it is never contended
// for long.
//
//===----------------------------------------------------------------------===//

#include "runtime/include/gmrt/scratch.h"

#include "runtime/include/gmrt/memory.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace {

constexpr uint64_t kHeader = 64;
constexpr uint64_t kInUse = 0x676d2d7573656421; // "gm-used!"
constexpr uint64_t kFree = 0x676d2d6672656521;  // "gm-free!"

struct Scratch {
  std::mutex mutex;
  std::unordered_map<uint64_t, std::vector<char *>> free; // by rounded size
  gmrt::ScratchStats stats;
};

Scratch &scratch() {
  // Never destroyed: an artifact's entry may still free a block while
  // static destructors run at exit.
  static Scratch *s = new Scratch;
  return *s;
}

uint64_t &sizeOf(char *block) { return reinterpret_cast<uint64_t *>(block)[0]; }
uint64_t &tagOf(char *block) { return reinterpret_cast<uint64_t *>(block)[1]; }

} // namespace

extern "C" void *gmrt_alloc(uint64_t size) {
  uint64_t rounded = (size + 63) / 64 * 64;
  Scratch &s = scratch();
  char *block = nullptr;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    ++s.stats.allocs;
    auto it = s.free.find(rounded);
    if (it != s.free.end() && !it->second.empty()) {
      block = it->second.back();
      it->second.pop_back();
    } else {
      // (From the entries' memory system: the host's, or one the GPU
      // reaches too, gmrt/memory.h.)
      block = static_cast<char *>(gmrt::memoryAllocate(kHeader + rounded));
      if (!block)
        return nullptr; // as malloc: the entry's own code does not check
      sizeOf(block) = rounded;
      ++s.stats.systemAllocs;
      s.stats.held += rounded;
    }
    tagOf(block) = kInUse;
    s.stats.inUse += rounded;
    if (s.stats.inUse > s.stats.peak)
      s.stats.peak = s.stats.inUse;
  }
  return block + kHeader;
}

extern "C" void gmrt_free(void *p) {
  if (!p)
    return;
  char *block = static_cast<char *>(p) - kHeader;
  Scratch &s = scratch();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (tagOf(block) != kInUse) {
    std::fprintf(stderr, "gmrun: internal error: an entry freed %p, which is %s (a gmc bug; "
                         "please report it with the model)\n",
                 p, tagOf(block) == kFree ? "already free" : "not a live scratch block");
    std::abort();
  }
  tagOf(block) = kFree;
  s.stats.inUse -= sizeOf(block);
  s.free[sizeOf(block)].push_back(block);
}

gmrt::ScratchStats gmrt::scratchStats() {
  Scratch &s = scratch();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.stats;
}

void gmrt::resetScratchPeak() {
  Scratch &s = scratch();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.stats.peak = s.stats.inUse;
}

void gmrt::trimScratch() {
  Scratch &s = scratch();
  std::lock_guard<std::mutex> lock(s.mutex);
  for (auto &[size, blocks] : s.free) {
    for (char *block : blocks) {
      s.stats.held -= size;
      gmrt::memoryFree(block);
    }
    blocks.clear();
  }
  s.free.clear();
}
