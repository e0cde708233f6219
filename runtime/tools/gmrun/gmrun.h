//===- gmrun.h - what gmrun's commands share ------------------*- C++ -*-===//
//
// The command line, the data splits, calling an entry on a batch,
// checkpoints and the keys of every random draw: what train, the
// inference commands and the density commands build on. Each command lives
// in its own file (train.cpp, inference.cpp, density.cpp, main.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef GM_RUNTIME_TOOLS_GMRUN_GMRUN_H
#define GM_RUNTIME_TOOLS_GMRUN_GMRUN_H

#include "runtime/include/gmrt/artifact.h"
#include "runtime/include/gmrt/safetensors.h"

#include <atomic>
#include <functional>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#define GMRT_FMNIST_DIR "/usr/share/datasets/fashion-mnist"

namespace gmrun {

using namespace gmrt;

//===----------------------------------------------------------------------===//
// Command line
//===----------------------------------------------------------------------===//

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

/// Parses argv; prints the usage and exits for `help` or no command.
Args parseArgs(int argc, char **argv);
/// Prints "gmrun: error: MSG" and exits with status 1.
[[noreturn]] void die(const std::string &msg);
/// die()s with |s|'s message when it is an error.
void check(const Status &s);
/// The process's peak resident memory so far, in MiB.
double peakMemoryMB();
int64_t intOption(const Args &a, const std::string &k, int64_t dflt, int64_t min = 1);
double realOption(const Args &a, const std::string &k, double dflt);
std::string dataPath(const Args &a);
/// |v| with 6 significant digits, for JSON.
std::string num(double v);
double now();
bool makeDir(const std::string &dir);
/// Set by SIGINT/SIGTERM while training: finish the step, checkpoint, stop.
extern std::atomic<bool> interrupted;

//===----------------------------------------------------------------------===//
// Randomness (rng.h): keys per step, permutations per epoch
//===----------------------------------------------------------------------===//

/// The key of a purpose (training step, evaluation, sampling) and index.
uint64_t keyFor(uint64_t seed, uint64_t purpose, uint64_t index);
enum Purpose : uint64_t { kTrainStep = 1, kEval = 2, kSample = 3, kShuffle = 4 };
std::vector<int64_t> permutation(uint64_t seed, int64_t epoch, int64_t n);

//===----------------------------------------------------------------------===//
// Data
//===----------------------------------------------------------------------===//

/// One split of the data, laid out per data declaration of the model.
struct Split {
  int64_t count = 0;
  std::map<std::string, std::vector<float>> arrays; // name -> (count, per-example)
  std::map<std::string, int64_t> width;             // per-example size
  int64_t height = 28, imageWidth = 28;             // for image grids
  std::vector<uint8_t> labels;                      // Fashion-MNIST's classes, when read from it
};

/// Reads split |split| ("train" or "test") of the data at |path| (a
/// Fashion-MNIST folder or an .npy array) as the model's data declarations
/// ask; |onlyClass| >= 0 keeps the Fashion-MNIST examples of that class, as
/// a source's ?class=N does.
Status loadSplit(const Manifest &m, const std::string &path, const std::string &split,
                 Split &out, int onlyClass = -1);

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

/// Runs entry |e| on every example of |split|, |batch| at a time (the last
/// batch smaller), each batch with its own evaluation key, and hands each
/// call's outputs to |done| with the batch's first row and size.
/// |hparams| are set where the entry has them (a progressive schedule's
/// fade-in weights).
void forEachBatch(const Artifact &art, State &state, const EntrySpec &e, const Split &split,
                  uint64_t seed, int64_t batch, double k,
                  const std::function<void(int64_t first, int64_t n, const Call &)> &done,
                  const std::map<std::string, double> &hparams = {});
/// Mean of an evaluation entry over a whole split, per example.
double evaluate(const Artifact &art, State &state, const EntrySpec &e, const Split &split,
                uint64_t seed, int64_t batch, double k = 0,
                const std::map<std::string, double> &hparams = {});
/// The k of an IWAE entry: --k, else the model's; 0 for any other entry.
double iwaeDraws(const Args &a, const EntrySpec &e);
/// Metrics of the model on the test split, as JSON fields.
std::string testMetrics(const Artifact &art, State &state, const Split &test, uint64_t seed,
                        const std::map<std::string, double> &hparams = {});
const EntrySpec &needEntry(const Artifact &art, const std::string &kind, const std::string &why);
/// Dies unless the decoder takes the latent the encoder gives.
void needSameLatent(const EntrySpec &enc, const EntrySpec &dec);
/// Image height and width of rows of |w| values.
std::pair<int64_t, int64_t> imageSize(int64_t w);

//===----------------------------------------------------------------------===//
// Checkpoints
//===----------------------------------------------------------------------===//

/// Whether |path| ends in |suffix| (".npy"): what a file argument holds.
inline bool hasSuffix(const std::string &path, const std::string &suffix) {
  return path.size() > suffix.size() &&
         path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Fashion-MNIST's class names, by label.
extern const char *const kClassNames[10];

struct Progress {
  int64_t step = 0, epoch = 0, batchInEpoch = 0; // step: batches trained on
  std::vector<double> lossSum;    // this epoch, per training entry (player)
  std::vector<int64_t> lossCount;
  double trainSeconds = 0;
  // What the position means: the permutation of |examples| training
  // examples, cut into batches of |batch| (0 in checkpoints written before
  // gm recorded them).
  int64_t examples = 0, batch = 0;

  explicit Progress(size_t players = 1) : lossSum(players), lossCount(players) {}
  void newEpoch() {
    ++epoch;
    batchInEpoch = 0;
    std::fill(lossSum.begin(), lossSum.end(), 0.0);
    std::fill(lossCount.begin(), lossCount.end(), 0);
    trainSeconds = 0;
  }
};

Status saveCheckpoint(const std::string &path, const Artifact &art, const State &state,
                      uint64_t seed, const Progress &p);
Status loadCheckpoint(const std::string &path, const Artifact &art, State &state,
                      uint64_t *seed, Progress *p);
/// The state of --checkpoint FILE, which the command requires.
void loadForInference(const Args &a, const Artifact &art, State &state);

//===----------------------------------------------------------------------===//
// Commands
//===----------------------------------------------------------------------===//

int train(const Args &a, const Artifact &art);
int evalCommand(const Args &a, const Artifact &art);
int sampleCommand(const Args &a, const Artifact &art);
int traverseCommand(const Args &a, const Artifact &art);
int encodeCommand(const Args &a, const Artifact &art);
int translateCommand(const Args &a, const Artifact &art);
int scoreCommand(const Args &a, const Artifact &art);
int anomalyCommand(const Args &a, const Artifact &art);
int fidCommand(const Args &a);
/// Whether the artifact's parameters and optimizer state fit in memory.
Status checkStateFits(const Artifact &art);

/// Runs a data -> vector entry (encode, classify, features) on rows
/// [first, first + n) of |split| and returns its output, n rows.
std::vector<float> encode(const Artifact &art, State &state, const EntrySpec &enc,
                          const Split &split, int64_t first, int64_t n);
/// Runs a decoder on |n| latents |z| and returns its means.
std::vector<float> decode(const Artifact &art, State &state, const EntrySpec &dec,
                          std::vector<float> z, int64_t n);
/// The entry `sample` draws with: an autoregressive model's sampler, else
/// the decoder of a latent with a prior.
const EntrySpec &samplerOf(const Artifact &art);

/// What a user asks a generator for besides its latent: a code's value
/// (`--code c=3`: InfoGAN's category), a label (`--label 9`, or a class
/// name), a caption (`--caption "a dark ankle boot"`). Each one left unset
/// varies by class: the images come in equal blocks, one per class, so a
/// grid of classRows() rows has a class per row.
struct Conditions {
  std::map<std::string, double> codes;
  std::optional<int> label;
  std::optional<std::string> caption;
  /// Where the captions of each class come from: the test images of that
  /// class (|test| when loaded, else the split at |dataPath|).
  std::string dataPath;
  const Split *test = nullptr;
  /// Hyper-parameters to set (a progressive schedule's fade-in weights).
  std::map<std::string, double> hparams;
  /// A continuous code swept along each row (`--sweep s.1`): dimension
  /// |sweepDim| of code |sweep| goes from -|range| to |range| over
  /// |columns| images, every other input fixed along the row.
  std::string sweep;
  int64_t sweepDim = 0;
  double range = 2;
  int64_t columns = 9;
};
/// The --code, --label, --caption and --sweep options; dies naming a bad one.
Conditions conditionsOf(const Args &a);
/// How many classes the images of generator |dec| vary by under |c| (0
/// when none); |by| (optional) is what sets them: "code NAME" (learned
/// categories, InfoGAN's), "label NAME" or "caption NAME" (a data class).
int64_t classRows(const Artifact &art, const EntrySpec &dec, const Conditions &c,
                  std::string *by = nullptr);
/// Fills every input of |call| (for generator |dec|, |n| images) but its
/// key: the latent from N(0, 1) with |seed|, codes, labels and captions
/// under |c|.
void fillConditions(const Artifact &art, const EntrySpec &dec, int64_t n, uint64_t seed,
                    const Conditions &c, Call &call);
/// |n| samples from |dec| (samplerOf) with |seed|: from uniforms for an
/// autoregressive sampler, else decoded latents under conditions |c|,
/// standard normal or drawn by drawOf's entry; the time the entries took in
/// |seconds|.
std::vector<float> drawSamples(const Artifact &art, State &state, const EntrySpec &dec,
                               int64_t n, uint64_t seed, double *seconds,
                               const Conditions &c = {});
/// The entry that draws decoder |dec|'s latent from its prior (draw.<z>),
/// or null.
const EntrySpec *drawOf(const Artifact &art, const EntrySpec &dec);
/// Maps images a tanh generator drew in [-1, 1] (any value below 0) to the
/// data's [0, 1] as (x + 1) / 2; returns whether it did.
bool toUnitRange(std::vector<float> &images);
/// The class the yardstick classifier (--classifier, --classifier-checkpoint)
/// gives each of |n| images (rows of |images|; [-1, 1] images are mapped to
/// [0, 1] first).
std::vector<int64_t> yardstickClasses(const Args &a, std::vector<float> images, int64_t n);
/// A classifier's test accuracy (its classify entry's argmax against the
/// one-hot labels) as a JSON field, or "" for a model with no classify entry.
std::string classifierAccuracy(const Artifact &art, State &state, const Split &test);

} // namespace gmrun

#endif // GM_RUNTIME_TOOLS_GMRUN_GMRUN_H
