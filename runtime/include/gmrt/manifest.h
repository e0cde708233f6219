//===- manifest.h - the artifact manifest: schema, writer and reader -*- C++ -*-===//
//
// The manifest is the model's description that an artifact carries as the
// string `gm_manifest` (abi.h): what state the entries read and write, what
// data they take, and each entry point with its arguments. gmc writes it
// (gm-to-abi builds a Manifest, code generation adds the target) and
// gmrun reads it; this header is the one definition of its layout for both,
// as IREE's executable_library.h is for its compiler and runtime. It is
// header-only, depends on nothing of the runtime but json.h and abi.h, and
// works with and without C++ exceptions (json.h).
//
// The text is one JSON object, compact, with keys in this order:
//
//   {"format": "gm-manifest", "version": 2, "model": "vae",
//    "target": {"cpu": "rocketlake", "isa": ["sse3", "ssse3", "avx2"]},
//    "state": [{"name": "encoder.linear0.weight", "shape": [400, 784],
//               "init": "uniform", "scale": 0.0357},
//              {"name": "train.all.m.encoder.linear0.weight",
//               "shape": [400, 784], "init": "zeros", "scale": 1.0,
//               "slot_of": "encoder.linear0.weight"}],
//    "data": [{"name": "x", "shape": [-1, 784], "kind": "real",
//              "source": "fashion-mnist:images"},
//             {"name": "c", "shape": [-1, 6], "kind": "tokens", "classes": 32}],
//    "entries": [{"name": "train.train.all", "symbol": "gm_entry_0",
//                 "kind": "train",
//                 "inputs": [{"kind": "data", "name": "x", "shape": [-1, 784]},
//                            {"kind": "hparam", "name": "lr", "default": 0.001},
//                            {"kind": "tensor", "name": "z", "shape": [-1, 20]},
//                            {"kind": "key"}],
//                 "outputs": [{"shape": []}],
//                 "step": "train", "player": "all", "batch": 128}]}
//
// A shape is an array of dimensions; [] is a scalar, and -1 is the batch
// dimension (only first, and only where a batch is allowed: data, entry
// inputs and outputs). Fields documented as optional are left out when they
// have no value; every other field is required, and a key not documented
// here is an error. Numbers are written in the shortest form that reads
// back as the same double.
//
// The reader checks everything a host relies on: types, kinds from the
// lists below, dimensions (positive, at most GM_MAX_RANK of them, a size a
// host can allocate), names that refer to something (slot_of, data inputs),
// unique entry names and symbols, at least one entry, and the target. A
// change to the layout bumps kManifestVersion and GM_ABI_VERSION together.
//
//===----------------------------------------------------------------------===//

#ifndef GMRT_MANIFEST_H
#define GMRT_MANIFEST_H

#include "runtime/include/gmrt/abi.h"
#include "runtime/include/gmrt/json.h"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace gmrt {

/// The manifest's "format" and "version" fields.
constexpr const char *kManifestFormat = "gm-manifest";
constexpr int kManifestVersion = 2;

/// A shape: dimensions, outermost first; empty for a scalar. -1 is the
/// batch dimension, the same for every batched argument of one call.
using Shape = std::vector<int64_t>;

/// "target": the CPU gmc compiled for. A host refuses to call into an
/// artifact needing an extension its CPU lacks (cpu.h).
struct TargetSpec {
  /// "cpu": LLVM's name of the CPU (`gmc -mcpu`, with native resolved):
  /// "rocketlake", "x86-64-v3".
  std::string cpu;
  /// "isa": the extensions of isa.h that CPU enables, in that table's
  /// order; empty for the x86-64 baseline.
  std::vector<std::string> isa;
  /// "cuda" (optional): the NVIDIA chips whose PTX the artifact also holds,
  /// as `gm_cuda_ptx_<chip>` (gmc --target=cuda, docs/cuda.md): "sm_80".
  std::vector<std::string> cuda;
};

