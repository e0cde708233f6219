//===- gmrun.cpp - train, sample and evaluate gm artifacts ----------------===//
//
// gmrun COMMAND ARTIFACT [options]; `gmrun help` lists commands and options.
//
// Machine-readable results (one JSON object per line) go to stdout, human
// progress to stderr. Every failure is one line "gmrun: error: ..." naming
// the file or option at fault, and exit status 1.
//
// Training is deterministic for a given --seed and thread count: the data
// order of epoch e is a Philox permutation of (seed, e), step s draws its
// noise with key mix(seed, s), and checkpoints record where in the epoch the
// run is, so `--resume` continues the exact sequence of an uninterrupted run.
//
//===----------------------------------------------------------------------===//

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


using namespace gmrt;

namespace {

//===----------------------------------------------------------------------===//
// Command line
//===----------------------------------------------------------------------===//

#define GMRT_FMNIST_DIR "/usr/share/datasets/fashion-mnist"

const char *kUsage = R"(usage: gmrun COMMAND ARTIFACT [options]

commands:
  train     train on the data, checkpoint, one JSON line of metrics per epoch
  eval      test-set -ELBO and IWAE bound (nats per image) of a checkpoint
  sample    PNG grid of samples from the prior (--reconstruct: test images
            and their reconstructions)
  traverse  PNG grid varying one latent dimension per row
  encode    posterior means of a data split as .npy
  info      what the artifact contains
  run       run one entry on seeded inputs (conformance checks)
  system    this machine: CPU, ISA level and extensions, the GEMM kernel
            (no artifact)

options (defaults in brackets):
  --seed S              parameters, data order and noise [1]
  --data PATH           Fashion-MNIST folder, or an .npy array [)" GMRT_FMNIST_DIR R"(]
  --threads N           BLAS threads [1]
  --checkpoint FILE     checkpoint to read (eval, sample, traverse, encode)
  --keep-denormals      compute with denormal floats (default: flushed to zero)
  --quiet               no progress bar
  train:    --epochs N [1] | --steps N, --out DIR [gm-run], --resume, --batch B
            [model's], --lr X, --hparam [WHO:]NAME=X, --checkpoint-every N [500],
            --check-numerics (an artifact from gmc -check-numerics: stop at
            the first NaN or Inf any op computes and name the op)
            (every training block runs once per batch, in source order; a
            minimax game runs its discriminator every batch and its generator
            every k-th; WHO is a block, a player, or BLOCK.PLAYER)
  eval:     --k K [the model's], --batch B [100]
  sample:   --n N [64], --out FILE.png|FILE.npy [samples.png] (.npy: the values,
            one row per image), --reconstruct
  traverse: --index I [0], --range R [3], --columns C [9], --out FILE.png
  encode:   --split train|test [test], --out FILE.npy [latents.npy]
  run:      --entry NAME, --batch B [2], --steps N [1] (N > 1 prints the first
            result after each step as a trajectory), --print-param NAME
)";

struct Args {
  std::string command, artifact;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
  std::vector<std::string> printParams;
  std::vector<std::string> hparams;

  bool has(const std::string &k) const { return values.count(k) || flags.count(k); }
  std::string get(const std::string &k, const std::string &dflt) const {
    auto it = values.find(k);
    return it == values.end() ? dflt : it->second;
  }
};

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

int64_t intOption(const Args &a, const std::string &k, int64_t dflt, int64_t min = 1) {
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

Args parseArgs(int argc, char **argv) {
  static const std::set<std::string> valued = {
      "seed", "data", "threads", "checkpoint", "epochs", "steps", "out", "batch", "lr",
      "hparam", "checkpoint-every", "k", "n", "index", "range", "columns", "split", "entry",
      "print-param"};
  static const std::set<std::string> boolean = {"resume", "reconstruct", "quiet",
                                                "keep-denormals", "check-numerics"};
  Args a;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) != 0) {
      pos.push_back(s);
      continue;
    }
    std::string key = s.substr(2), value;
    size_t eq = key.find('=');
    bool hasValue = eq != std::string::npos;
    if (hasValue) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    }
    if (boolean.count(key)) {
      a.flags.insert(key);
      continue;
    }
    if (!valued.count(key))
      die("unknown option '--" + key + "' (gmrun help lists them)");
    if (!hasValue) {
      if (i + 1 >= argc)
        die("--" + key + " needs a value");
      value = argv[++i];
    }
    if (key == "print-param")
      a.printParams.push_back(value);
    else if (key == "hparam")
      a.hparams.push_back(value);
    else
      a.values[key] = value;
  }
  if (pos.empty() || pos[0] == "help" || pos[0] == "--help") {
    std::fputs(kUsage, pos.empty() ? stderr : stdout);
    std::exit(pos.empty() ? 1 : 0);
  }
  a.command = pos[0];
  if (a.command == "system") {
    if (pos.size() > 1)
      die("unexpected argument '" + pos[1] + "' ('system' takes no artifact)");
    return a;
  }
  if (pos.size() < 2)
    die("'" + a.command + "' needs an artifact: gmrun " + a.command + " MODEL.gmx");
  if (pos.size() > 2)
    die("unexpected argument '" + pos[2] + "'");
  a.artifact = pos[1];
  return a;
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
enum Purpose : uint64_t { kTrainStep = 1, kEval = 2, kSample = 3, kShuffle = 4 };

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

/// One split of the data, laid out per data declaration of the model.
struct Split {
  int64_t count = 0;
  std::map<std::string, std::vector<float>> arrays; // name -> (count, per-example)
  std::map<std::string, int64_t> width;             // per-example size
  int64_t height = 28, imageWidth = 28;             // for image grids
};

