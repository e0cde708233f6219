//===- common.cpp - what gmrun's commands share ---------------------------===//
//
// gmrun.h: arguments, data splits, keys, checkpoints, evaluation means.
//
//===----------------------------------------------------------------------===//

#include "runtime/tools/gmrun/gmrun.h"

#include "runtime/include/gmrt/artifact.h"
#include "runtime/include/gmrt/cpu.h"
#include "runtime/include/gmrt/data.h"
#include "runtime/include/gmrt/conv.h"
#include "runtime/include/gmrt/gemm.h"
#include "runtime/include/gmrt/numerics.h"
#include "runtime/include/gmrt/png.h"
#include "runtime/include/gmrt/rng.h"
#include "runtime/include/gmrt/safetensors.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <malloc.h>
#include <xmmintrin.h>
#include <new>
#include <unistd.h>
#include <vector>



namespace gmrun {

const char *const kClassNames[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                     "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

[[noreturn]] void die(const std::string &msg) {
  std::fprintf(stderr, "gmrun: error: %s\n", msg.c_str());
  std::exit(1);
}

/// The process's peak resident memory so far, in MiB (data, state and the
/// entries' scratch tensors).
double peakMemoryMB() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_maxrss / 1024.0; // KiB on Linux
}

void check(const Status &s) {
  if (!s)
    die(s.message());
}

int64_t intOption(const Args &a, const std::string &k, int64_t dflt, int64_t min) {
  if (!a.values.count(k))
    return dflt;
  const std::string &v = a.values.at(k);
  char *end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end || n < min)
    die("--" + k + " expects an integer >= " + std::to_string(min) + ", got '" + v + "'");
  return n;
}

double realOption(const Args &a, const std::string &k, double dflt) {
  if (!a.values.count(k))
    return dflt;
  const std::string &v = a.values.at(k);
  char *end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end || !std::isfinite(x))
    die("--" + k + " expects a number, got '" + v + "'");
  return x;
}

//===----------------------------------------------------------------------===//
// Randomness (rng.h): keys per step, permutations per epoch
//===----------------------------------------------------------------------===//

uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
/// The key of a purpose (training step, evaluation, sampling) and index.
uint64_t keyFor(uint64_t seed, uint64_t purpose, uint64_t index) {
  return splitmix(seed ^ splitmix(purpose * 0x100000001B3ull + index));
}

std::vector<int64_t> permutation(uint64_t seed, int64_t epoch, int64_t n) {
  std::vector<int64_t> p(n);
  for (int64_t i = 0; i < n; ++i)
    p[i] = i;
  uint64_t key = keyFor(seed, kShuffle, (uint64_t)epoch);
  for (int64_t i = n - 1; i > 0; --i) {
    uint32_t out[4];
    gmrt_rng_block(key, 0, (uint64_t)i, out);
    uint64_t r = ((uint64_t)out[0] << 32) | out[1];
    std::swap(p[i], p[(int64_t)(r % (uint64_t)(i + 1))]);
  }
  return p;
}

//===----------------------------------------------------------------------===//
// Data
//===----------------------------------------------------------------------===//