/// One element of "state": a parameter or an optimizer slot. Entries take
/// every state tensor, in this order, as their first arguments (abi.h).
struct StateSpec {
  /// "name": as in the .gm file for a parameter ("encoder.linear0.weight",
  /// laid out [out, in] as in PyTorch); "<step>.m.<param>" and the like for
  /// a slot. Unique.
  std::string name;
  /// "shape": no batch dimension.
  Shape shape;
  /// "init": how a fresh run fills it, drawn as the reference evaluator
  /// does (stream = state index; rng.h): zeros, ones, normal (scale *
  /// N(0, 1)), uniform (scale * U(-1, 1)), glorot_uniform, kaiming_uniform.
  std::string init;
  /// "scale": the scale of normal and uniform; 1 for the others.
  double scale = 1;
  /// "slot_of" (optional): for an optimizer slot, the name of its
  /// parameter, which comes earlier in "state"; empty (and left out) for a
  /// parameter.
  std::string slotOf;
  /// "statistic" (optional, true): a batch norm's running mean or
  /// variance, which no optimizer trains; training steps write it and
  /// inference reads it. Left out when false.
  bool statistic = false;
};

/// One element of "data": a data set the entries take batches of.
struct DataSpec {
  /// "name": as in the .gm file's `data` line ("x").
  std::string name;
  /// "shape": of one batch, batch dimension first: [-1, 784].
  Shape shape;
  /// "kind": real (values), label (one-hot rows), tokens (ids as floats).
  std::string kind;
  /// "source" (optional): where the .gm file says the data comes from
  /// ("fashion-mnist:images", "fashion-mnist:labels?class=3"); empty (and
  /// left out) when it names none.
  std::string source;
  /// "classes" (optional; labels and tokens): the number of classes of a
  /// label, the vocabulary size of tokens. Ids are in [0, classes).
  std::optional<int64_t> classes;
};

/// One element of an entry's "inputs": the entry's arguments after the
/// state, in order (abi.h).
struct InputSpec {
  /// "kind": data (a batch of a data set), hparam (a rank-0 f32
  /// hyper-parameter), key (the rank-0 int64 random key), tensor (any other
  /// f32 tensor, such as the latent a decoder takes).
  enum class Kind { Data, HParam, Key, Tensor } kind = Kind::Key;
  /// "name": for data, the DataSpec it is a batch of; for hparam, its name
  /// ("lr", "k"); for tensor, its name in the .gm file. A key has none.
  std::string name;
  /// "shape": for data and tensor; may start with the batch dimension.
  Shape shape;
  /// "default" (optional, hparam only): the .gm file's value; a host
  /// passes it unless told otherwise.
  std::optional<double> defaultValue;
  /// "prior" (optional, tensor only): the prior of a latent a host may draw
  /// itself: "standard_normal", or "uniform_categorical" (a one-hot code of
  /// a class drawn uniformly; a generator's category).
  std::optional<std::string> prior;
};

/// One element of "entries": an entry point of the artifact.
struct EntrySpec {
  /// "name": the gm function it was compiled from: "train.train.all",
  /// "game.train.generator", "eval.elbo", "encode.z", "decode.x". Unique.
  std::string name;
  /// "symbol": the exported `void SYMBOL(void **args)` (abi.h),
  /// "gm_entry_<n>". Unique.
  std::string symbol;
  /// "kind": train (one optimizer step on a batch; writes the state),
  /// eval (an objective's value per batch), score (log p(x) or its bound,
  /// one value per example), encode (x -> posterior mean of z), decode (z ->
  /// likelihood mean of x), sample (uniforms of x's shape -> an exact
  /// sample of an autoregressive p(x), value by value), classify (x -> a
  /// classifier's logits), features (x -> the activations its last layer
  /// reads: the yardstick's features), translate (images of one data
  /// domain -> the other's; named translate.<from>.<to>), prior (z -> log
  /// p(z)), draw (as many draws of z from its prior as its one tensor
  /// input has rows, whose values it does not read; named draw.<z>, for a
  /// decode entry whose latent's prior a host cannot draw).
  std::string kind;
  /// "inputs": the arguments after the state.
  std::vector<InputSpec> inputs;
  /// "outputs": the shape of each buffer the entry writes, as objects
  /// {"shape": [...]}, after the inputs.
  std::vector<Shape> outputs;

