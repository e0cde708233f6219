//===- data.h - reading datasets: IDX (gzip'ed or not) and .npy ---*- C++ -*-===//
//
// Shape legend: N examples, H x W pixels, D = H * W.
//
// Thread-compatible: functions share no state; callers own what they get.
//
//===----------------------------------------------------------------------===//

#ifndef GMRT_DATA_H
#define GMRT_DATA_H

#include "runtime/include/gmrt/status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace gmrt {

/// An array of unsigned bytes with its shape, as an IDX file holds it.
struct ByteArray {
  std::vector<int64_t> shape;  // e.g. {N, 28, 28} or {N}
  std::vector<uint8_t> data;   // row-major, product(shape) bytes
};

/// Reads the IDX file at |path| (gzip'ed when it ends in .gz) into |out|.
/// Only unsigned-byte IDX (type 0x08) is accepted. Fails, naming |path|, on a
/// missing or unreadable file, a bad magic number, an implausible shape, or
/// fewer bytes than the header promises.
Status readIdx(const std::string &path, ByteArray &out);

/// A labelled image dataset: images scaled to [0, 1] and their labels.
struct Dataset {
  int64_t count = 0, height = 0, width = 0;
  std::vector<float> images;   // (N, D), pixel / 255
  std::vector<uint8_t> labels; // (N), 0..9
};

/// Fashion-MNIST as Debian's dataset-fashion-mnist installs it.
constexpr const char *kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// Reads the "train" (60,000) or "test" (10,000) split from |dir|. Fails when
/// a file is missing (with a hint to install the package), corrupt, or when
/// images and labels disagree in count.
Status loadFashionMnist(const std::string &dir, const std::string &split,
                        Dataset &out);

/// Captions of Fashion-MNIST images, for text-conditioned models (data from
/// "fashion-mnist:captions"): "a dark ankle boot", "a light bag". The
/// class gives the noun, the garment's mean ink (its pixels above 0.1)
/// gives "dark" (below 0.45) or "light". Word ids index
/// captionVocabulary(); 0 pads a caption to its length.
const std::vector<std::string> &captionVocabulary();

/// The caption of one image (|pixels| values in [0, 1]) of class |label|, as
/// |length| word ids (at most 5 are words; the rest is padding).
std::vector<int> fashionCaption(int label, const float *pixels, int64_t count, int64_t length);

/// The word ids of a caption a person wrote (`--caption "a dark bag"`), or
/// an error naming the first unknown word and listing the vocabulary.
Status parseCaption(const std::string &text, int64_t length, std::vector<int> &out);

/// A float32 array read from a .npy file.
struct FloatArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

/// Reads a version 1.0/2.0 .npy file of little-endian float32 ('<f4') or
/// uint8 ('|u1', converted to float) in C order. Fails, naming |path|, on
/// anything else or on truncation.
Status readNpy(const std::string &path, FloatArray &out);

/// Writes |array| as a version 1.0 .npy file of '<f4', atomically (a
/// temporary file renamed into place).
Status writeNpy(const std::string &path, const FloatArray &array);

} // namespace gmrt

#endif // GMRT_DATA_H