Status loadSplit(const Manifest &m, const std::string &path, const std::string &split,
                 Split &out, int onlyClass) {
  out = Split();
  // A Fashion-MNIST folder, or one array of examples: an .npy file, or an
  // IDX image file (values / 255, as Fashion-MNIST's own are read).
  bool npy = hasSuffix(path, ".npy");
  struct stat st;
  bool idx = !npy && stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  Dataset ds;
  FloatArray arr;
  if (idx) {
    ByteArray bytes;
    if (Status s = readIdx(path, bytes); !s)
      return s;
    arr.shape = bytes.shape;
    arr.data.assign(bytes.data.begin(), bytes.data.end());
    for (float &v : arr.data)
      v /= 255.0f;
    npy = true;
  }
  if (npy) {
    if (!idx)
      if (Status s = readNpy(path, arr); !s)
        return s;
    if (arr.shape.empty())
      return Status::error("'" + path + "' holds a scalar, not one example per row");
    out.count = arr.shape[0];
  } else {
    if (Status s = loadFashionMnist(path, split, ds); !s)
      return s;
    out.count = ds.count;
    out.height = ds.height;
    out.imageWidth = ds.width;
    out.labels = ds.labels;
  }
  std::vector<int64_t> rows;
  for (const DataSpec &d : m.data) {
    int64_t w = numel(Shape(d.shape.begin() + 1, d.shape.end()));
    std::string source = d.source, query;
    if (size_t q = source.find('?'); q != std::string::npos) {
      query = source.substr(q + 1);
      source = source.substr(0, q);
    }
    std::vector<float> a;
    if (npy) {
      if (numel(Shape(arr.shape.begin() + 1, arr.shape.end())) != w)
        return Status::error("'" + path + "' has examples of shape " +
                             shapeString(Shape(arr.shape.begin() + 1, arr.shape.end())) +
                             " but data '" + d.name + "' is " +
                             shapeString(Shape(d.shape.begin() + 1, d.shape.end())));
      a = arr.data;
    } else if (source == "fashion-mnist:images") {
      if (w != ds.height * ds.width)
        return Status::error("data '" + d.name + "' has " + std::to_string(w) +
                             " values per example; Fashion-MNIST images have " +
                             std::to_string(ds.height * ds.width));
      a = ds.images;
    } else if (source == "fashion-mnist:captions") {
      if (d.kind != "tokens")
        return Status::error("data '" + d.name + "' reads captions, which are tokens data");
      int64_t vocab = (int64_t)captionVocabulary().size();
      if (d.classes.value_or(0) < vocab)
        return Status::error("data '" + d.name + "' has a vocabulary of " +
                             std::to_string(d.classes.value_or(0)) +
                             " tokens; Fashion-MNIST captions use " + std::to_string(vocab));
      int64_t pixels = ds.height * ds.width;
      a.assign((size_t)(ds.count * w), 0.0f);
      for (int64_t i = 0; i < ds.count; ++i) {
        std::vector<int> ids = fashionCaption(ds.labels[i], &ds.images[i * pixels], pixels, w);
        for (int64_t t = 0; t < w; ++t)
          a[i * w + t] = (float)ids[t];
      }
    } else if (source == "fashion-mnist:labels") {
      a.assign((size_t)(ds.count * w), 0.0f);
      for (int64_t i = 0; i < ds.count; ++i) {
        if (ds.labels[i] >= w)
          return Status::error("data '" + d.name + "' has " + std::to_string(w) +
                               " classes; Fashion-MNIST has 10");
        a[i * w + ds.labels[i]] = 1.0f;
      }
    } else {
      if (d.source.empty())
        return Status::error("data '" + d.name +
                             "' has no `from` source in the .gm file; pass --data FILE.npy");
      return Status::error("data '" + d.name + "' comes from '" + d.source +
                           "', which gmrun cannot read yet; pass --data FILE.npy");
    }
    // The source's options, "&"-separated: class=N keeps the examples of
    // one class; binary makes pixels 0 or 1 (x > 0.5), as the literature on
    // binary-pixel models does.
    int cls = onlyClass;
    for (size_t at = 0; !query.empty() && at <= query.size();) {
      size_t amp = query.find('&', at);
      std::string opt = query.substr(at, amp == std::string::npos ? std::string::npos : amp - at);
      at = amp == std::string::npos ? query.size() + 1 : amp + 1;
      char *end = nullptr;
      if (opt.rfind("class=", 0) == 0) {
        long c = std::strtol(opt.c_str() + 6, &end, 10);
        if (opt.size() == 6 || *end || c < 0 || c > 9)
          return Status::error("data '" + d.name + "' comes from '" + d.source +
                               "': class= expects a Fashion-MNIST class 0..9");
        if (cls < 0)
          cls = (int)c;
      } else if (opt == "binary") {
        for (float &v : a)
          v = v > 0.5f ? 1.0f : 0.0f;
      } else {
        return Status::error("data '" + d.name + "' comes from '" + d.source +
                             "': unknown option '" + opt + "' (expected class=N or binary)");
      }
    }
    if (!npy && cls >= 0) {
      rows.clear();
      for (int64_t i = 0; i < ds.count; ++i)
        if (ds.labels[i] == cls)
          rows.push_back(i);
      std::vector<float> kept;
      for (int64_t r : rows)
        kept.insert(kept.end(), a.begin() + r * w, a.begin() + (r + 1) * w);
      a.swap(kept);
      out.count = (int64_t)rows.size();
      out.labels.assign(rows.size(), (uint8_t)cls);
    }
    out.arrays[d.name] = std::move(a);
    out.width[d.name] = w;
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// Checkpoints
//===----------------------------------------------------------------------===//

std::string hexDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

Status saveCheckpoint(const std::string &path, const Artifact &art, const State &state,
                      uint64_t seed, const Progress &p) {
  Checkpoint ck;
  const Manifest &m = art.manifest;
  for (size_t i = 0; i < m.state.size(); ++i)
    ck.tensors.push_back({m.state[i].name, m.state[i].shape,
                         {state.tensors[i].begin(), state.tensors[i].end()}});
  ck.metadata = {{"format", "gm-checkpoint-1"},
                 {"model", m.model},
                 {"model_fingerprint", std::to_string(art.fingerprint)},
                 {"seed", std::to_string(seed)},
                 {"step", std::to_string(p.step)},
                 {"epoch", std::to_string(p.epoch)},
                 {"batch_in_epoch", std::to_string(p.batchInEpoch)},
                 {"epoch_train_seconds", hexDouble(p.trainSeconds)},
                 {"train_examples", std::to_string(p.examples)},
                 {"batch", std::to_string(p.batch)}};
  for (size_t i = 0; i < p.lossSum.size(); ++i) {
    ck.metadata["epoch_loss_sum_" + std::to_string(i)] = hexDouble(p.lossSum[i]);
    ck.metadata["epoch_loss_count_" + std::to_string(i)] = std::to_string(p.lossCount[i]);
  }
  return writeSafetensors(path, ck);
}

Status loadCheckpoint(const std::string &path, const Artifact &art, State &state,
                      uint64_t *seed, Progress *p) {
  Checkpoint ck;
  if (Status s = readSafetensors(path, ck); !s)
    return s;
  const Manifest &m = art.manifest;
  auto meta = [&](const std::string &k) {
    auto it = ck.metadata.find(k);
    return it == ck.metadata.end() ? std::string() : it->second;
  };
  if (meta("format") != "gm-checkpoint-1")
    return Status::error("'" + path + "' is not a gm checkpoint (no gm-checkpoint-1 metadata)");
  if (meta("model") != m.model)
    return Status::error("'" + path + "' is a checkpoint of model '" + meta("model") +
                         "', not of '" + m.model + "' (" + art.path + ")");
  if (!ck.verified)
    std::fprintf(stderr, "gmrun: note: '%s' carries no checksums (written before gm recorded "
                         "them); its tensors cannot be verified\n", path.c_str());
  state.tensors.resize(m.state.size());
  for (size_t i = 0; i < m.state.size(); ++i) {
    const NamedTensor *t = ck.find(m.state[i].name);
    if (!t)
      return Status::error("'" + path + "' lacks tensor '" + m.state[i].name + "' of model '" +
                           m.model + "'");
    if (t->shape != m.state[i].shape)
      return Status::error("'" + path + "' has '" + m.state[i].name + "' of shape " +
                           shapeString(t->shape) + "; " + art.path + " expects " +
                           shapeString(m.state[i].shape) + " (another version of the model?)");
    state.tensors[i].assign(t->data.begin(), t->data.end());
  }
  if (seed)
    *seed = std::strtoull(meta("seed").c_str(), nullptr, 10);
  if (p) {
    p->step = std::atoll(meta("step").c_str());
    p->epoch = std::atoll(meta("epoch").c_str());
    p->batchInEpoch = std::atoll(meta("batch_in_epoch").c_str());
    for (size_t i = 0; i < p->lossSum.size(); ++i) {
      p->lossSum[i] = std::strtod(meta(("epoch_loss_sum_" + std::to_string(i)).c_str()).c_str(), nullptr);
      p->lossCount[i] = std::atoll(meta(("epoch_loss_count_" + std::to_string(i)).c_str()).c_str());
    }
    p->trainSeconds = std::strtod(meta("epoch_train_seconds").c_str(), nullptr);
    p->examples = std::atoll(meta("train_examples").c_str());
    p->batch = std::atoll(meta("batch").c_str());
  }
  return Status();
}

std::atomic<bool> interrupted{false};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string dataPath(const Args &a) { return a.get("data", GMRT_FMNIST_DIR); }

/// Mean of an evaluation entry over a whole split, per example.
void forEachBatch(const Artifact &art, State &state, const EntrySpec &e, const Split &split,
                  uint64_t seed, int64_t batch, double k,
                  const std::function<void(int64_t first, int64_t n, const Call &)> &done,
                  const std::map<std::string, double> &hparams) {
  Call call(e);
  if (k > 0)
    call.setHParam("k", k);
  for (const auto &[name, v] : hparams)
    call.setHParam(name, v);
  std::vector<int64_t> rows(split.count);
  for (int64_t i = 0; i < split.count; ++i)
    rows[i] = i;
  for (int64_t start = 0, b = 0; start < split.count; start += batch, ++b) {
    int64_t n = std::min(batch, split.count - start);
    call.setBatch(split, &rows[start], n);
    call.setKey(keyFor(seed, kEval, (uint64_t)b));
    call.run(state, art, n);
    done(start, n, call);
  }
}

double evaluate(const Artifact &art, State &state, const EntrySpec &e, const Split &split,
                uint64_t seed, int64_t batch, double k,
                const std::map<std::string, double> &hparams) {
  double sum = 0;
  forEachBatch(
      art, state, e, split, seed, batch, k,
      [&](int64_t, int64_t n, const Call &c) { sum += (double)c.outputs[0][0] * (double)n; },
      hparams);
  return sum / (double)split.count;
}

double iwaeDraws(const Args &a, const EntrySpec &e) {
  if (e.value != "iwae")
    return 0;
  int ki = e.find(InputSpec::Kind::HParam, "k");
  int64_t dflt = ki >= 0 ? (int64_t)e.inputs[ki].defaultValue.value_or(1) : 1;
  return (double)intOption(a, "k", dflt);
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

/// Metrics of the model on the test split: -ELBO in nats per example where
/// an objective is an ELBO, else each objective's value.
std::string testMetrics(const Artifact &art, State &state, const Split &test, uint64_t seed,
                        const std::map<std::string, double> &hparams) {
  std::string out;
  for (const EntrySpec &e : art.manifest.entries) {
    if (e.kind != "eval")
      continue;
    if (e.value == "iwae")
      continue; // k draws per example: `gmrun eval` reports it
    double value = evaluate(art, state, e, test, seed, 100, 0, hparams);
    if (e.value == "elbo")
      out += ", \"test_neg_elbo\": " + num(-value);
    else if (e.value == "exact")
      out += ", \"test_nll\": " + num(-value);
    else
      out += ", \"test_" + e.name.substr(5) + "\": " + num(value);
  }
  // A classifier's accuracy ("accuracy" -> "test_accuracy").
  if (std::string acc = classifierAccuracy(art, state, test); !acc.empty())
    out += ", \"test_" + acc.substr(3);
  return out;
}

bool makeDir(const std::string &dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) == 0)
    return S_ISDIR(st.st_mode);
  return mkdir(dir.c_str(), 0755) == 0;
}

/// One training entry in the schedule of an iteration: a train block's step,
void loadForInference(const Args &a, const Artifact &art, State &state) {
  if (!a.has("checkpoint"))
    die("'" + a.command + "' needs --checkpoint FILE (written by gmrun train)");
  check(loadCheckpoint(a.get("checkpoint", ""), art, state, nullptr, nullptr));
}

const EntrySpec &needEntry(const Artifact &art, const std::string &kind, const std::string &why) {
  const EntrySpec *e = art.manifest.entry(kind);
  if (!e)
    die("'" + art.path + "' has no " + kind + " entry point (" + why + ")");
  return *e;
}

void needSameLatent(const EntrySpec &enc, const EntrySpec &dec) {
  // encode.<z> gives z; a decoder's latent input is named by its latent.
  std::string z = enc.name.substr(enc.name.find('.') + 1);
  int zi = dec.find(InputSpec::Kind::Tensor);
  if (zi < 0 || dec.inputs[zi].name != z)
    die("the decoder " + dec.name + " takes latent '" + (zi < 0 ? "" : dec.inputs[zi].name) +
        "' but the encoder " + enc.name + " gives '" + z +
        "' (a hierarchy of latents): reconstructions and traversals need one latent for both");
}

/// Image height and width of a decoder's output rows.
std::pair<int64_t, int64_t> imageSize(int64_t w) {
  int64_t s = (int64_t)std::lround(std::sqrt((double)w));
  if (s * s != w)
    die("outputs of " + std::to_string(w) + " values are not square images");
  return {s, s};
}

/// Runs a decoder on latents |z| (n rows) and returns its means.

} // namespace gmrun
