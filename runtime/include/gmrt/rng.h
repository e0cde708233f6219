/*===- rng.h - gm's counter-based random numbers --------------------------===*
 *
 * The random numbers behind every gm.sample: Philox4x32-10 (Salmon et al.,
 * "Parallel random numbers: as easy as 1, 2, 3", SC 2011). A draw is a pure
 * function of (key, stream, index, lane), so the reference evaluator, the
 * generated CPU code and the CUDA kernels produce the same samples for the
 * same key, in any order and on any number of threads.
 *
 * This header is shared by the compiler and the runtime like abi.h: it
 * includes only <stdint.h> and <math.h>, owns no state, and is versioned by
 * GMRT_RNG_VERSION (a change of any formula below changes every sample, so
 * it bumps the version and invalidates recorded reference numbers).
 *
 * Conventions:
 *   key    the !gm.key value: a 64-bit seed, split into Philox's 2x32 key
 *   stream the `stream` attribute of the gm.sample (one per latent variable)
 *   index  the flat (row-major) element index within the sample, plus
 *          sample_number * elements for the k draws of gm.iwae
 *   lane   which of the 4 32-bit outputs of the block to use
 *
 *===----------------------------------------------------------------------===*/

#ifndef GMRT_RNG_H
#define GMRT_RNG_H

#include <math.h>
#include <stdint.h>

#define GMRT_RNG_VERSION 1

#ifdef __cplusplus
extern "C" {
#endif

/* One Philox4x32-10 block: |ctr| (4 words) and |key| (2 words) in, |out|
 * (4 words) written. Pure and thread-safe. */
static inline void gmrt_philox4x32_10(const uint32_t ctr[4],
                                      const uint32_t key[2], uint32_t out[4]) {
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0;
    uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1;
    c3 = (uint32_t)p0;
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/* The 4 raw words for (key, stream, index). */
static inline void gmrt_rng_block(uint64_t key, uint32_t stream,
                                  uint64_t index, uint32_t out[4]) {
  uint32_t ctr[4] = {(uint32_t)index, (uint32_t)(index >> 32), stream, 0u};
  uint32_t k[2] = {(uint32_t)key, (uint32_t)(key >> 32)};
  gmrt_philox4x32_10(ctr, k, out);
}

/* Lane 0 of (key, stream, index) as a raw 32-bit word (integer draws). */
static inline uint32_t gmrt_rng_block_word(uint64_t key, uint32_t stream,
                                           uint64_t index) {
  uint32_t out[4];
  gmrt_rng_block(key, stream, index, out);
  return out[0];
}

/* A uniform double in the open interval (0, 1) from one 32-bit word. */
static inline double gmrt_word_to_unit(uint32_t w) {
  return ((double)w + 0.5) * (1.0 / 4294967296.0);
}

/* Uniform (0, 1) draw from lane |lane| (0..3) of (key, stream, index). */
static inline double gmrt_uniform(uint64_t key, uint32_t stream,
                                  uint64_t index, int lane) {
  uint32_t out[4];
  gmrt_rng_block(key, stream, index, out);
  return gmrt_word_to_unit(out[lane & 3]);
}

/* Standard normal draw for (key, stream, index): Box-Muller on lanes 0, 1. */
static inline double gmrt_normal(uint64_t key, uint32_t stream,
                                 uint64_t index) {
  uint32_t out[4];
  gmrt_rng_block(key, stream, index, out);
  double u1 = gmrt_word_to_unit(out[0]), u2 = gmrt_word_to_unit(out[1]);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GMRT_RNG_H */
