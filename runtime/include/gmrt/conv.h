//===- conv.h - the convolutions the host's gmrt_conv2d runs -----*- C++ -*-===//
//
// Defined in src/conv.cpp, linked into programs that load artifacts.
//
//===----------------------------------------------------------------------===//

#ifndef GM_RUNTIME_GMRT_CONV_H
#define GM_RUNTIME_GMRT_CONV_H

#include "runtime/include/gmrt/abi.h"

#include <string>

namespace gmrt {

/// gmrt_conv2d's directions (abi.h).
enum class ConvKind : int32_t {
  Forward = GM_CONV_FORWARD,
  BackwardData = GM_CONV_BACKWARD_DATA,
  BackwardWeights = GM_CONV_BACKWARD_WEIGHTS,
};

/// "oneDNN; kernel jit:avx512_core": the implementation oneDNN picks for a
/// typical layer on this CPU.
std::string describeConv();

} // namespace gmrt

#endif // GM_RUNTIME_GMRT_CONV_H
