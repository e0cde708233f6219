//===- conditions.cpp - what a generator is asked for ---------------------===//
//
// A generator's inputs besides its latent: codes with a prior gmrun draws
// (InfoGAN's category), labels and captions (text-to-image). A user fixes
// them with --code, --label and --caption; left unset, they vary by class in
// equal blocks, so a grid shows one class per row. --sweep runs a continuous
// code along each row instead, as InfoGAN's paper draws its style codes.
//
//===----------------------------------------------------------------------===//

#include "runtime/tools/gmrun/gmrun.h"

#include "runtime/include/gmrt/data.h"
#include "runtime/include/gmrt/rng.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

namespace gmrun {

namespace {

std::string lower(std::string s) {
  for (char &ch : s)
    ch = (char)std::tolower((unsigned char)ch);
  return s;
}

/// A label: its index, or a Fashion-MNIST class name ("ankle boot").
int parseLabel(const std::string &text) {
  char *end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (!text.empty() && *end == '\0' && v >= 0)
    return (int)v;
  std::string names;
  for (int k = 0; k < 10; ++k) {
    if (lower(text) == lower(kClassNames[k]))
      return k;
    names += std::string(k ? ", " : "") + kClassNames[k];
  }
  die("--label '" + text + "' is neither a class index nor a class name (" + names + ")");
}

const DataSpec &dataOf(const Artifact &art, const InputSpec &in) {
  const DataSpec *d = art.manifest.dataNamed(in.name);
  if (!d)
    die("the artifact's entry reads data '" + in.name + "', which its manifest does not declare");
  return *d;
}

/// Values per example of a batched data or tensor input.
int64_t widthOf(const InputSpec &in) {
  return in.shape.empty() ? 1 : numel(Shape(in.shape.begin() + 1, in.shape.end()));
}

} // namespace

Conditions conditionsOf(const Args &a) {
  Conditions c;
  c.dataPath = dataPath(a);
  // One NAME=VALUE of --option, into |into|; dies showing |example|.
  auto assignment = [](const std::string &option, const std::string &text,
                       const std::string &example, std::map<std::string, double> &into) {
    size_t eq = text.find('=');
    char *end = nullptr;
    double v = eq == std::string::npos ? 0 : std::strtod(text.c_str() + eq + 1, &end);
    if (eq == std::string::npos || eq == 0 || end == text.c_str() + eq + 1 || *end != '\0')
      die("--" + option + " '" + text + "' is not NAME=VALUE (--" + option + " " + example + ")");
    into[text.substr(0, eq)] = v;
  };
  // --code NAME=VALUE, several separated by commas.
  std::string codes = a.get("code", "");
  for (size_t at = 0; !codes.empty() && at <= codes.size();) {
    size_t comma = codes.find(',', at);
    assignment("code", codes.substr(at, comma == std::string::npos ? std::string::npos : comma - at),
               "c=3", c.codes);
    at = comma == std::string::npos ? codes.size() + 1 : comma + 1;
  }
  // --hparam NAME=X: a progressive GAN's fade-in weights (alpha.14=0
  // samples the 7x7 stage).
  for (const std::string &h : a.hparams)
    assignment("hparam", h, "alpha.28=0", c.hparams);
  if (a.values.count("label"))
    c.label = parseLabel(a.get("label", ""));
  if (a.values.count("caption"))
    c.caption = a.get("caption", "");
  // --sweep NAME or NAME.D: dimension D (default 0) of a normal code.
  if (a.values.count("sweep")) {
    std::string s = a.get("sweep", "");
    size_t dot = s.rfind('.');
    c.sweep = s.substr(0, dot);
    if (dot != std::string::npos) {
      char *end = nullptr;
      long d = std::strtol(s.c_str() + dot + 1, &end, 10);
      if (end == s.c_str() + dot + 1 || *end != '\0' || d < 0)
        die("--sweep '" + s + "' is not NAME or NAME.DIMENSION (--sweep s, --sweep s.1)");
      c.sweepDim = d;
    }
    if (c.sweep.empty())
      die("--sweep '" + s + "' names no code (--sweep s, --sweep s.1)");
    c.range = realOption(a, "range", 2.0);
    c.columns = intOption(a, "columns", 9, 2);
    if (c.codes.count(c.sweep))
      die("--sweep " + c.sweep + " and --code " + c.sweep + "=...: a code is swept or fixed, "
          "not both");
  }
  return c;
}

int64_t classRows(const Artifact &art, const EntrySpec &dec, const Conditions &c,
                  std::string *by) {
  std::string unused;
  by = by ? by : &unused;
  bool latent = dec.kind != "translate";
  for (const InputSpec &in : dec.inputs) {
    if (in.kind == InputSpec::Kind::Tensor) {
      if (!latent && in.prior == std::optional<std::string>("uniform_categorical") &&
          !c.codes.count(in.name)) {
        *by = "code " + in.name;
        return widthOf(in);
      }
      latent = false;
    } else if (in.kind == InputSpec::Kind::Data) {
      const DataSpec &d = dataOf(art, in);
      if (d.kind == "label" && !c.label) {
        *by = "label " + in.name;
        return widthOf(in);
      }
      if (d.kind == "tokens" && !c.caption && !c.label) {
        *by = "caption " + in.name;
        return 10; // Fashion-MNIST's classes, whose captions it takes
      }
    }
  }
  return 0;
}

void fillConditions(const Artifact &art, const EntrySpec &dec, int64_t n, uint64_t seed,
                    const Conditions &c, Call &call) {
  int64_t classes = classRows(art, dec, c);
  int64_t block = classes ? (n + classes - 1) / classes : n;
  auto classOf = [&](int64_t row) { return classes ? row / block : 0; };
  for (const auto &[name, v] : c.hparams) {
    if (dec.find(InputSpec::Kind::HParam, name) < 0) {
      std::string has;
      for (const InputSpec &in : dec.inputs)
        if (in.kind == InputSpec::Kind::HParam)
          has += (has.empty() ? "" : ", ") + in.name;
      die("--hparam " + name + ": '" + dec.name + "' has no such hyper-parameter" +
          (has.empty() ? std::string(" (it has none)") : " (it has " + has + ")"));
    }
    call.setHParam(name, v);
  }
  for (const auto &[name, v] : c.codes)
    if (int i = dec.find(InputSpec::Kind::Tensor, name);
        i < 0 || (dec.kind != "translate" && i == dec.find(InputSpec::Kind::Tensor)))
      die("--code " + name + ": '" + dec.name + "' takes no code '" + name + "'");
  // The images along a row: a class block, or the sweep's columns.
  int64_t row = c.sweep.empty() ? block : c.columns;
  if (!c.sweep.empty()) {
    int i = dec.find(InputSpec::Kind::Tensor, c.sweep);
    if (i < 0 || i == dec.find(InputSpec::Kind::Tensor) ||
        dec.inputs[i].prior != std::optional<std::string>("standard_normal"))
      die("--sweep " + c.sweep + ": '" + dec.name + "' takes no continuous code '" + c.sweep +
          "' (a latent with a normal(0, 1) prior besides its first)");
    if (c.sweepDim >= widthOf(dec.inputs[i]))
      die("--sweep " + c.sweep + "." + std::to_string(c.sweepDim) + ": '" + c.sweep + "' has " +
          std::to_string(widthOf(dec.inputs[i])) + " dimensions, 0 to " +
          std::to_string(widthOf(dec.inputs[i]) - 1));
  }
  // A translation takes no latent: its codes come first.
  bool latent = dec.kind != "translate";
  uint64_t stream = 0;
  Split loaded;
  const Split *test = c.test;
  for (size_t i = 0; i < dec.inputs.size(); ++i) {
    const InputSpec &in = dec.inputs[i];
    if (in.kind != InputSpec::Kind::Tensor && in.kind != InputSpec::Kind::Data)
      continue;
    int64_t w = widthOf(in);
    std::vector<float> &v = call.inputs[i];
    if (in.kind == InputSpec::Kind::Tensor) {
      v.assign((size_t)(n * w), 0.0f);
      auto fixed = c.codes.find(in.name);
      bool categorical = in.prior == std::optional<std::string>("uniform_categorical");
      if (!latent && categorical) {
        // A one-hot category: the one asked for, else the row's class.
        if (fixed != c.codes.end() &&
            (fixed->second != std::floor(fixed->second) || fixed->second < 0 || fixed->second >= w))
          die("--code " + in.name + "=" + num(fixed->second) + ": '" + in.name +
              "' is one of " + std::to_string(w) + " categories, 0 to " + std::to_string(w - 1));
        for (int64_t r = 0; r < n; ++r)
          v[r * w + (fixed != c.codes.end() ? (int64_t)fixed->second : classOf(r) % w)] = 1.0f;
      } else if (!latent && fixed != c.codes.end()) {
        std::fill(v.begin(), v.end(), (float)fixed->second);
      } else if (!latent && in.name == c.sweep) {
        // The swept dimension runs from -range to range along the row;
        // the code's other dimensions stay at the prior's mean, 0.
        for (int64_t r = 0; r < n; ++r)
          v[r * w + c.sweepDim] =
              (float)(-c.range + 2 * c.range * (double)(r % row) / (double)(row - 1));
      } else {
        // The latent (stream 0, as before codes existed) and each normal
        // code draw from their own streams; under a sweep, one draw per
        // row, so the swept code is all that changes along it.
        uint64_t key = keyFor(seed, kSample, stream++);
        for (size_t j = 0; j < v.size(); ++j) {
          int64_t r = (int64_t)j / w;
          v[j] = (float)gmrt_normal(key, 0, c.sweep.empty() ? j : (r / row) * w + j % w);
        }
      }
      latent = false;
    } else if (in.kind == InputSpec::Kind::Data) {
      if (!v.empty())
        continue; // set by the caller: a translation's source images
      const DataSpec &d = dataOf(art, in);
      v.assign((size_t)(n * w), 0.0f);
      if (d.kind == "label") {
        if (c.label && *c.label >= w)
          die("--label " + std::to_string(*c.label) + ": the model has " + std::to_string(w) +
              " classes");
        for (int64_t r = 0; r < n; ++r)
          v[r * w + (c.label ? *c.label : classOf(r) % w)] = 1.0f;
      } else if (d.kind == "tokens" && c.caption) {
        std::vector<int> ids;
        check(parseCaption(*c.caption, w, ids));
        for (int64_t r = 0; r < n; ++r)
          std::copy(ids.begin(), ids.end(), v.begin() + r * w);
      } else if (d.kind == "tokens") {
        // The captions of test images of the row's class (or --label's),
        // as they come: their mix of dark and light.
        if (c.label && *c.label >= 10)
          die("--label " + std::to_string(*c.label) + ": captions name Fashion-MNIST's 10 "
              "classes, 0 to 9");
        if (!test) {
          check(loadSplit(art.manifest, c.dataPath, "test", loaded));
          test = &loaded;
        }
        if (test->labels.empty() || !test->arrays.count(in.name))
          die("captions for '" + in.name + "' come from Fashion-MNIST's test images; pass "
              "--caption \"...\"");
        std::vector<std::vector<int64_t>> byClass(10);
        for (int64_t j = 0; j < test->count; ++j)
          if (test->labels[j] < 10)
            byClass[test->labels[j]].push_back(j);
        const std::vector<float> &src = test->arrays.at(in.name);
        for (int64_t r = 0; r < n; ++r) {
          const std::vector<int64_t> &rows = byClass[c.label ? *c.label : classOf(r) % 10];
          if (rows.empty())
            die("no test image of class " + std::to_string(classOf(r)) + " to caption");
          int64_t j = rows[(size_t)(r % block) % rows.size()];
          std::copy(src.begin() + j * w, src.begin() + (j + 1) * w, v.begin() + r * w);
        }
      } else {
        die("'" + dec.name + "' reads data '" + in.name + "', which gmrun cannot make up");
      }
    }
  }
}

} // namespace gmrun
