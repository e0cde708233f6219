//===- data.cpp - reading datasets: IDX (gzip'ed or not) and .npy ---------===//
//
// IDX: a 4-byte magic (0, 0, type, rank), rank big-endian uint32 dims, then
// the data. Fashion-MNIST ships type 0x08 (unsigned byte), gzip'ed.
//
// .npy: a magic, a version, a header that is a Python dict literal (descr,
// fortran_order, shape), then the data. The dict is rewritten as JSON and
// read with gm's one JSON library (json.h), not matched as text: numpy's
// own spacing, a 1-tuple's comma or a Python 2 writer's long integers all
// read the same.
//
//===----------------------------------------------------------------------===//

#include "runtime/include/gmrt/data.h"

#include <algorithm>
#include <sstream>

#include "runtime/include/gmrt/io.h"
#include "runtime/include/gmrt/json.h"

#include <zlib.h>

#include <cctype>
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

namespace {

/// Rewrites the Python literal of a .npy header (`{'descr': '<f4',
/// 'fortran_order': False, 'shape': (5,), }`, as numpy's repr writes it) as
/// JSON, for json.h to read: single-quoted strings become double-quoted,
/// True/False/None become true/false/null, tuples become arrays, the commas
/// Python allows before a closing bracket (`(5,)`, `, }`) go, and so does
/// the L of Python 2's long integers (`(3L, 4L)`). Text that was not such a
/// literal stays invalid and fails to parse.
std::string pythonLiteralToJson(const std::string &text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\'' || c == '"') {
      // A string: copied with its quote changed to ", the other quote
      // escaped inside it, and backslash escapes kept (\' needs none).
      out += '"';
      for (++i; i < text.size() && text[i] != c; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
          if (text[i + 1] != '\'')
            out += '\\';
          out += text[++i];
        } else {
          if (text[i] == '"')
            out += '\\';
          out += text[i];
        }
      }
      out += '"'; // a missing closing quote ends the text and fails to parse
    } else if (std::isalpha((unsigned char)c) || c == '_') {
      size_t end = i;
      while (end < text.size() && (std::isalnum((unsigned char)text[end]) || text[end] == '_'))
        ++end;
      std::string word = text.substr(i, end - i);
      if (word == "True")
        out += "true";
      else if (word == "False")
        out += "false";
      else if (word == "None")
        out += "null";
      else if (!(word == "L" && !out.empty() && std::isdigit((unsigned char)out.back())))
        out += word;
      i = end - 1;
    } else if (c == '(' || c == '[' || c == '{') {
      out += c == '(' ? '[' : c;
    } else if (c == ')' || c == ']' || c == '}') {
      while (!out.empty() && std::isspace((unsigned char)out.back()))
        out.pop_back();
      if (!out.empty() && out.back() == ',')
        out.pop_back();
      out += c == ')' ? ']' : c;
    } else {
      out += c;
    }
  }
  return out;
}

} // namespace

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
  auto malformed = [&](const std::string &why) {
    return Status::error("'" + path + "' has a malformed .npy header (" + why + ")");
  };
  Json header;
  std::string why;
  if (!parseJson(pythonLiteralToJson(bytes.substr(start, headerLen)), header, why,
                 /*maxDepth=*/4))
    return malformed(why);
  if (!header.is_object())
    return malformed("not a dict");
  auto descr = header.find("descr"), fortran = header.find("fortran_order"),
       shape = header.find("shape");
  if (descr == header.end() || fortran == header.end())
    return malformed("no 'descr' or 'fortran_order'");
  bool f4 = *descr == "<f4", u1 = *descr == "|u1";
  if (!f4 && !u1)
    return Status::error("'" + path + "' holds a dtype other than '<f4' or '|u1'");
  if (!fortran->is_boolean())
    return malformed("'fortran_order' is " + jsonExcerpt(*fortran) + ", not True or False");
  if (fortran->get<bool>())
    return Status::error("'" + path + "' is in Fortran order; save it in C order");
  if (shape == header.end())
    return Status::error("'" + path + "' has no shape in its header");
  if (!shape->is_array())
    return Status::error("'" + path + "' has a malformed shape");
  out.shape.clear();
  uint64_t count = 1;
  for (const Json &d : *shape) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > (1ull << 40))
      return Status::error("'" + path + "' has a malformed shape");
    uint64_t dim = d.get<uint64_t>();
    out.shape.push_back((int64_t)dim);
    // Saturates past any real size instead of overflowing; the size check
    // below rejects it.
    count = dim && count > (1ull << 40) / dim ? (1ull << 41) : count * dim;
  }
  size_t elem = f4 ? 4 : 1, data = start + headerLen;
  if (count > (1ull << 34) || bytes.size() - data < count * elem)
    return Status::error("'" + path + "' is truncated: " + std::to_string(count) +
                         " elements promised");
  out.data.resize(count);
  if (f4 && count) // an empty vector's data() may be null, which memcpy may not take
    std::memcpy(out.data.data(), bytes.data() + data, count * 4);
  else
    for (uint64_t i = 0; i < count; ++i)
      out.data[i] = (unsigned char)bytes[data + i];
  return Status();
}

Status writeNpy(const std::string &path, const FloatArray &array) {
  std::string shape;
  for (int64_t d : array.shape)
    shape += (shape.empty() ? "" : ", ") + std::to_string(d);
  if (array.shape.size() == 1)
    shape += ","; // "(3, 4)" but "(3,)", as numpy writes them
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

//===----------------------------------------------------------------------===//
// Captions
//===----------------------------------------------------------------------===//

const std::vector<std::string> &captionVocabulary() {
  static const std::vector<std::string> words = {
      "<pad>", "a",     "dark",  "light",   "t-shirt", "trouser", "pullover", "dress",
      "coat",  "sandal", "shirt", "sneaker", "bag",     "ankle",   "boot"};
  return words;
}

std::vector<int> fashionCaption(int label, const float *pixels, int64_t count, int64_t length) {
  // The class names of Fashion-MNIST, as word ids of captionVocabulary().
  static const std::vector<std::vector<int>> nouns = {{4}, {5}, {6}, {7}, {8},
                                                      {9}, {10}, {11}, {12}, {13, 14}};
  double ink = 0;
  int64_t inked = 0;
  for (int64_t i = 0; i < count; ++i)
    if (pixels[i] > 0.1f) {
      ink += pixels[i];
      ++inked;
    }
  bool dark = inked > 0 && ink / (double)inked < 0.45;
  std::vector<int> words = {1, dark ? 2 : 3};
  if (label >= 0 && label < (int)nouns.size())
    words.insert(words.end(), nouns[label].begin(), nouns[label].end());
  words.resize((size_t)length, 0);
  return words;
}

Status parseCaption(const std::string &text, int64_t length, std::vector<int> &out) {
  const std::vector<std::string> &vocab = captionVocabulary();
  out.clear();
  std::stringstream words(text);
  for (std::string w; words >> w;) {
    auto it = std::find(vocab.begin() + 1, vocab.end(), w);
    if (it == vocab.end()) {
      std::string known;
      for (size_t i = 1; i < vocab.size(); ++i)
        known += (i > 1 ? " " : "") + vocab[i];
      return Status::error("unknown word '" + w + "' in caption \"" + text +
                           "\"; the vocabulary is: " + known);
    }
    out.push_back((int)(it - vocab.begin()));
  }
  if ((int64_t)out.size() > length)
    return Status::error("caption \"" + text + "\" has " + std::to_string(out.size()) +
                         " words; the model's captions have at most " + std::to_string(length));
  out.resize((size_t)length, 0);
  return Status();
}

} // namespace gmrt
