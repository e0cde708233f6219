//===- png.cpp - PNG grids of images --------------------------------------===//
//
// A minimal PNG encoder: signature, IHDR (8-bit grayscale), one zlib IDAT
// with filter 0 on every row, IEND; CRCs from zlib.
//
//===----------------------------------------------------------------------===//

#include "runtime/include/gmrt/png.h"

#include "runtime/include/gmrt/io.h"

#include <zlib.h>

#include <algorithm>

namespace gmrt {

namespace {

void put32(std::string &out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8)
    out += (char)(v >> s);
}

void chunk(std::string &out, const char *type, const std::string &data) {
  put32(out, (uint32_t)data.size());
  std::string body = std::string(type, 4) + data;
  out += body;
  put32(out, (uint32_t)crc32(0, reinterpret_cast<const Bytef *>(body.data()),
                             (uInt)body.size()));
}

} // namespace

Status writeImageGrid(const std::string &path, const float *images, int64_t count,
                      int64_t height, int64_t width, int64_t columns) {
  if (count < 1 || height < 1 || width < 1 || columns < 1)
    return Status::error("cannot write an empty image grid to '" + path + "'");
  const int64_t border = 2;
  int64_t cols = std::min(columns, count), rows = (count + cols - 1) / cols;
  int64_t w = cols * (width + border) + border, h = rows * (height + border) + border;
  std::vector<uint8_t> pixels(w * h, 0);
  for (int64_t n = 0; n < count; ++n) {
    int64_t top = border + (n / cols) * (height + border);
    int64_t left = border + (n % cols) * (width + border);
    for (int64_t i = 0; i < height; ++i)
      for (int64_t j = 0; j < width; ++j) {
        float v = std::clamp(images[(n * height + i) * width + j], 0.0f, 1.0f);
        pixels[(top + i) * w + left + j] = (uint8_t)(v * 255.0f + 0.5f);
      }
  }
  std::string raw;
  raw.reserve((w + 1) * h);
  for (int64_t i = 0; i < h; ++i) {
    raw += '\0'; // filter: none
    raw.append(reinterpret_cast<const char *>(&pixels[i * w]), w);
  }
  uLongf size = compressBound(raw.size());
  std::string idat(size, '\0');
  if (compress2(reinterpret_cast<Bytef *>(&idat[0]), &size,
                reinterpret_cast<const Bytef *>(raw.data()), raw.size(), 6) != Z_OK)
    return Status::error("cannot compress the image grid for '" + path + "'");
  idat.resize(size);
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  put32(ihdr, (uint32_t)w);
  put32(ihdr, (uint32_t)h);
  ihdr += std::string("\x08\x00\x00\x00\x00", 5); // 8-bit, grayscale, deflate, no filter set, no interlace
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", idat);
  chunk(png, "IEND", "");
  return writeFileAtomic(path, png);
}

} // namespace gmrt
