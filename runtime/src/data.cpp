//===- data.cpp - reading datasets: IDX (gzip'ed or not) and .npy ---------===//
//
// IDX: a 4-byte magic (0, 0, type, rank), rank big-endian uint32 dims, then
// the data. Fashion-MNIST ships type 0x08 (unsigned byte), gzip'ed.
//
//===----------------------------------------------------------------------===//

#include "runtime/include/gmrt/data.h"

#include "runtime/include/gmrt/io.h"

#include <zlib.h>

#include <cstring>
#include <sys/stat.h>

namespace gmrt {

namespace {

/// Reads the whole of |path|, inflating it when it is gzip'ed (zlib reads
/// plain files unchanged).
Status readMaybeGzip(const std::string &path, std::string &out) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return Status::error("cannot open '" + path + "': " + std::strerror(errno));
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f)
    return Status::error("cannot open '" + path + "'");
  out.clear();
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0)
    out.append(buf, (size_t)n);
  int err = 0;
  const char *msg = gzerror(f, &err);
  // A stream cut short reads as a premature end; zlib keeps what it had.
  bool truncated = n < 0 || (err != Z_OK && err != Z_STREAM_END);
  std::string why = truncated && msg ? msg : "";
  gzclose(f);
  if (truncated)
    return Status::error("'" + path + "' is corrupt or truncated (" +
                         (why.empty() ? "bad gzip stream" : why) + ")");
  return Status();
}

uint32_t bigEndian32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

} // namespace

Status readIdx(const std::string &path, ByteArray &out) {
  std::string bytes;
  if (Status s = readMaybeGzip(path, bytes); !s)
    return s;
  const auto *p = reinterpret_cast<const unsigned char *>(bytes.data());
  if (bytes.size() < 4 || p[0] != 0 || p[1] != 0)
    return Status::error("'" + path + "' is not an IDX file (bad magic number)");
  if (p[2] != 0x08)
    return Status::error("'" + path + "' holds IDX type 0x" +
                         std::to_string(p[2]) + "; only unsigned bytes (0x08) are read");
  size_t rank = p[3];
  if (rank < 1 || rank > 4 || bytes.size() < 4 + 4 * rank)
    return Status::error("'" + path + "' has a truncated or implausible IDX header");
  out.shape.clear();
  uint64_t count = 1;
  for (size_t i = 0; i < rank; ++i) {
    uint32_t d = bigEndian32(p + 4 + 4 * i);
    if (d == 0 || d > (1u << 24))
      return Status::error("'" + path + "' has an implausible dimension " +
                           std::to_string(d));
    out.shape.push_back(d);
    count *= d;
  }
  size_t header = 4 + 4 * rank;
  if (bytes.size() - header < count)
    return Status::error("'" + path + "' is truncated: the header promises " +
                         std::to_string(count) + " bytes of data, the file has " +
                         std::to_string(bytes.size() - header));
  out.data.assign(p + header, p + header + count);
  return Status();
}

Status loadFashionMnist(const std::string &dir, const std::string &split,
                        Dataset &out) {
  std::string prefix;
  if (split == "train")
    prefix = "train";
  else if (split == "test")
    prefix = "t10k";
  else
    return Status::error("unknown split '" + split + "'; expected train or test");
  std::string imagesPath = dir + "/" + prefix + "-images-idx3-ubyte.gz";
  std::string labelsPath = dir + "/" + prefix + "-labels-idx1-ubyte.gz";
  struct stat st;
  if (::stat(imagesPath.c_str(), &st) != 0)
    return Status::error("Fashion-MNIST not found: '" + imagesPath +
                         "' is missing (install the Debian package "
                         "dataset-fashion-mnist, or point --data at a copy)");
  ByteArray images, labels;
  if (Status s = readIdx(imagesPath, images); !s)
    return s;
  if (Status s = readIdx(labelsPath, labels); !s)
    return s;
  if (images.shape.size() != 3 || labels.shape.size() != 1)
    return Status::error("'" + imagesPath + "' and '" + labelsPath +
                         "' are not an image file and a label file");
  if (images.shape[0] != labels.shape[0])
    return Status::error("'" + imagesPath + "' has " + std::to_string(images.shape[0]) +
                         " images but '" + labelsPath + "' " +
                         std::to_string(labels.shape[0]) + " labels");
  out.count = images.shape[0];
  out.height = images.shape[1];
  out.width = images.shape[2];
  out.images.resize(images.data.size());
  for (size_t i = 0; i < images.data.size(); ++i)
    out.images[i] = images.data[i] / 255.0f;
  for (uint8_t l : labels.data)
    if (l > 9)
      return Status::error("'" + labelsPath + "' has a label " + std::to_string(l) +
                           " outside 0..9");
  out.labels = std::move(labels.data);
  return Status();
}

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

