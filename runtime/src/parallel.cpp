//===- parallel.cpp - the OpenMP entry points an artifact's loops call ----===//
//
// gmc's gm-parallel-loops turns each large generated loop into an OpenMP
// parallel worksharing loop, and LLVM's OpenMPIRBuilder outlines its body
// and calls libomp's __kmpc_* entry points, which gmc renames gmrt_omp_*
// (abi.h). These are those entry points on libgomp, the OpenMP runtime
// oneDNN's convolutions and products already run on, so the generated loops
// and the library share one pool of threads, sized by omp_set_num_threads
// (gmrun --threads).
//
// Each thread learns its share from the team it was forked into (recorded
// per thread here, not asked of libgomp): an artifact called from inside
// some other parallel region still divides its loops over its own team.
//
//===----------------------------------------------------------------------===//

#include "runtime/include/gmrt/abi.h"
#include "runtime/src/gomp.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace {

// This thread's place in the team running the current loop.
thread_local int32_t tThread = 0;
thread_local int32_t tThreads = 1;

using Microtask = void (*)(int32_t *globalTid, int32_t *boundTid, void *args);

[[noreturn]] void internalError(const char *what) {
  std::fprintf(stderr, "gmrun: internal error: an artifact's parallel loop %s (a gmc bug)\n",
               what);
  std::abort();
}

/// Runs |fn| as thread |thread| of |threads|.
void runAs(Microtask fn, void *args, int32_t thread, int32_t threads) {
  int32_t savedThread = tThread, savedThreads = tThreads;
  tThread = thread;
  tThreads = threads;
  int32_t zero = 0;
  fn(&thread, &zero, args);
  tThread = savedThread;
  tThreads = savedThreads;
}

struct Fork {
  Microtask fn;
  void *args;
};

void forked(void *fork) {
  auto *f = static_cast<Fork *>(fork);
  runAs(f->fn, f->args, omp_get_thread_num(), omp_get_num_threads());
}

} // namespace

extern "C" {

int32_t gmrt_omp_global_thread_num(void *) { return tThread; }

void gmrt_omp_fork_call_if(void *, int32_t argc, void *microtask, int32_t cond, void *args) {
  // OpenMPIRBuilder packs every value the body uses into one struct.
  if (argc > 1)
    internalError("passes more than one argument block");
  auto fn = reinterpret_cast<Microtask>(microtask);
  int threads = cond ? omp_get_max_threads() : 1;
  if (threads <= 1) {
    runAs(fn, args, 0, 1);
    return;
  }
  Fork fork{fn, args};
  GOMP_parallel(forked, &fork, (unsigned)threads, 0);
}

/// The static schedule of the iterations [*lower, *upper] (inclusive, step
/// 1 after OpenMPIRBuilder's normalisation) for this thread: contiguous
/// blocks, the first (count % threads) threads one iteration more. An empty
/// range (upper = lower - 1, unsigned) stays empty.
void gmrt_omp_for_static_init_8u(void *, int32_t, int32_t schedule, int32_t *last,
                                 uint64_t *lower, uint64_t *upper, int64_t *stride,
                                 int64_t increment, int64_t chunk) {
  constexpr int32_t kStatic = 34; // kmp_sch_static: no chunk size
  if (schedule != kStatic || increment != 1 || chunk > 1)
    internalError("asks for a schedule other than static");
  uint64_t first = *lower, count = *upper - *lower + 1;
  uint64_t threads = (uint64_t)tThreads, thread = (uint64_t)tThread;
  uint64_t each = count / threads, extra = count % threads;
  uint64_t begin = first + thread * each + std::min(thread, extra);
  uint64_t mine = each + (thread < extra ? 1 : 0);
  *lower = begin;
  *upper = begin + mine - 1;
  *stride = (int64_t)count;
  *last = mine > 0 && begin + mine == first + count; // runs the last iteration
}

void gmrt_omp_for_static_fini(void *, int32_t) {}

} // extern "C"
