/*===- isa.h - the x86-64 ISA extensions an artifact may require ---------===*
 *
 * One table, shared by gmc and gmrun. gmc compiles an artifact for a CPU
 * (`gmc -mcpu=NAME`, default `native`) and records, in the manifest's
 * `target` record, every extension of this table that the chosen CPU enables
 * (LLVM's feature names). gmrun reads the same table's CPUID bits on the
 * machine it runs on and refuses, with a message naming the missing
 * extension, an artifact that needs one this CPU lacks, instead of dying on
 * an illegal instruction inside generated code.
 *
 * Extensions outside the table (the x86-64 baseline: SSE2, CMOV, CX8, ...,
 * and system features such as AMX, which generated loops never use) are not
 * recorded. Each row is one CPUID bit: (leaf, subleaf, register, bit). The
 * rows needing OS support of wide registers say which XSAVE state (XCR0
 * bits) must be enabled: YMM for AVX and its successors, ZMM for AVX-512.
 *
 * Like abi.h, this header is a schema: it includes only <stdint.h>, and its
 * one function derives the x86-64 level from the table.
 *
 *===----------------------------------------------------------------------===*/

#ifndef GMRT_ISA_H
#define GMRT_ISA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CPUID output registers. */
enum { GM_CPUID_EAX = 0, GM_CPUID_EBX = 1, GM_CPUID_ECX = 2, GM_CPUID_EDX = 3 };

/* XSAVE state an extension needs the OS to enable (XCR0). */
enum {
  GM_XSTATE_NONE = 0,
  GM_XSTATE_YMM = 1, /* XCR0 bits 1-2: SSE and AVX state */
  GM_XSTATE_ZMM = 2  /* and bits 5-7: opmask and the upper ZMM registers */
};

typedef struct gm_isa_extension {
  const char *name;  /* LLVM's feature name, as `gmc -mcpu` enables it */
  uint32_t leaf;     /* CPUID leaf and subleaf */
  uint32_t subleaf;
  uint8_t reg;       /* GM_CPUID_* */
  uint8_t bit;
  uint8_t xstate;    /* GM_XSTATE_* */
  uint8_t level;     /* the x86-64 micro-architecture level that includes it
                        (2, 3, 4), or 0 for none */
} gm_isa_extension;

