//===- png.cpp - PNG grids of images --------------------------------------===//
//
// A minimal PNG encoder: signature, IHDR (8-bit grayscale or RGB), one zlib IDAT
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

Status writePng(const std::string &path, int64_t width, int64_t height, int channels,
                const std::vector<uint8_t> &pixels) {
  if (width < 1 || height < 1 || (channels != 1 && channels != 3) ||
      (int64_t)pixels.size() != width * height * channels)
    return Status::error("cannot write a malformed image to '" + path + "'");
  int64_t stride = width * channels;
  std::string raw;
  raw.reserve((stride + 1) * height);
  for (int64_t i = 0; i < height; ++i) {
    raw += '\0'; // filter: none
    raw.append(reinterpret_cast<const char *>(&pixels[i * stride]), stride);
  }
  uLongf size = compressBound(raw.size());
  std::string idat(size, '\0');
  if (compress2(reinterpret_cast<Bytef *>(&idat[0]), &size,
                reinterpret_cast<const Bytef *>(raw.data()), raw.size(), 6) != Z_OK)
    return Status::error("cannot compress the image for '" + path + "'");
  idat.resize(size);
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  put32(ihdr, (uint32_t)width);
  put32(ihdr, (uint32_t)height);
  // 8-bit, grayscale (0) or RGB (2), deflate, no filter set, no interlace.
  ihdr += std::string(1, '\x08') + std::string(1, channels == 3 ? '\x02' : '\x00') +
          std::string(3, '\0');
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", idat);
  chunk(png, "IEND", "");
  return writeFileAtomic(path, png);
}

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
  return writePng(path, w, h, 1, pixels);
}

} // namespace gmrt
