//===- gomp.h - the libgomp functions the runtime calls ---------*- C++ -*-===//
//
// Declared here rather than through omp.h: Debian's clang finds no omp.h for
// libgomp (GCC's OpenMP runtime, which oneDNN runs its threads on and gmrun
// links), and the runtime needs only these.
//
//===----------------------------------------------------------------------===//

#ifndef GMRT_SRC_GOMP_H
#define GMRT_SRC_GOMP_H

extern "C" {
void omp_set_num_threads(int threads);
int omp_get_max_threads(void);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
/// Runs fn(data) on a team of |threads| (the caller is thread 0) and joins.
void GOMP_parallel(void (*fn)(void *), void *data, unsigned threads, unsigned flags);
}

#endif // GMRT_SRC_GOMP_H