static const gm_isa_extension gm_isa_extensions[] = {
    /* leaf 1, ECX */
    {"sse3", 1, 0, GM_CPUID_ECX, 0, GM_XSTATE_NONE, 2},
    {"pclmul", 1, 0, GM_CPUID_ECX, 1, GM_XSTATE_NONE, 0},
    {"ssse3", 1, 0, GM_CPUID_ECX, 9, GM_XSTATE_NONE, 2},
    {"fma", 1, 0, GM_CPUID_ECX, 12, GM_XSTATE_YMM, 3},
    {"cx16", 1, 0, GM_CPUID_ECX, 13, GM_XSTATE_NONE, 2},
    {"sse4.1", 1, 0, GM_CPUID_ECX, 19, GM_XSTATE_NONE, 2},
    {"sse4.2", 1, 0, GM_CPUID_ECX, 20, GM_XSTATE_NONE, 2},
    {"movbe", 1, 0, GM_CPUID_ECX, 22, GM_XSTATE_NONE, 3},
    {"popcnt", 1, 0, GM_CPUID_ECX, 23, GM_XSTATE_NONE, 2},
    {"aes", 1, 0, GM_CPUID_ECX, 25, GM_XSTATE_NONE, 0},
    {"xsave", 1, 0, GM_CPUID_ECX, 26, GM_XSTATE_NONE, 3},
    {"avx", 1, 0, GM_CPUID_ECX, 28, GM_XSTATE_YMM, 3},
    {"f16c", 1, 0, GM_CPUID_ECX, 29, GM_XSTATE_YMM, 3},
    /* leaf 7.0, EBX */
    {"bmi", 7, 0, GM_CPUID_EBX, 3, GM_XSTATE_NONE, 3},
    {"avx2", 7, 0, GM_CPUID_EBX, 5, GM_XSTATE_YMM, 3},
    {"bmi2", 7, 0, GM_CPUID_EBX, 8, GM_XSTATE_NONE, 3},
    {"avx512f", 7, 0, GM_CPUID_EBX, 16, GM_XSTATE_ZMM, 4},
    {"avx512dq", 7, 0, GM_CPUID_EBX, 17, GM_XSTATE_ZMM, 4},
    {"adx", 7, 0, GM_CPUID_EBX, 19, GM_XSTATE_NONE, 0},
    {"avx512ifma", 7, 0, GM_CPUID_EBX, 21, GM_XSTATE_ZMM, 0},
    {"avx512cd", 7, 0, GM_CPUID_EBX, 28, GM_XSTATE_ZMM, 4},
    {"sha", 7, 0, GM_CPUID_EBX, 29, GM_XSTATE_NONE, 0},
    {"avx512bw", 7, 0, GM_CPUID_EBX, 30, GM_XSTATE_ZMM, 4},
    {"avx512vl", 7, 0, GM_CPUID_EBX, 31, GM_XSTATE_ZMM, 4},
    /* leaf 7.0, ECX */
    {"avx512vbmi", 7, 0, GM_CPUID_ECX, 1, GM_XSTATE_ZMM, 0},
    {"avx512vbmi2", 7, 0, GM_CPUID_ECX, 6, GM_XSTATE_ZMM, 0},
    {"gfni", 7, 0, GM_CPUID_ECX, 8, GM_XSTATE_NONE, 0},
    {"vaes", 7, 0, GM_CPUID_ECX, 9, GM_XSTATE_YMM, 0},
    {"vpclmulqdq", 7, 0, GM_CPUID_ECX, 10, GM_XSTATE_YMM, 0},
    {"avx512vnni", 7, 0, GM_CPUID_ECX, 11, GM_XSTATE_ZMM, 0},
    {"avx512bitalg", 7, 0, GM_CPUID_ECX, 12, GM_XSTATE_ZMM, 0},
    {"avx512vpopcntdq", 7, 0, GM_CPUID_ECX, 14, GM_XSTATE_ZMM, 0},
    /* leaf 7.0, EDX */
    {"avx512fp16", 7, 0, GM_CPUID_EDX, 23, GM_XSTATE_ZMM, 0},
    /* leaf 7.1, EAX */
    {"avxvnni", 7, 1, GM_CPUID_EAX, 4, GM_XSTATE_YMM, 0},
    {"avx512bf16", 7, 1, GM_CPUID_EAX, 5, GM_XSTATE_ZMM, 0},
    /* leaf 0x80000001, ECX */
    {"sahf", 0x80000001u, 0, GM_CPUID_ECX, 0, GM_XSTATE_NONE, 2},
    {"lzcnt", 0x80000001u, 0, GM_CPUID_ECX, 5, GM_XSTATE_NONE, 3},
    {"sse4a", 0x80000001u, 0, GM_CPUID_ECX, 6, GM_XSTATE_NONE, 0},
    {"fma4", 0x80000001u, 0, GM_CPUID_ECX, 16, GM_XSTATE_YMM, 0},
    {"xop", 0x80000001u, 0, GM_CPUID_ECX, 11, GM_XSTATE_YMM, 0},
};

#define GM_ISA_EXTENSION_COUNT (sizeof(gm_isa_extensions) / sizeof(gm_isa_extensions[0]))

/* The x86-64 micro-architecture level (1 to 4) of a set of extensions, given
 * as a mask over gm_isa_extensions (bit i: row i present): the highest level
 * all of whose extensions are present. */
static inline int gm_isa_level(uint64_t mask) {
  int level = 4;
  for (unsigned i = 0; i < GM_ISA_EXTENSION_COUNT; ++i)
    if (gm_isa_extensions[i].level && !(mask >> i & 1) &&
        gm_isa_extensions[i].level - 1 < level)
      level = gm_isa_extensions[i].level - 1;
  return level;
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GMRT_ISA_H */