  // How a host schedules and reports the entry; all optional.

  /// "step": the .gm training block (gm.step or gm.minimax) a train entry
  /// belongs to; the entries of one game share it.
  std::optional<std::string> step;
  /// "player": whose parameters a train entry updates: "all" for a single
  /// step, the player ("discriminator", "generator") in a game.
  std::optional<std::string> player;
  /// "batch": the training block's batch size (>= 1).
  std::optional<int64_t> batch;
  /// "k": in a game, discriminator steps per generator step (>= 1).
  std::optional<int64_t> k;
  /// "value": what an eval or score entry computes when it is the log
  /// likelihood or a bound on it: "exact" (log p(x) itself), "elbo" (per
  /// example) or "iwae" (with k draws, the hparam "k"). A score entry
  /// returns one value per example; an eval entry, their mean.
  std::optional<std::string> value;
  /// "prior": the prior a decode entry's latent has, when a host may sample
  /// it itself: "standard_normal".
  std::optional<std::string> prior;

  /// Index in |inputs| of the first input of kind |kind| called |name| (any
  /// name when empty), or -1.
  int find(InputSpec::Kind kind, const std::string &name = "") const {
    for (size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].kind == kind && (name.empty() || inputs[i].name == name))
        return (int)i;
    return -1;
  }
};

/// "schedule": a progressive GAN's resolution schedule (gm.progressive):
/// training runs |resolutions| in order, |epochsPerStage| epochs each; each
/// later resolution R fades in over the first |fade| of its stage, its
/// weight the entries' hparam "alpha.R".
struct ScheduleSpec {
  std::vector<int64_t> resolutions;
  int64_t epochsPerStage = 1;
  double fade = 0;
};

/// The whole manifest ("format" and "version" are implied).
struct Manifest {
  /// "model": the .gm model's name; checkpoints record it.
  std::string model;
  /// "target". Empty (and left out) only in the manifest gm-to-abi
  /// writes, before code generation chooses the CPU.
  TargetSpec target;
  /// "schedule" (optional): see ScheduleSpec.
  using Schedule = ScheduleSpec;
  std::optional<Schedule> schedule;
  /// "state", "data", "entries": see their types. "entries" is not empty.
  std::vector<StateSpec> state;
  std::vector<DataSpec> data;
  std::vector<EntrySpec> entries;

  /// The first entry of kind |kind| called |name| (any name when empty), or
  /// null.
  const EntrySpec *entry(const std::string &kind, const std::string &name = "") const {
    for (const EntrySpec &e : entries)
      if (e.kind == kind && (name.empty() || e.name == name))
        return &e;
    return nullptr;
  }
  /// The data set called |name|, or null.
  const DataSpec *dataNamed(const std::string &name) const {
    for (const DataSpec &d : data)
      if (d.name == name)
        return &d;
    return nullptr;
  }
};

/// The values "kind", "init" and the input kinds may take.
inline const std::initializer_list<const char *> kEntryKinds = {
    "train", "eval", "score", "encode", "decode", "sample", "classify", "features",
    "translate", "prior", "draw"};
inline const std::initializer_list<const char *> kInitKinds = {
    "zeros", "ones", "normal", "uniform", "glorot_uniform", "kaiming_uniform"};
inline const std::initializer_list<const char *> kDataKinds = {"real", "label", "tokens"};

