//===- cpu.h - what the CPU gmrun runs on can execute -------------*- C++ -*-===//
//
// gmrun reads the CPU's model name and ISA extensions (CPUID, with the OS's
// XSAVE state for the wide registers) once, and checks an artifact's
// manifest `target` (manifest.h) against them before calling any generated
// code.
//
// GMRUN_MAX_CPU_ISA=x86-64|x86-64-v2|x86-64-v3|x86-64-v4 makes gmrun act as
// if the CPU had only the extensions of that level (like oneDNN's
// ONEDNN_MAX_CPU_ISA): to check on one machine what another would refuse.
//
//===----------------------------------------------------------------------===//

#ifndef GMRT_CPU_H
#define GMRT_CPU_H

#include "runtime/include/gmrt/status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace gmrt {

struct HostCPU {
  std::string model; // "Intel(R) Xeon(R) Processor (family 6 model 207)"
  uint64_t isa = 0;  // bit i: row i of gm_isa_extensions is usable
  int level = 1;     // its x86-64 level, 1-4
  std::string limit; // GMRUN_MAX_CPU_ISA when set, else empty
};

/// The CPU this process runs on. Thread-safe; computed once.
const HostCPU &hostCPU();

/// The names of the extensions in |isa| (a mask as in HostCPU::isa).
std::vector<std::string> isaNames(uint64_t isa);

/// Fails, naming |artifact|, the CPU it was built for and the first missing
/// extension, when this CPU lacks an extension in |required| (the manifest's
/// list; names outside gmrt/isa.h's table are an error too: a newer gmc).
Status checkCPU(const std::string &artifact, const std::string &builtFor,
                const std::vector<std::string> &required);

} // namespace gmrt

#endif // GMRT_CPU_H