Status readNpy(const std::string &path, FloatArray &out) {
  std::string bytes;
  if (Status s = readFile(path, bytes); !s)
    return s;
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    return Status::error("'" + path + "' is not a .npy file (bad magic)");
  unsigned major = (unsigned char)bytes[6];
  size_t lenSize = major == 1 ? 2 : 4, start = 8 + lenSize;
  if ((major != 1 && major != 2) || bytes.size() < start)
    return Status::error("'" + path + "' has an unsupported .npy version");
  size_t headerLen = 0;
  for (size_t i = 0; i < lenSize; ++i)
    headerLen |= (size_t)(unsigned char)bytes[8 + i] << (8 * i);
  if (bytes.size() < start + headerLen)
    return Status::error("'" + path + "' is truncated in its header");
  std::string header = bytes.substr(start, headerLen);
  bool f4 = header.find("'descr': '<f4'") != std::string::npos;
  bool u1 = header.find("'descr': '|u1'") != std::string::npos;
  if (!f4 && !u1)
    return Status::error("'" + path + "' holds a dtype other than '<f4' or '|u1'");
  if (header.find("'fortran_order': False") == std::string::npos)
    return Status::error("'" + path + "' is in Fortran order; save it in C order");
  size_t open = header.find("'shape': (");
  size_t close = open == std::string::npos ? open : header.find(')', open);
  if (close == std::string::npos)
    return Status::error("'" + path + "' has no shape in its header");
  out.shape.clear();
  uint64_t count = 1;
  std::string dims = header.substr(open + 10, close - open - 10);
  for (size_t at = 0; at < dims.size();) {
    while (at < dims.size() && (dims[at] == ' ' || dims[at] == ','))
      ++at;
    if (at >= dims.size())
      break;
    size_t end = at;
    while (end < dims.size() && std::isdigit((unsigned char)dims[end]))
      ++end;
    if (end == at || end - at > 12)
      return Status::error("'" + path + "' has a malformed shape");
    int64_t d = std::stoll(dims.substr(at, end - at));
    out.shape.push_back(d);
    count *= (uint64_t)d;
    at = end;
  }
  size_t elem = f4 ? 4 : 1, data = start + headerLen;
  if (count > (1ull << 34) || bytes.size() - data < count * elem)
    return Status::error("'" + path + "' is truncated: " + std::to_string(count) +
                         " elements promised");
  out.data.resize(count);
  if (f4)
    std::memcpy(out.data.data(), bytes.data() + data, count * 4);
  else
    for (uint64_t i = 0; i < count; ++i)
      out.data[i] = (unsigned char)bytes[data + i];
  return Status();
}

Status writeNpy(const std::string &path, const FloatArray &array) {
  std::string shape;
  for (int64_t d : array.shape)
    shape += std::to_string(d) + ", ";
  if (array.shape.size() > 1)
    shape.resize(shape.size() - 1); // "(3, 4)" but "(3,)"
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                       shape + "), }";
  // Pad with spaces so that the data starts on a 64-byte boundary.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string bytes = "\x93NUMPY\x01";
  bytes += '\0';
  bytes += (char)(header.size() & 0xff);
  bytes += (char)(header.size() >> 8);
  bytes += header;
  bytes.append(reinterpret_cast<const char *>(array.data.data()),
               array.data.size() * 4);
  return writeFileAtomic(path, bytes);
}

} // namespace gmrt
