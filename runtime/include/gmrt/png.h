//===- png.h - PNG grids of images --------------------------------*- C++ -*-===//

#ifndef GMRT_PNG_H
#define GMRT_PNG_H

#include "runtime/include/gmrt/status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace gmrt {

/// Writes |width| x |height| 8-bit pixels, |channels| 1 (grayscale) or 3
/// (RGB) per pixel, row-major, as a PNG, atomically.
Status writePng(const std::string &path, int64_t width, int64_t height, int channels,
                const std::vector<uint8_t> &pixels);

/// Writes |count| grayscale images of |height| x |width| (row-major floats,
/// clamped to [0, 1]) as one 8-bit PNG grid of |columns| columns with a
/// 2-pixel border, atomically.
Status writeImageGrid(const std::string &path, const float *images, int64_t count,
                      int64_t height, int64_t width, int64_t columns);

} // namespace gmrt

#endif // GMRT_PNG_H