Status loadSplit(const Manifest &m, const std::string &path, const std::string &split,
                 Split &out) {
  out = Split();
  bool npy = path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
  Dataset ds;
  FloatArray arr;
  if (npy) {
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
    // ?class=N keeps the examples of one class.
    if (!npy && query.rfind("class=", 0) == 0) {
      int cls = std::atoi(query.c_str() + 6);
      rows.clear();
      for (int64_t i = 0; i < ds.count; ++i)
        if (ds.labels[i] == cls)
          rows.push_back(i);
      std::vector<float> kept;
      for (int64_t r : rows)
        kept.insert(kept.end(), a.begin() + r * w, a.begin() + (r + 1) * w);
      a.swap(kept);
      out.count = (int64_t)rows.size();
    }
    out.arrays[d.name] = std::move(a);
    out.width[d.name] = w;
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// Calling entries
//===----------------------------------------------------------------------===//

/// Inputs of one call: data rows gathered per batch, hyper-parameters, key.
struct Call {
  const EntrySpec &entry;
  std::vector<std::vector<float>> inputs; // per manifest input
  std::vector<int64_t> keys;              // key storage (int64)
  std::vector<std::vector<int32_t>> ids;  // token data as the i32 ids entries take
  std::vector<std::vector<float>> outputs;

  explicit Call(const EntrySpec &e) : entry(e), inputs(e.inputs.size()), keys(e.inputs.size()) {
    for (size_t i = 0; i < e.inputs.size(); ++i)
      if (e.inputs[i].kind == InputSpec::Kind::HParam)
        inputs[i] = {(float)e.inputs[i].defaultValue.value_or(0.0)};
  }
  void setHParam(const std::string &name, double v) {
    int i = entry.find(InputSpec::Kind::HParam, name);
    if (i >= 0)
      inputs[i][0] = (float)v;
  }
  void setKey(uint64_t key) {
    for (size_t i = 0; i < entry.inputs.size(); ++i)
      if (entry.inputs[i].kind == InputSpec::Kind::Key)
        keys[i] = (int64_t)key;
  }
  /// Gathers rows |rows| of |split| into every data input.
  void setBatch(const Split &split, const int64_t *rows, int64_t n) {
    for (size_t i = 0; i < entry.inputs.size(); ++i) {
      const InputSpec &in = entry.inputs[i];
      if (in.kind != InputSpec::Kind::Data)
        continue;
      const std::vector<float> &src = split.arrays.at(in.name);
      int64_t w = split.width.at(in.name);
      inputs[i].resize((size_t)(n * w));
      for (int64_t r = 0; r < n; ++r)
        std::memcpy(&inputs[i][r * w], &src[rows[r] * w], (size_t)w * 4);
    }
  }
  void run(State &state, const Artifact &art, int64_t batch) {
    std::vector<Buffer> bufs;
    auto concrete = [&](Shape s) {
      for (int64_t &d : s)
        if (d < 0)
          d = batch;
      return s;
    };
    for (size_t i = 0; i < entry.inputs.size(); ++i) {
      const InputSpec &in = entry.inputs[i];
      if (in.kind == InputSpec::Kind::Key)
        bufs.push_back({&keys[i], {}});
      else if (in.kind == InputSpec::Kind::HParam)
        bufs.push_back({inputs[i].data(), {}});
      else if (const DataSpec *d = art.manifest.dataNamed(in.name);
               in.kind == InputSpec::Kind::Data && d && d->kind == "tokens") {
        // Token ids are held as floats with the rest of a split; entries
        // take them as i32 (abi.h).
        ids.resize(entry.inputs.size());
        ids[i].assign(inputs[i].begin(), inputs[i].end());
        bufs.push_back({ids[i].data(), concrete(in.shape)});
      } else {
        bufs.push_back({inputs[i].data(), concrete(in.shape)});
      }
    }
    outputs.resize(entry.outputs.size());
    for (size_t i = 0; i < entry.outputs.size(); ++i) {
      Shape s = concrete(entry.outputs[i]);
      outputs[i].assign((size_t)numel(s), 0.0f);
      bufs.push_back({outputs[i].data(), s});
    }
    callEntry(art, entry, state, bufs);
  }
};

//===----------------------------------------------------------------------===//
// Checkpoints
//===----------------------------------------------------------------------===//

struct Progress {
  int64_t step = 0, epoch = 0, batchInEpoch = 0; // step: batches trained on
  std::vector<double> lossSum;    // this epoch, per training entry (player)
  std::vector<int64_t> lossCount;
  double trainSeconds = 0;

  explicit Progress(size_t players = 1) : lossSum(players), lossCount(players) {}
  void newEpoch() {
    ++epoch;
    batchInEpoch = 0;
    std::fill(lossSum.begin(), lossSum.end(), 0.0);
    std::fill(lossCount.begin(), lossCount.end(), 0);
    trainSeconds = 0;
  }
};

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
    ck.tensors.push_back({m.state[i].name, m.state[i].shape, state.tensors[i]});
  ck.metadata = {{"format", "gm-checkpoint-1"},
                 {"model", m.model},
                 {"model_fingerprint", std::to_string(art.fingerprint)},
                 {"seed", std::to_string(seed)},
                 {"step", std::to_string(p.step)},
                 {"epoch", std::to_string(p.epoch)},
                 {"batch_in_epoch", std::to_string(p.batchInEpoch)},
                 {"epoch_train_seconds", hexDouble(p.trainSeconds)}};
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
    state.tensors[i] = t->data;
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
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// Commands
//===----------------------------------------------------------------------===//

std::atomic<bool> interrupted{false};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string dataPath(const Args &a) { return a.get("data", GMRT_FMNIST_DIR); }

/// Mean of an evaluation entry over a whole split, per example.
double evaluate(const Artifact &art, State &state, const EntrySpec &e, const Split &split,
                uint64_t seed, int64_t batch, double k = 0) {
  Call call(e);
  if (k > 0)
    call.setHParam("k", k);
  std::vector<int64_t> rows(split.count);
  for (int64_t i = 0; i < split.count; ++i)
    rows[i] = i;
  double sum = 0;
  for (int64_t start = 0, b = 0; start < split.count; start += batch, ++b) {
    int64_t n = std::min(batch, split.count - start);
    call.setBatch(split, &rows[start], n);
    call.setKey(keyFor(seed, kEval, (uint64_t)b));
    call.run(state, art, n);
    sum += (double)call.outputs[0][0] * (double)n;
  }
  return sum / (double)split.count;
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

/// Metrics of the model on the test split: -ELBO in nats per example where
/// an objective is an ELBO, else each objective's value.
std::string testMetrics(const Artifact &art, State &state, const Split &test, uint64_t seed) {
  std::string out;
  for (const EntrySpec &e : art.manifest.entries) {
    if (e.kind != "eval")
      continue;
    if (e.value == "iwae")
      continue; // k draws per example: `gmrun eval` reports it
    double value = evaluate(art, state, e, test, seed, 100);
    if (e.value == "elbo")
      out += ", \"test_neg_elbo\": " + num(-value);
    else
      out += ", \"test_" + e.name.substr(5) + "\": " + num(value);
  }
  return out;
}

bool makeDir(const std::string &dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) == 0)
    return S_ISDIR(st.st_mode);
  return mkdir(dir.c_str(), 0755) == 0;
}

/// One training entry in the schedule of an iteration: a train block's step,
/// or one player of a minimax game.
struct Slot {
  const EntrySpec *entry;
  int64_t every = 1;  // runs after every |every|-th batch (a game's generator: k)
  std::string label;  // its loss in the metrics: train_loss[_<label>]
  std::string player; // all, discriminator or generator
};

/// What one iteration (one batch) runs, in order: every training block of
/// the model in declaration order, a train block's step once, a game's
/// discriminator once and its generator after every k-th batch (the AAE:
/// reconstruction, then its regularisation game).
std::vector<Slot> trainingPlan(const Artifact &art) {
  const Manifest &m = art.manifest;
  std::vector<std::string> blocks;
  std::map<std::string, std::vector<const EntrySpec *>> entries;
  for (const EntrySpec &e : m.entries)
    if (e.kind == "train") {
      std::string block = e.step.value_or(e.name);
      if (!entries.count(block))
        blocks.push_back(block);
      entries[block].push_back(&e);
    }
  if (blocks.empty())
    die("'" + art.path + "' has no training step");
  std::vector<Slot> plan;
  bool several = blocks.size() > 1;
  for (const std::string &block : blocks) {
    const std::vector<const EntrySpec *> &es = entries[block];
    if (es.size() == 1) {
      plan.push_back({es[0], 1, several ? block : "", es[0]->player.value_or("all")});
      continue;
    }
    auto player = [&](const char *name) -> const EntrySpec * {
      for (const EntrySpec *e : es)
        if (e->player == name)
          return e;
      die("'" + art.path + "' has a game '" + block + "' without a " + std::string(name) +
          " step");
    };
    const EntrySpec *d = player("discriminator"), *g = player("generator");
    std::string prefix = several ? block + "_" : "";
    plan.push_back({d, 1, prefix + "discriminator", "discriminator"});
    plan.push_back({g, std::max<int64_t>(1, d->k.value_or(1)), prefix + "generator", "generator"});
  }
  return plan;
}

/// The source line and a caret under the column of a site's first
/// "file:line:col" (the .gm file as gmc read it), when that file is
/// readable here: "\n  <line>\n  <caret>"; empty otherwise.
std::string sourceExcerpt(const std::string &site) {
  size_t c2 = site.find(':'), c3 = c2 == std::string::npos ? c2 : site.find(':', c2 + 1),
         end = c3 == std::string::npos ? c3 : site.find_first_of(":,", c3 + 1);
  if (end == std::string::npos)
    return "";
  std::string file = site.substr(0, c2);
  long line = std::atol(site.substr(c2 + 1, c3 - c2 - 1).c_str()),
       col = std::atol(site.substr(c3 + 1, end - c3 - 1).c_str());
  std::ifstream in(file);
  std::string text;
  for (long i = 0; i < line && std::getline(in, text); ++i) {
  }
  if (!in || line < 1 || col < 1)
    return "";
  return "\n  " + text + "\n  " + std::string((size_t)col - 1, ' ') + "^";
}

int train(const Args &a, const Artifact &art) {
  const Manifest &m = art.manifest;
  std::vector<Slot> plan = trainingPlan(art);
  std::string dir = a.get("out", "gm-run");
  if (!makeDir(dir))
    die("cannot create output folder '" + dir + "'");
  std::string ckptPath = dir + "/checkpoint.safetensors";

  uint64_t seed = (uint64_t)intOption(a, "seed", 1, 0);
  State state;
  Progress p(plan.size());
  struct stat st;
  bool resume = a.flags.count("resume") && stat(ckptPath.c_str(), &st) == 0;
  if (a.flags.count("resume") && !resume)
    std::fprintf(stderr, "gmrun: no checkpoint in %s yet; starting from the beginning\n",
                 dir.c_str());
  if (resume) {
    uint64_t saved = seed;
    check(loadCheckpoint(ckptPath, art, state, &saved, &p));
    if (a.has("seed") && saved != seed)
      std::fprintf(stderr, "gmrun: note: resuming with the checkpoint's seed %" PRIu64 "\n",
                   saved);
    seed = saved;
    std::fprintf(stderr, "gmrun: resuming %s at epoch %" PRId64 ", step %" PRId64 "\n",
                 ckptPath.c_str(), p.epoch + 1, p.step);
  } else {
    state.init(m, seed);
  }
  // The step of the last checkpoint on disk: a numeric failure names it.
  std::optional<int64_t> lastCheckpoint;
  if (resume)
    lastCheckpoint = p.step;
  bool checkNumerics = a.flags.count("check-numerics");
  if (checkNumerics && art.checkSites.empty())
    die("'" + art.path + "' was compiled without numeric checks; compile it with "
        "gmc -check-numerics to use --check-numerics");
  gmrt::enableNumericChecks(checkNumerics);

  Split trainSet, testSet;
  check(loadSplit(m, dataPath(a), "train", trainSet));
  check(loadSplit(m, dataPath(a), "test", testSet));
  // The first block that names a batch size sets it for all.
  int64_t dflt = 128;
  for (auto it = plan.rbegin(); it != plan.rend(); ++it)
    if (it->entry->batch)
      dflt = *it->entry->batch;
  int64_t batch = intOption(a, "batch", dflt);
  int64_t perEpoch = trainSet.count / batch; // the last partial batch is dropped
  if (perEpoch == 0)
    die("batch size " + std::to_string(batch) + " is larger than the " +
        std::to_string(trainSet.count) + " training examples");
  int64_t epochs = intOption(a, "epochs", 1);
  int64_t maxSteps = a.has("steps") ? intOption(a, "steps", 1) : epochs * perEpoch;
  int64_t every = intOption(a, "checkpoint-every", 500);

  // One call per slot of the plan; --lr and --hparam NAME=X apply to all.
  std::vector<Call> calls;
  for (const Slot &slot : plan)
    calls.emplace_back(*slot.entry);
  // --hparam WHO:NAME=X: WHO is a player, a training block, or both as
  // BLOCK.PLAYER.
  auto matches = [&](size_t i, const std::string &who) {
    const std::string block = plan[i].entry->step.value_or("");
    return who.empty() || who == plan[i].player || who == block ||
           who == block + "." + plan[i].player;
  };
  for (size_t i = 0; i < calls.size(); ++i)
    if (a.has("lr"))
      calls[i].setHParam("lr", realOption(a, "lr", 0));
  for (const std::string &h : a.hparams) {
    size_t eq = h.find('='), colon = h.find(':');
    std::string name = h.substr(0, eq), who;
    if (colon != std::string::npos && colon < eq) {
      who = h.substr(0, colon);
      name = h.substr(colon + 1, eq - colon - 1);
    }
    Args one;
    one.values[name] = eq == std::string::npos ? "" : h.substr(eq + 1);
    bool used = false;
    for (size_t i = 0; i < calls.size(); ++i)
      if (matches(i, who) && name != "t" &&
          plan[i].entry->find(InputSpec::Kind::HParam, name) >= 0) {
        calls[i].setHParam(name, realOption(one, name, 0));
        used = true;
      }
    if (eq == std::string::npos || !used)
      die("--hparam expects [WHO:]NAME=VALUE with NAME a hyper-parameter of the training "
          "step and WHO a block, player or BLOCK.PLAYER ('" + h + "')");
  }
  std::signal(SIGINT, [](int) { interrupted = true; });
  std::signal(SIGTERM, [](int) { interrupted = true; });
  bool tty = isatty(2) && !a.flags.count("quiet");
  FILE *metrics = std::fopen((dir + "/metrics.jsonl").c_str(), "a");

  // Slot |i| at training step |step| (both counted from 0): its own Adam
  // step count (how many times it has run) and key.
  uint64_t keysPerStep = std::max<size_t>(2, plan.size());
  auto runSlot = [&](size_t i, int64_t step, const int64_t *rows) {
    Call &c = calls[i];
    c.setBatch(trainSet, rows, batch);
    c.setHParam("t", (double)((step + 1) / plan[i].every));
    c.setKey(keyFor(seed, kTrainStep, (uint64_t)step * keysPerStep + i));
    c.run(state, art, batch);
    float loss = c.outputs[0][0];
    // Only for the messages below: not built on every step.
    auto kept = [&] {
      return lastCheckpoint ? "the last good checkpoint is " + ckptPath + " (step " +
                                  std::to_string(*lastCheckpoint) + ")"
                            : std::string("no checkpoint was written before it");
    };
    if (std::optional<gmrt::NumericFailure> f = gmrt::takeNumericFailure()) {
      std::string shape;
      for (int64_t d : f->shape)
        shape += (shape.empty() ? "" : "x") + std::to_string(d);
      std::string who = plan[i].label.empty() ? std::string() : " (" + plan[i].label + ")";
      die("at step " + std::to_string(step + 1) + who + ", the first non-finite value (" +
          std::to_string(f->value) + ", element " + std::to_string(f->index) + " of a " +
          shape + " tensor) was computed by\n  " +
          (f->site >= 0 && (size_t)f->site < art.checkSites.size()
               ? art.checkSites[f->site] + sourceExcerpt(art.checkSites[f->site])
               : "site " + std::to_string(f->site) + " (not in the artifact's table)") +
          "\n" + kept());
    }
    if (!std::isfinite(loss))
      die("the" + (plan[i].label.empty() ? std::string() : " " + plan[i].label + "'s") +
          " training loss became " + std::to_string(loss) + " at step " +
          std::to_string(step + 1) + "; lower the learning rate (--lr)" +
          (checkNumerics ? std::string()
                         : ". To find the op that first computed a NaN or Inf, compile with "
                           "gmc -check-numerics and train again with --check-numerics and "
                           "the same options") +
          "; " + kept());
    p.lossSum[i] += loss;
    ++p.lossCount[i];
  };

  while (p.step < maxSteps) {
    std::vector<int64_t> order = permutation(seed, p.epoch, trainSet.count);
    double t0 = now();
    for (; p.batchInEpoch < perEpoch && p.step < maxSteps; ++p.batchInEpoch) {
      const int64_t *rows = &order[p.batchInEpoch * batch];
      // Every slot on the same batch, in order; a game's generator after
      // every k-th.
      for (size_t i = 0; i < plan.size(); ++i)
        if ((p.step + 1) % plan[i].every == 0)
          runSlot(i, p.step, rows);
      ++p.step;
      if (tty && (p.batchInEpoch % 10 == 0 || p.batchInEpoch + 1 == perEpoch)) {
        double el = p.trainSeconds + now() - t0;
        int done = (int)(30 * (p.batchInEpoch + 1) / perEpoch);
        std::fprintf(stderr, "\repoch %" PRId64 " [%.*s%*s] %" PRId64 "/%" PRId64 "  loss",
                     p.epoch + 1, done, "##############################", 30 - done, "",
                     p.batchInEpoch + 1, perEpoch);
        for (size_t i = 0; i < plan.size(); ++i)
          std::fprintf(stderr, " %.3g", p.lossSum[i] / std::max<int64_t>(p.lossCount[i], 1));
        std::fprintf(stderr, "  %.0f img/s ",
                     el > 0 ? (double)((p.batchInEpoch + 1) * batch) / el : 0.0);
      }
      if (interrupted || p.step % every == 0) {
        Progress at = p;
        at.batchInEpoch = p.batchInEpoch + 1;
        at.trainSeconds = p.trainSeconds + now() - t0;
        check(saveCheckpoint(ckptPath, art, state, seed, at));
        lastCheckpoint = p.step;
        if (interrupted) {
          std::fprintf(stderr, "\ngmrun: interrupted; checkpoint %s at step %" PRId64
                       " (continue with --resume)\n", ckptPath.c_str(), p.step);
          return 130;
        }
      }
    }
    p.trainSeconds += now() - t0;
    if (tty)
      std::fputc('\n', stderr);
    bool epochDone = p.batchInEpoch == perEpoch;
    std::string line = "{\"epoch\": " + std::to_string(p.epoch + 1) +
                       ", \"step\": " + std::to_string(p.step);
    for (size_t i = 0; i < plan.size(); ++i)
      line += ", \"train_loss" + (plan[i].label.empty() ? "" : "_" + plan[i].label) + "\": " +
              num(p.lossSum[i] / std::max<int64_t>(p.lossCount[i], 1));
    line += testMetrics(art, state, testSet, seed) + ", \"images_per_s\": " +
            num((double)(p.lossCount[0] * batch) / std::max(p.trainSeconds, 1e-9)) +
            ", \"train_seconds\": " + num(p.trainSeconds) +
            ", \"peak_memory_mb\": " + num(peakMemoryMB()) + "}";
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    if (metrics) {
      std::fprintf(metrics, "%s\n", line.c_str());
      std::fflush(metrics);
    }
    if (epochDone)
      p.newEpoch();
    check(saveCheckpoint(ckptPath, art, state, seed, p));
  }
  if (metrics)
    std::fclose(metrics);
  std::fprintf(stderr, "gmrun: trained %" PRId64 " steps; checkpoint %s\n", p.step,
               ckptPath.c_str());
  return 0;
}

void loadForInference(const Args &a, const Artifact &art, State &state) {
  if (!a.has("checkpoint"))
    die("'" + a.command + "' needs --checkpoint FILE (written by gmrun train)");
  check(loadCheckpoint(a.get("checkpoint", ""), art, state, nullptr, nullptr));
}

int evalCommand(const Args &a, const Artifact &art) {
  State state;
  loadForInference(a, art, state);
  Split test;
  check(loadSplit(art.manifest, dataPath(a), "test", test));
  uint64_t seed = (uint64_t)intOption(a, "seed", 1, 0);
  int64_t batch = intOption(a, "batch", 100);
  std::string out = "{\"images\": " + std::to_string(test.count);
  for (const EntrySpec &e : art.manifest.entries) {
    if (e.kind != "eval")
      continue;
    std::string what = e.value.value_or("");
    double k = 0;
    if (what == "iwae") {
      int ki = e.find(InputSpec::Kind::HParam, "k");
      int64_t dflt = ki >= 0 ? (int64_t)e.inputs[ki].defaultValue.value_or(1) : 1;
      k = (double)intOption(a, "k", dflt);
      std::fprintf(stderr, "gmrun: IWAE bound with k = %g on %" PRId64 " images...\n", k,
                   test.count);
    }
    double value = evaluate(art, state, e, test, seed, what == "iwae" ? std::min<int64_t>(batch, 100) : batch, k);
    if (what == "elbo")
      out += ", \"neg_elbo\": " + num(-value);
    else if (what == "iwae")
      out += ", \"iwae_nll\": " + num(-value) + ", \"k\": " + num(k);
    else
      out += ", \"" + e.name.substr(5) + "\": " + num(value);
  }
  std::printf("%s}\n", out.c_str());
  return 0;
}

const EntrySpec &needEntry(const Artifact &art, const std::string &kind, const std::string &why) {
  const EntrySpec *e = art.manifest.entry(kind);
  if (!e)
    die("'" + art.path + "' has no " + kind + " entry point (" + why + ")");
  return *e;
}

/// Image height and width of a decoder's output rows.
std::pair<int64_t, int64_t> imageSize(int64_t w) {
  int64_t s = (int64_t)std::lround(std::sqrt((double)w));
  if (s * s != w)
    die("outputs of " + std::to_string(w) + " values are not square images");
  return {s, s};
}

/// Runs a decoder on latents |z| (n rows) and returns its means.
std::vector<float> decode(const Artifact &art, State &state, const EntrySpec &dec,
                          std::vector<float> z, int64_t n) {
  Call call(dec);
  int zi = dec.find(InputSpec::Kind::Tensor);
  call.inputs[zi] = std::move(z);
  call.setKey(0);
  call.run(state, art, n);
  return call.outputs[0];
}

std::vector<float> encode(const Artifact &art, State &state, const EntrySpec &enc,
                          const Split &split, int64_t first, int64_t n) {
  Call call(enc);
  std::vector<int64_t> rows(n);
  for (int64_t i = 0; i < n; ++i)
    rows[i] = first + i;
  call.setBatch(split, rows.data(), n);
  call.setKey(0);
  call.run(state, art, n);
  return call.outputs[0];
}

int sampleCommand(const Args &a, const Artifact &art) {
  State state;
  loadForInference(a, art, state);
  const EntrySpec &dec = needEntry(art, "decode", "a likelihood p(x | z) with a prior on z");
  int64_t n = intOption(a, "n", 64);
  uint64_t seed = (uint64_t)intOption(a, "seed", 1, 0);
  std::string out = a.get("out", "samples.png");
  int zi = dec.find(InputSpec::Kind::Tensor);
  int64_t zw = numel(Shape(dec.inputs[zi].shape.begin() + 1, dec.inputs[zi].shape.end()));
  int64_t xw = numel(Shape(dec.outputs[0].begin() + 1, dec.outputs[0].end()));
  auto [h, w] = imageSize(xw);
  int64_t columns = (int64_t)std::ceil(std::sqrt((double)n));
  std::vector<float> images;
  double generateSeconds = 0;
  if (a.flags.count("reconstruct")) {
    const EntrySpec &enc = needEntry(art, "encode", "a posterior q(z | x)");
    Split test;
    check(loadSplit(art.manifest, dataPath(a), "test", test));
    n = std::min(n, test.count);
    std::vector<float> z = encode(art, state, enc, test, 0, n);
    std::vector<float> x = decode(art, state, dec, z, n);
    // Row pairs: originals above their reconstructions.
    int di = enc.find(InputSpec::Kind::Data);
    const std::vector<float> &orig = test.arrays.at(enc.inputs[di].name);
    columns = std::min<int64_t>(n, 8);
    for (int64_t r = 0; r < n; r += columns) {
      int64_t c = std::min(columns, n - r);
      images.insert(images.end(), orig.begin() + r * xw, orig.begin() + (r + c) * xw);
      images.insert(images.end(), x.begin() + r * xw, x.begin() + (r + c) * xw);
    }
    n = (int64_t)images.size() / xw;
  } else {
    if (dec.prior != "standard_normal")
      die("sampling needs a standard normal prior on the latent; this model's is not");
    std::vector<float> z((size_t)(n * zw));
    uint64_t key = keyFor(seed, kSample, 0);
    for (size_t i = 0; i < z.size(); ++i)
      z[i] = (float)gmrt_normal(key, 0, i);
    double start = now();
    images = decode(art, state, dec, std::move(z), n);
    generateSeconds = now() - start;
  }
  bool npyOut = out.size() > 4 && out.compare(out.size() - 4, 4, ".npy") == 0;
  if (npyOut) {
    // The values as the model computed them, one row per image.
    FloatArray array;
    array.shape = {n, xw};
    array.data = images;
    check(writeNpy(out, array));
  } else {
    // A generator with a tanh output ([-1, 1], the data rescaled in its
    // value) would show everything below mid-grey as black: such images
    // are shown as (x + 1) / 2.
    if (*std::min_element(images.begin(), images.end()) < 0.0f) {
      for (float &v : images)
        v = (v + 1.0f) / 2.0f;
      std::fprintf(stderr, "gmrun: the images have values below 0: shown as (x + 1) / 2, "
                           "for [-1, 1]\n");
    }
    check(writeImageGrid(out, images.data(), n, h, w, columns));
  }
  if (generateSeconds > 0)
    std::fprintf(stderr, "gmrun: generated %" PRId64 " images in %.3f s (%.0f images/s); wrote %s\n",
                 n, generateSeconds, n / generateSeconds, out.c_str());
  else
    std::fprintf(stderr, "gmrun: wrote %" PRId64 " images to %s\n", n, out.c_str());
  return 0;
}

int traverseCommand(const Args &a, const Artifact &art) {
  State state;
  loadForInference(a, art, state);
  const EntrySpec &enc = needEntry(art, "encode", "a posterior q(z | x)");
  const EntrySpec &dec = needEntry(art, "decode", "a likelihood p(x | z)");
  Split test;
  check(loadSplit(art.manifest, dataPath(a), "test", test));
  int64_t index = intOption(a, "index", 0, 0);
  if (index >= test.count)
    die("--index " + std::to_string(index) + " is past the " + std::to_string(test.count) +
        " test images");
  double range = realOption(a, "range", 3.0);
  int64_t cols = intOption(a, "columns", 9, 2);
  std::vector<float> z0 = encode(art, state, enc, test, index, 1);
  int64_t dims = (int64_t)z0.size();
  std::vector<float> z;
  for (int64_t d = 0; d < dims; ++d)
    for (int64_t c = 0; c < cols; ++c) {
      std::vector<float> row = z0;
      row[d] = (float)(-range + 2 * range * c / (cols - 1));
      z.insert(z.end(), row.begin(), row.end());
    }
  std::vector<float> x = decode(art, state, dec, z, dims * cols);
  auto [h, w] = imageSize((int64_t)x.size() / (dims * cols));
  std::string out = a.get("out", "traverse.png");
  check(writeImageGrid(out, x.data(), dims * cols, h, w, cols));
  std::fprintf(stderr, "gmrun: wrote %" PRId64 " latent dimensions x %" PRId64
               " values to %s\n", dims, cols, out.c_str());
  return 0;
}

int encodeCommand(const Args &a, const Artifact &art) {
  State state;
  loadForInference(a, art, state);
  const EntrySpec &enc = needEntry(art, "encode", "a posterior q(z | x)");
  std::string split = a.get("split", "test");
  if (split != "test" && split != "train")
    die("--split expects train or test, got '" + split + "'");
  Split data;
  check(loadSplit(art.manifest, dataPath(a), split, data));
  FloatArray out;
  for (int64_t start = 0; start < data.count; start += 100) {
    int64_t n = std::min<int64_t>(100, data.count - start);
    std::vector<float> z = encode(art, state, enc, data, start, n);
    out.data.insert(out.data.end(), z.begin(), z.end());
  }
  out.shape = {data.count, (int64_t)out.data.size() / std::max<int64_t>(data.count, 1)};
  std::string path = a.get("out", "latents.npy");
  check(writeNpy(path, out));
  std::fprintf(stderr, "gmrun: wrote %" PRId64 " x %" PRId64 " latent means to %s\n",
               out.shape[0], out.shape[1], path.c_str());
  return 0;
}

int infoCommand(const Artifact &art) {
  const Manifest &m = art.manifest;
  int64_t params = 0, slots = 0;
  for (const StateSpec &s : m.state)
    (s.slotOf.empty() ? params : slots) += numel(s.shape);
  std::printf("model %s: %" PRId64 " parameters, %" PRId64 " optimizer values\n",
              m.model.c_str(), params, slots);
  std::string isa;
  for (const std::string &e : m.target.isa)
    isa += " " + e;
  std::printf("target %s:%s\n", m.target.cpu.c_str(),
              isa.empty() ? " (x86-64 baseline)" : isa.c_str());
  for (const DataSpec &d : m.data)
    std::printf("data %s %s %s from %s\n", d.name.c_str(), shapeString(d.shape).c_str(),
                d.kind.c_str(), d.source.empty() ? "-" : d.source.c_str());
  for (const StateSpec &s : m.state)
    std::printf("%s %s %s%s%s\n", s.slotOf.empty() ? "param" : "slot", s.name.c_str(),
                shapeString(s.shape).c_str(), s.slotOf.empty() ? "" : " of ",
                s.slotOf.c_str());
  for (const EntrySpec &e : m.entries) {
    std::printf("%s %s(", e.kind.c_str(), e.name.c_str());
    for (size_t i = 0; i < e.inputs.size(); ++i) {
      const InputSpec &in = e.inputs[i];
      std::printf("%s%s", i ? ", " : "",
                  in.kind == InputSpec::Kind::Key ? "key" : in.name.c_str());
    }
    std::printf(")\n");
  }
  return 0;
}

/// The parameters and optimizer slots of |art| fit in this machine's
/// memory, else an error with the sizes: a model that cannot run says so
/// before any allocation, not with std::bad_alloc.
Status checkStateFits(const Artifact &art) {
  uint64_t total = 0, largest = 0;
  std::string largestName;
  for (const StateSpec &s : art.manifest.state) {
    uint64_t bytes = 4 * (uint64_t)numel(s.shape);
    total += bytes;
    if (bytes > largest) {
      largest = bytes;
      largestName = s.name;
    }
  }
  uint64_t memory = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
  if (total <= memory)
    return Status();
  auto gib = [](uint64_t b) {
    char s[32];
    std::snprintf(s, sizeof s, "%.1f GiB", (double)b / (1ull << 30));
    return std::string(s);
  };
  return Status::error("'" + art.path + "' needs " + gib(total) +
                       " for its parameters and optimizer state (the largest, '" + largestName +
                       "', " + gib(largest) + "); this machine has " + gib(memory) +
                       " of memory");
}

/// What runs here: which CPU, which ISA level gmc's `native` and gmrun's
/// checks see, and which GEMM library and kernel gmrt_sgemm uses, and the
/// kernel oneDNN runs gmrt_conv2d with.
int systemCommand(const Args &a) {
  const HostCPU &cpu = hostCPU();
  std::printf("cpu: %s\n", cpu.model.c_str());
  std::printf("isa: x86-64%s%s;", cpu.level > 1 ? ("-v" + std::to_string(cpu.level)).c_str() : "",
              cpu.limit.empty() ? "" : (" (GMRUN_MAX_CPU_ISA=" + cpu.limit + ")").c_str());
  for (const std::string &e : isaNames(cpu.isa))
    std::printf(" %s", e.c_str());
  std::printf("\n");
  std::printf("gemm: %s; %" PRId64 " thread(s)\n", gmrt::describeGemm().c_str(),
              intOption(a, "threads", 1));
  const char *coretype = std::getenv("OPENBLAS_CORETYPE");
  if (coretype && gmrt::gemmLibrary() == gmrt::GemmLibrary::OpenBLAS)
    std::printf("gemm: OPENBLAS_CORETYPE=%s\n", coretype);
  std::printf("conv: %s\n", gmrt::describeConv().c_str());
  return 0;
}

/// Seeded inputs exactly as gm-eval makes them, for conformance checks.
int runCommand(const Args &a, const Artifact &art) {
  std::string name = a.get("entry", "");
  const EntrySpec *e = nullptr;
  for (const EntrySpec &x : art.manifest.entries)
    if (x.name == name)
      e = &x;
  if (!e)
    die("no entry '" + name + "' in " + art.path + " (gmrun info lists them)");
  uint64_t seed = (uint64_t)intOption(a, "seed", 1, 0);
  int64_t batch = intOption(a, "batch", 2);
  State state;
  state.init(art.manifest, seed);
  Call call(*e);
  for (size_t i = 0; i < e->inputs.size(); ++i) {
    const InputSpec &in = e->inputs[i];
    if (in.kind != InputSpec::Kind::Data && in.kind != InputSpec::Kind::Tensor)
      continue;
    Shape s = in.shape;
    for (int64_t &d : s)
      if (d < 0)
        d = batch;
    call.inputs[i].assign((size_t)numel(s), 0.0f);
    uint32_t stream = 1000 + (uint32_t)i;
    const DataSpec *d = in.kind == InputSpec::Kind::Data ? art.manifest.dataNamed(in.name) : nullptr;
    if (d && d->kind == "label") { // one-hot rows
      int64_t k = s.back();
      for (int64_t r = 0; r < numel(s) / k; ++r)
        call.inputs[i][r * k + gmrt_rng_block_word(seed, stream, r) % k] = 1.0f;
    } else if (d && d->kind == "tokens") { // ids below the vocabulary
      for (size_t j = 0; j < call.inputs[i].size(); ++j)
        call.inputs[i][j] = (float)(gmrt_rng_block_word(seed, stream, j) % (uint64_t)*d->classes);
    } else {
      for (size_t j = 0; j < call.inputs[i].size(); ++j)
        call.inputs[i][j] = (float)gmrt_uniform(seed, stream, j, 0);
    }
  }
  call.setKey(seed);
  int64_t steps = intOption(a, "steps", 1);
  std::vector<float> trajectory; // the first result after every step
  for (int64_t s = 1; s <= steps; ++s) {
    call.setHParam("t", (double)s);
    call.run(state, art, batch);
    if (!call.outputs.empty() && !call.outputs[0].empty())
      trajectory.push_back(call.outputs[0][0]);
  }
  if (steps > 1) {
    std::printf("trajectory:\n");
    for (float v : trajectory)
      std::printf("%.10g\n", (double)v);
  }
  for (size_t i = 0; i < call.outputs.size(); ++i) {
    std::printf("result %zu:\n", i);
    for (float v : call.outputs[i])
      std::printf("%.10g\n", (double)v);
  }
  for (const std::string &p : a.printParams) {
    size_t i = 0;
    while (i < art.manifest.state.size() && art.manifest.state[i].name != p)
      ++i;
    if (i == art.manifest.state.size())
      die("no parameter named '" + p + "'");
    std::printf("param %s:\n", p.c_str());
    for (float v : state.tensors[i])
      std::printf("%.10g\n", (double)v);
  }
  return 0;
}

} // namespace

