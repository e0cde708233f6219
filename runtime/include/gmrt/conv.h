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

/// One gmrt_conv2d call's geometry: src [N, C, H, W], weights [F, C, KH,
/// KW], dst [N, F, OH, OW], stride and the zero padding before the input
/// (top, left).
struct ConvGeometry {
  int64_t src[4], weights[4], dst[4];
  int64_t stride[2], pad[2];
};

/// A convolution run elsewhere (the CUDA executor's cuDNN): gmrt_conv2d's
/// direction, geometry and operands (abi.h: a and b in, out overwritten);
/// returns false to have the CPU run it.
using DeviceConv = bool (*)(ConvKind kind, const ConvGeometry &g, const float *a, const float *b,
                            float *out);

/// Makes gmrt_conv2d offer every convolution to |conv| first (nullptr: none).
void setDeviceConv(DeviceConv conv);

} // namespace gmrt

#endif // GM_RUNTIME_GMRT_CONV_H