/// The "kind" string of an input kind.
inline const char *inputKindName(InputSpec::Kind kind) {
  switch (kind) {
  case InputSpec::Kind::Data:
    return "data";
  case InputSpec::Kind::HParam:
    return "hparam";
  case InputSpec::Kind::Key:
    return "key";
  case InputSpec::Kind::Tensor:
    return "tensor";
  }
  return "?";
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

/// |m| as manifest text: compact JSON in the layout above, the same bytes
/// for the same manifest (checkpoints fingerprint it). Never throws. The
/// target is left out when |m.target.cpu| is empty.
inline std::string toJson(const Manifest &m) {
  auto shape = [](const Shape &s) {
    Json a = Json::array();
    for (int64_t d : s)
      a.push_back(d);
    return a;
  };
  Json root = Json::object();
  root["format"] = kManifestFormat;
  root["version"] = kManifestVersion;
  root["model"] = m.model;
  if (!m.target.cpu.empty()) {
    Json isa = Json::array();
    for (const std::string &e : m.target.isa)
      isa.push_back(e);
    root["target"] = Json{{"cpu", m.target.cpu}, {"isa", std::move(isa)}};
    if (!m.target.cuda.empty()) {
      Json chips = Json::array();
      for (const std::string &c : m.target.cuda)
        chips.push_back(c);
      root["target"]["cuda"] = std::move(chips);
    }
  }
  if (m.schedule) {
    Json res = Json::array();
    for (int64_t r : m.schedule->resolutions)
      res.push_back(r);
    root["schedule"] = Json{{"resolutions", std::move(res)},
                            {"epochs_per_stage", m.schedule->epochsPerStage},
                            {"fade", m.schedule->fade}};
  }
  Json state = Json::array();
  for (const StateSpec &s : m.state) {
    Json j = Json{{"name", s.name}, {"shape", shape(s.shape)}, {"init", s.init},
                  {"scale", s.scale}};
    if (!s.slotOf.empty())
      j["slot_of"] = s.slotOf;
    if (s.statistic)
      j["statistic"] = true;
    state.push_back(std::move(j));
  }
  root["state"] = std::move(state);
  Json data = Json::array();
  for (const DataSpec &d : m.data) {
    Json j = Json{{"name", d.name}, {"shape", shape(d.shape)}, {"kind", d.kind}};
    if (!d.source.empty())
      j["source"] = d.source;
    if (d.classes)
      j["classes"] = *d.classes;
    data.push_back(std::move(j));
  }
  root["data"] = std::move(data);
  Json entries = Json::array();
  for (const EntrySpec &e : m.entries) {
    Json j = Json{{"name", e.name}, {"symbol", e.symbol}, {"kind", e.kind}};
    Json inputs = Json::array();
    for (const InputSpec &in : e.inputs) {
      Json i = Json{{"kind", inputKindName(in.kind)}};
      if (in.kind != InputSpec::Kind::Key)
        i["name"] = in.name;
      if (in.kind == InputSpec::Kind::Data || in.kind == InputSpec::Kind::Tensor)
        i["shape"] = shape(in.shape);
      if (in.kind == InputSpec::Kind::HParam && in.defaultValue)
        i["default"] = *in.defaultValue;
      if (in.kind == InputSpec::Kind::Tensor && in.prior)
        i["prior"] = *in.prior;
      inputs.push_back(std::move(i));
    }
    j["inputs"] = std::move(inputs);
    Json outputs = Json::array();
    for (const Shape &s : e.outputs)
      outputs.push_back(Json{{"shape", shape(s)}});
    j["outputs"] = std::move(outputs);
    if (e.step)
      j["step"] = *e.step;
    if (e.player)
      j["player"] = *e.player;
    if (e.batch)
      j["batch"] = *e.batch;
    if (e.k)
      j["k"] = *e.k;
    if (e.value)
      j["value"] = *e.value;
    if (e.prior)
      j["prior"] = *e.prior;
    entries.push_back(std::move(j));
  }
  root["entries"] = std::move(entries);
  return dumpJson(root);
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace manifest_detail {

/// Reads one manifest, keeping the first problem found as "where: what"
/// ("entries[0].batch: expected an integer >= 1, got \"12\""). Every
/// accessor checks a value's type before reading it, so nothing throws.
class Reader {
public:
  std::string error;

  bool fail(const std::string &where, const std::string &what) {
    if (error.empty())
      error = where.empty() ? what : where + ": " + what;
    return false;
  }

  /// Checks that |j| is an object whose keys are all in |known|.
  bool object(const Json &j, const std::string &where,
              std::initializer_list<const char *> known) {
    if (!j.is_object())
      return fail(where, "expected an object, got " + jsonExcerpt(j));
    for (auto it = j.begin(); it != j.end(); ++it)
      if (!oneOf(it.key(), known))
        return fail(where, "unknown key \"" + it.key() + "\"");
    return true;
  }

  /// |obj|[|key|], or null when absent; fails when absent and |required|.
  const Json *member(const Json &obj, const std::string &where, const char *key,
                     bool required = true) {
    auto it = obj.find(key);
    if (it != obj.end())
      return &*it;
    if (required)
      fail(where, std::string("missing \"") + key + "\"");
    return nullptr;
  }

  /// A non-empty string, one of |allowed| when that is not empty.
  bool string(const Json &obj, const std::string &where, const char *key, std::string &out,
              bool required = true, std::initializer_list<const char *> allowed = {}) {
    const Json *v = member(obj, where, key, required);
    if (!v)
      return !required;
    if (!v->is_string() || v->get_ref<const std::string &>().empty())
      return fail(at(where, key), "expected a non-empty string, got " + jsonExcerpt(*v));
    out = v->get<std::string>();
    if (allowed.size() && !oneOf(out, allowed))
      return fail(at(where, key), "unknown value \"" + out + "\" (expected " + list(allowed) +
                                      ")");
    return true;
  }
  bool string(const Json &obj, const std::string &where, const char *key,
              std::optional<std::string> &out) {
    std::string s;
    if (!string(obj, where, key, s, /*required=*/false))
      return false;
    if (!s.empty())
      out = s;
    return true;
  }

  /// true or false (optional: |out| is left as it is when absent).
  bool flag(const Json &obj, const std::string &where, const char *key, bool &out) {
    const Json *v = member(obj, where, key, /*required=*/false);
    if (!v)
      return true;
    if (!v->is_boolean())
      return fail(at(where, key), "expected true or false, got " + jsonExcerpt(*v));
    out = v->get<bool>();
    return true;
  }

  /// A finite number.
  bool number(const Json &obj, const std::string &where, const char *key,
              std::optional<double> &out, bool required) {
    const Json *v = member(obj, where, key, required);
    if (!v)
      return !required;
    if (!v->is_number() || !std::isfinite(v->get<double>()))
      return fail(at(where, key), "expected a finite number, got " + jsonExcerpt(*v));
    out = v->get<double>();
    return true;
  }

  /// An integer >= 1 (optional).
  bool count(const Json &obj, const std::string &where, const char *key,
             std::optional<int64_t> &out) {
    const Json *v = member(obj, where, key, /*required=*/false);
    if (!v)
      return true;
    if (!v->is_number_integer() || v->get<double>() < 1 || v->get<double>() > 1e15)
      return fail(at(where, key), "expected an integer >= 1, got " + jsonExcerpt(*v));
    out = v->get<int64_t>();
    return true;
  }

  /// A shape; -1 is allowed first when |batch|. Its size, batch excluded,
  /// is at most 2^40 elements, so that products of dimensions never
  /// overflow and a host can decide whether to allocate it.
  bool shape(const Json &obj, const std::string &where, const char *key, Shape &out,
             bool batch) {
    const Json *v = member(obj, where, key);
    if (!v)
      return false;
    std::string here = at(where, key);
    if (!v->is_array())
      return fail(here, "expected an array of dimensions, got " + jsonExcerpt(*v));
    if (v->size() > GM_MAX_RANK)
      return fail(here, "has " + std::to_string(v->size()) + " dimensions; at most " +
                            std::to_string(GM_MAX_RANK) + " are supported");
    out.clear();
    double size = 1;
    for (const Json &d : *v) {
      bool isBatch = batch && out.empty() && d.is_number_integer() && d.get<double>() == -1;
      if (!isBatch && (!d.is_number_integer() || d.get<double>() < 1))
        return fail(here, "expected positive integer dimensions" +
                              std::string(batch ? " (or -1 first, for the batch)" : "") +
                              ", got " + jsonExcerpt(*v));
      out.push_back(isBatch ? -1 : d.get<int64_t>());
      size *= isBatch ? 1.0 : d.get<double>();
    }
    if (size > (double)(1ll << 40))
      return fail(here, "is implausibly large: " + jsonExcerpt(*v));
    return true;
  }

  /// An array, its elements read by |each(element, "where[i]")|.
  template <class F>
  bool array(const Json &obj, const std::string &where, const char *key, F each) {
    const Json *v = member(obj, where, key);
    if (!v)
      return false;
    if (!v->is_array())
      return fail(at(where, key), "expected an array, got " + jsonExcerpt(*v));
    for (size_t i = 0; i < v->size(); ++i)
      if (!each((*v)[i], at(where, key) + "[" + std::to_string(i) + "]"))
        return false;
    return true;
  }

  static std::string at(const std::string &where, const char *key) {
    return where.empty() ? std::string(key) : where + "." + key;
  }
  static bool oneOf(const std::string &s, std::initializer_list<const char *> allowed) {
    for (const char *a : allowed)
      if (s == a)
        return true;
    return false;
  }
  static std::string list(std::initializer_list<const char *> allowed) {
    std::string out;
    for (const char *a : allowed)
      out += std::string(out.empty() ? "" : ", ") + a;
    return out;
  }
};

} // namespace manifest_detail

/// Reads manifest text |text| into |out|, checking everything the header
/// comment lists. Never throws. Returns false with |error| set to the first
/// problem, saying where: "syntax error at byte 7: ...", "format is
/// \"x\", not \"gm-manifest\"", "entries[0].inputs[1].shape: expected an
/// array of dimensions, got \"400\"". |out| is then partly filled.
/// |needTarget| false accepts a manifest without "target", as gm-to-abi
/// writes it. Thread-safe: it shares no state.
inline bool fromJson(const std::string &text, Manifest &out, std::string &error,
                     bool needTarget = true) {
  out = Manifest();
  Json root;
  if (!parseJson(text, root, error))
    return false;
  manifest_detail::Reader r;
  auto done = [&](bool ok) {
    error = r.error;
    return ok && r.error.empty();
  };
  if (!r.object(root, "",
                {"format", "version", "model", "target", "schedule", "state", "data", "entries"}))
    return done(false);
  const Json *format = r.member(root, "", "format");
  if (!format)
    return done(false);
  if (*format != kManifestFormat)
    return done(r.fail("", "format is " + jsonExcerpt(*format) + ", not \"" +
                               kManifestFormat + "\""));
  const Json *version = r.member(root, "", "version");
  if (!version)
    return done(false);
  if (*version != kManifestVersion)
    return done(r.fail("", "version is " + jsonExcerpt(*version) + "; this reader reads " +
                               std::to_string(kManifestVersion)));
  if (!r.string(root, "", "model", out.model))
    return done(false);

  if (const Json *t = r.member(root, "", "target", needTarget)) {
    if (!r.object(*t, "target", {"cpu", "isa", "cuda"}) ||
        !r.string(*t, "target", "cpu", out.target.cpu) ||
        !r.array(*t, "target", "isa", [&](const Json &e, const std::string &where) {
          if (!e.is_string() || e.get_ref<const std::string &>().empty())
            return r.fail(where, "expected an extension name, got " + jsonExcerpt(e));
          out.target.isa.push_back(e.get<std::string>());
          return true;
        }))
      return done(false);
    if (t->contains("cuda") &&
        !r.array(*t, "target", "cuda", [&](const Json &e, const std::string &where) {
          if (!e.is_string() || e.get_ref<const std::string &>().rfind("sm_", 0) != 0)
            return r.fail(where, "expected a chip like \"sm_90\", got " + jsonExcerpt(e));
          out.target.cuda.push_back(e.get<std::string>());
          return true;
        }))
      return done(false);
  } else if (needTarget) {
    return done(false);
  }

  if (const Json *t = r.member(root, "", "schedule", /*required=*/false)) {
    Manifest::Schedule sc;
    std::optional<int64_t> epochs;
    std::optional<double> fade;
    if (!r.object(*t, "schedule", {"resolutions", "epochs_per_stage", "fade"}) ||
        !r.array(*t, "schedule", "resolutions", [&](const Json &e, const std::string &where) {
          if (!e.is_number_integer() || e.get<double>() < 1 || e.get<double>() > 1e6)
            return r.fail(where, "expected a resolution >= 1, got " + jsonExcerpt(e));
          sc.resolutions.push_back(e.get<int64_t>());
          return true;
        }) ||
        !r.count(*t, "schedule", "epochs_per_stage", epochs) ||
        !r.number(*t, "schedule", "fade", fade, true))
      return done(false);
    if (sc.resolutions.empty())
      return done(r.fail("schedule.resolutions", "is empty"));
    if (!(*fade >= 0 && *fade <= 1))
      return done(r.fail("schedule.fade", "expected a fraction in [0, 1], got " + jsonExcerpt(*fade)));
    sc.epochsPerStage = epochs.value_or(1);
    sc.fade = *fade;
    out.schedule = std::move(sc);
  }

  std::set<std::string> params, stateNames;
  bool ok = r.array(root, "", "state", [&](const Json &j, const std::string &where) {
    StateSpec s;
    std::optional<double> scale;
    if (!r.object(j, where, {"name", "shape", "init", "scale", "slot_of", "statistic"}) ||
        !r.string(j, where, "name", s.name) || !r.shape(j, where, "shape", s.shape, false) ||
        !r.string(j, where, "init", s.init, true, kInitKinds) ||
        !r.number(j, where, "scale", scale, true) ||
        !r.string(j, where, "slot_of", s.slotOf, /*required=*/false) ||
        !r.flag(j, where, "statistic", s.statistic))
      return false;
    if (s.statistic && !s.slotOf.empty())
      return r.fail(where, "a statistic is not an optimizer slot");
    s.scale = *scale;
    if (!stateNames.insert(s.name).second)
      return r.fail(where, "a second state tensor called \"" + s.name + "\"");
    if (!s.slotOf.empty() && !params.count(s.slotOf))
      return r.fail(where, "slot_of \"" + s.slotOf + "\" is not an earlier parameter");
    if (s.slotOf.empty())
      params.insert(s.name);
    out.state.push_back(std::move(s));
    return true;
  });
  if (!ok)
    return done(false);

  ok = r.array(root, "", "data", [&](const Json &j, const std::string &where) {
    DataSpec d;
    if (!r.object(j, where, {"name", "shape", "kind", "source", "classes"}) ||
        !r.string(j, where, "name", d.name) || !r.shape(j, where, "shape", d.shape, true) ||
        !r.string(j, where, "kind", d.kind, true, kDataKinds) ||
        !r.string(j, where, "source", d.source, /*required=*/false) ||
        !r.count(j, where, "classes", d.classes))
      return false;
    if (d.kind == "tokens" && !d.classes)
      return r.fail(where, "tokens data needs \"classes\", its vocabulary size");
    if (d.shape.empty() || d.shape[0] != -1)
      return r.fail(where + ".shape", "a data set's shape starts with the batch dimension, -1");
    if (out.dataNamed(d.name))
      return r.fail(where, "a second data set called \"" + d.name + "\"");
    out.data.push_back(std::move(d));
    return true;
  });
  if (!ok)
    return done(false);

  std::set<std::string> names, symbols;
  ok = r.array(root, "", "entries", [&](const Json &j, const std::string &where) {
    EntrySpec e;
    if (!r.object(j, where,
                  {"name", "symbol", "kind", "inputs", "outputs", "step", "player", "batch",
                   "k", "value", "prior"}) ||
        !r.string(j, where, "name", e.name) || !r.string(j, where, "symbol", e.symbol) ||
        !r.string(j, where, "kind", e.kind, true, kEntryKinds))
      return false;
    for (char c : e.symbol)
      if (!std::isalnum((unsigned char)c) && c != '_')
        return r.fail(where + ".symbol", "\"" + e.symbol + "\" is not a C identifier");
    if (!names.insert(e.name).second)
      return r.fail(where, "a second entry called \"" + e.name + "\"");
    if (!symbols.insert(e.symbol).second)
      return r.fail(where, "a second entry with symbol \"" + e.symbol + "\"");
    bool ok = r.array(j, where, "inputs", [&](const Json &i, const std::string &at) {
      InputSpec in;
      std::string kind;
      if (!r.object(i, at, {"kind", "name", "shape", "default", "prior"}) ||
          !r.string(i, at, "kind", kind, true, {"data", "hparam", "key", "tensor"}))
        return false;
      in.kind = kind == "data"     ? InputSpec::Kind::Data
                : kind == "hparam" ? InputSpec::Kind::HParam
                : kind == "key"    ? InputSpec::Kind::Key
                                   : InputSpec::Kind::Tensor;
      bool named = in.kind != InputSpec::Kind::Key;
      bool shaped = in.kind == InputSpec::Kind::Data || in.kind == InputSpec::Kind::Tensor;
      bool hparam = in.kind == InputSpec::Kind::HParam;
      // A key of kind K that K does not take is as wrong as a misspelt key.
      bool tensor = in.kind == InputSpec::Kind::Tensor;
      for (const char *key : {"name", "shape", "default", "prior"})
        if (i.contains(key) && !(std::string(key) == "name"      ? named
                                 : std::string(key) == "shape"   ? shaped
                                 : std::string(key) == "default" ? hparam
                                                                 : tensor))
          return r.fail(at, "an input of kind " + kind + " has no \"" + key + "\"");
      std::string prior;
      if ((named && !r.string(i, at, "name", in.name)) ||
          (shaped && !r.shape(i, at, "shape", in.shape, true)) ||
          (hparam && !r.number(i, at, "default", in.defaultValue, false)) ||
          (tensor && !r.string(i, at, "prior", prior, false,
                               {"standard_normal", "uniform_categorical"})))
        return false;
      if (!prior.empty())
        in.prior = prior;
      if (in.kind == InputSpec::Kind::Data && !out.dataNamed(in.name))
        return r.fail(at, "data \"" + in.name + "\" is not in \"data\"");
      e.inputs.push_back(std::move(in));
      return true;
    });
    ok = ok && r.array(j, where, "outputs", [&](const Json &o, const std::string &at) {
      Shape s;
      if (!r.object(o, at, {"shape"}) || !r.shape(o, at, "shape", s, true))
        return false;
      e.outputs.push_back(std::move(s));
      return true;
    });
    if (!ok || !r.string(j, where, "step", e.step) || !r.string(j, where, "player", e.player) ||
        !r.count(j, where, "batch", e.batch) || !r.count(j, where, "k", e.k) ||
        !r.string(j, where, "value", e.value) || !r.string(j, where, "prior", e.prior))
      return false;
    out.entries.push_back(std::move(e));
    return true;
  });
  if (!ok)
    return done(false);
  if (out.entries.empty())
    return done(r.fail("entries", "no entry point"));
  return done(true);
}

} // namespace gmrt

#endif // GMRT_MANIFEST_H