int run(int argc, char **argv) {
  Args a = parseArgs(argc, argv);
  static const std::set<std::string> commands = {"train", "eval", "sample", "traverse",
                                                 "encode", "info", "run", "system"};
  if (!commands.count(a.command))
    die("unknown command '" + a.command + "' (gmrun help lists them)");
  gmrt::setGemmThreads((int)intOption(a, "threads", 1));
  // A CPU pretended smaller (GMRUN_MAX_CPU_ISA) gets that level's GEMM
  // kernels too, so conformance at each level runs that level's products.
  if (!hostCPU().limit.empty())
    gmrt::limitGemmISA(hostCPU().level);
  // Entries allocate their scratch tensors per call; keep freed blocks in
  // the heap instead of returning them to the kernel (each fresh mmap costs
  // page faults on every step).
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  // Denormal floats (tiny Adam moments and gradients late in training) are
  // ~100x slower on x86: flush them to zero, as GPUs do; training slowed by
  // a third without this (docs/codegen.md).
  if (!a.flags.count("keep-denormals"))
    _mm_setcsr(_mm_getcsr() | 0x8040); // FTZ | DAZ
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  if (a.command == "system")
    return systemCommand(a);
  Artifact art;
  check(Artifact::load(a.artifact, art));
  if (a.command == "info")
    return infoCommand(art);
  check(checkStateFits(art));
  if (a.command == "train")
    return train(a, art);
  if (a.command == "eval")
    return evalCommand(a, art);
  if (a.command == "sample")
    return sampleCommand(a, art);
  if (a.command == "traverse")
    return traverseCommand(a, art);
  if (a.command == "encode")
    return encodeCommand(a, art);
  return runCommand(a, art);
}

int main(int argc, char **argv) {
  // What checkStateFits cannot foresee (the batch's activations, scratch
  // tensors) still ends in a message, not an abort.
  try {
    return run(argc, argv);
  } catch (const std::bad_alloc &) {
    std::fprintf(stderr, "gmrun: error: out of memory (a smaller --batch needs less; "
                         "gmrun info lists the model's tensors)\n");
    return 1;
  }
}
