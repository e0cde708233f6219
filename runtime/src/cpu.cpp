//===- cpu.cpp - what the CPU gmrun runs on can execute -------------------===//

#include "runtime/include/gmrt/cpu.h"

#include "runtime/include/gmrt/isa.h"

#include <cpuid.h>
#include <cstdlib>
#include <cstring>

namespace gmrt {

namespace {

uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

HostCPU detect() {
  HostCPU cpu;
  unsigned a, b, c, d;
  // The brand string (leaves 0x80000002-4), and family/model for the
  // machines whose brand says little ("Intel(R) Xeon(R) Processor").
  char brand[49] = {0};
  if (__get_cpuid_max(0x80000000u, nullptr) >= 0x80000004u)
    for (unsigned i = 0; i < 3; ++i) {
      __get_cpuid(0x80000002u + i, &a, &b, &c, &d);
      unsigned regs[4] = {a, b, c, d};
      std::memcpy(brand + 16 * i, regs, 16);
    }
  std::string name = brand;
  name.erase(0, name.find_first_not_of(' '));
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    unsigned family = (a >> 8) & 0xf, model = (a >> 4) & 0xf;
    if (family == 0xf)
      family += (a >> 20) & 0xff;
    if (family == 6 || family >= 0xf)
      model |= ((a >> 16) & 0xf) << 4;
    name += " (family " + std::to_string(family) + " model " + std::to_string(model) + ")";
  }
  cpu.model = name;

  // Wide registers count only when the OS saves them (XCR0).
  bool osxsave = __get_cpuid(1, &a, &b, &c, &d) && (c >> 27 & 1);
  uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  bool ymm = (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xe0) == 0xe0;
  for (unsigned i = 0; i < GM_ISA_EXTENSION_COUNT; ++i) {
    const gm_isa_extension &e = gm_isa_extensions[i];
    unsigned top = __get_cpuid_max(e.leaf & 0x80000000u, nullptr);
    if (top < e.leaf)
      continue;
    unsigned r[4];
    __cpuid_count(e.leaf, e.subleaf, r[0], r[1], r[2], r[3]);
    bool has = r[e.reg] >> e.bit & 1;
    if (e.xstate == GM_XSTATE_YMM)
      has = has && ymm;
    if (e.xstate == GM_XSTATE_ZMM)
      has = has && zmm;
    if (has)
      cpu.isa |= 1ull << i;
  }
  // GMRUN_MAX_CPU_ISA: keep the extensions of that level and below.
  if (const char *limit = std::getenv("GMRUN_MAX_CPU_ISA"); limit && *limit) {
    std::string l = limit;
    int max = l == "x86-64" ? 1 : l == "x86-64-v2" ? 2 : l == "x86-64-v3" ? 3
            : l == "x86-64-v4" ? 4 : 0;
    if (max) {
      cpu.limit = l;
      for (unsigned i = 0; i < GM_ISA_EXTENSION_COUNT; ++i)
        if (!gm_isa_extensions[i].level || gm_isa_extensions[i].level > max)
          cpu.isa &= ~(1ull << i);
    }
  }
  cpu.level = gm_isa_level(cpu.isa);
  return cpu;
}

} // namespace

const HostCPU &hostCPU() {
  static const HostCPU cpu = detect();
  return cpu;
}

std::vector<std::string> isaNames(uint64_t isa) {
  std::vector<std::string> names;
  for (unsigned i = 0; i < GM_ISA_EXTENSION_COUNT; ++i)
    if (isa >> i & 1)
      names.push_back(gm_isa_extensions[i].name);
  return names;
}

Status checkCPU(const std::string &artifact, const std::string &builtFor,
                const std::vector<std::string> &required) {
  const HostCPU &cpu = hostCPU();
  for (const std::string &ext : required) {
    unsigned i = 0;
    while (i < GM_ISA_EXTENSION_COUNT && ext != gm_isa_extensions[i].name)
      ++i;
    if (i == GM_ISA_EXTENSION_COUNT)
      return Status::error("'" + artifact + "' needs the ISA extension '" + ext +
                           "', which this gmrun does not know: update gmrun, or recompile "
                           "the artifact with this version's gmc");
    if (!(cpu.isa >> i & 1))
      return Status::error(
          "'" + artifact + "' was compiled for " + builtFor + " and uses " + ext +
          ", which this CPU (" + cpu.model +
          (cpu.limit.empty() ? "" : ", limited by GMRUN_MAX_CPU_ISA=" + cpu.limit) +
          ") lacks: recompile it here (gmc MODEL.gm), or for a level this CPU has (gmc "
          "-mcpu=x86-64" + (cpu.level > 1 ? "-v" + std::to_string(cpu.level) : "") + ")");
  }
  return Status();
}

} // namespace gmrt
