//===- train.cpp - gmrun train --------------------------------------------===//
//
// Training: every block of the model once per batch, checkpoints written
// atomically every --checkpoint-every steps and at each epoch's end,
// --resume continuing the exact sequence, one JSON line per epoch.
//
//===----------------------------------------------------------------------===//

#include "runtime/tools/gmrun/gmrun.h"

#include "runtime/include/gmrt/artifact.h"
#include "runtime/include/gmrt/cpu.h"
#include "runtime/include/gmrt/data.h"
#include "runtime/include/gmrt/conv.h"
#include "runtime/include/gmrt/gemm.h"
#include "runtime/include/gmrt/numerics.h"
#include "runtime/include/gmrt/plot.h"
#include "runtime/include/gmrt/png.h"
#include "runtime/include/gmrt/io.h"
#include "runtime/include/gmrt/rng.h"
#include "runtime/include/gmrt/safetensors.h"
#include "runtime/include/gmrt/scratch.h"

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
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <malloc.h>
#include <xmmintrin.h>
#include <new>
#include <unistd.h>
#include <vector>



namespace gmrun {

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

/// A sample grid of a model with a latent decoder (a GAN's generator, a
/// VAE's decoder of a standard normal prior, an adversarial autoencoder's
/// of a prior it draws with @draw.<z>) after each epoch, from the same
/// 64 latents every epoch (8 a class for a conditional generator, a row
/// each; a progressive GAN at the fade-in weights |hparams| it trained
/// with), so the grids show training progress: DIR/samples-epoch-N.png.
/// Autoregressive samplers, which may take minutes, are left to `gmrun
/// sample`.
void writeEpochSamples(const Artifact &art, State &state, const std::string &dir, int64_t epoch,
                       const Split &test, const std::map<std::string, double> &hparams) {
  const EntrySpec *dec = art.manifest.entry("decode");
  if (!dec || (dec->prior != "standard_normal" && !drawOf(art, *dec)))
    return;
  int64_t xw = numel(Shape(dec->outputs[0].begin() + 1, dec->outputs[0].end()));
  int64_t side = (int64_t)std::lround(std::sqrt((double)xw));
  if (side * side != xw)
    return; // not square images
  // A conditional generator: a row of 8 per class.
  Conditions c;
  c.test = &test;
  for (const auto &[name, v] : hparams)
    if (dec->find(InputSpec::Kind::HParam, name) >= 0)
      c.hparams[name] = v;
  int64_t classes = classRows(art, *dec, c);
  int64_t n = classes ? 8 * classes : 64;
  double seconds = 0;
  std::vector<float> images = drawSamples(art, state, *dec, n, 1, &seconds, c);
  toUnitRange(images); // a tanh generator's [-1, 1]
  std::string path = dir + "/samples-epoch-" + std::to_string(epoch) + ".png";
  if (Status s = writeImageGrid(path, images.data(), n, side, side, 8); !s)
    std::fprintf(stderr, "gmrun: warning: %s\n", s.message().c_str());
}

/// The fade-in weights of a progressive schedule after |epochs| epochs
/// (fractional): stage s = epochs / epochs_per_stage (the last one kept
/// after its end); each resolution R after the first weighs 0 before its
/// stage, rises linearly to 1 over the first |fade| of it, and stays 1:
/// the entries' hparams "alpha.R".
std::map<std::string, double> fadeWeights(const Manifest::Schedule &sc, double epochs) {
  int64_t stages = (int64_t)sc.resolutions.size();
  int64_t stage = std::min<int64_t>((int64_t)(epochs / (double)sc.epochsPerStage), stages - 1);
  double into = epochs / (double)sc.epochsPerStage - (double)stage; // of the stage, >= 0
  std::map<std::string, double> alphas;
  for (int64_t t = 1; t < stages; ++t)
    alphas["alpha." + std::to_string(sc.resolutions[t])] =
        t < stage    ? 1.0
        : t > stage  ? 0.0
        : sc.fade > 0 ? std::min(1.0, into / sc.fade)
                      : 1.0;
  return alphas;
}

/// The loss curves of a run: every kEvery steps, each slot's mean loss
/// over them, appended to DIR/losses.csv and drawn as DIR/losses.png (one
/// panel per player) at each epoch's end and when training stops. A
/// resumed run keeps the rows up to its checkpoint's step (the later ones
/// are trained again).
class LossCurves {
public:
  static constexpr int64_t kEvery = 10;

  LossCurves(const std::string &dir, const std::vector<Slot> &plan, bool resume, int64_t step)
      : csv(dir + "/losses.csv"), png(dir + "/losses.png"), sum(plan.size()),
        count(plan.size()) {
    for (const Slot &s : plan)
      labels.push_back(s.label.empty() ? "loss" : s.label + " loss");
    std::string header = "step";
    for (const Slot &s : plan)
      header += "," + (s.label.empty() ? std::string("loss") : s.label);
    std::string kept = header + "\n";
    if (resume) {
      std::ifstream in(csv);
      std::string line;
      for (bool first = true; std::getline(in, line); first = false) {
        if (first) {
          if (line != header)
            break; // another model's curves: start again
          continue;
        }
        std::vector<double> row;
        std::stringstream fields(line);
        for (std::string f; std::getline(fields, f, ',');)
          row.push_back(std::strtod(f.c_str(), nullptr));
        if (row.size() != plan.size() + 1 || row[0] > (double)step)
          continue;
        rows.push_back(row);
        kept += line + "\n";
      }
    }
    if (Status st = writeFileAtomic(csv, kept); !st)
      std::fprintf(stderr, "gmrun: warning: %s\n", st.message().c_str());
    out = std::fopen(csv.c_str(), "a");
  }
  ~LossCurves() {
    if (out)
      std::fclose(out);
  }
  void add(size_t slot, float loss) {
    sum[slot] += loss;
    ++count[slot];
  }
  /// After step |step| (counted from 1).
  void stepDone(int64_t step) {
    if (step % kEvery)
      return;
    std::vector<double> row{(double)step};
    for (size_t i = 0; i < sum.size(); ++i) {
      row.push_back(count[i] ? sum[i] / (double)count[i] : NAN);
      sum[i] = 0, count[i] = 0;
    }
    rows.push_back(row);
    if (out) {
      std::fprintf(out, "%" PRId64, step);
      for (size_t i = 1; i < row.size(); ++i)
        std::fprintf(out, ",%.6g", row[i]);
      std::fprintf(out, "\n");
      std::fflush(out);
    }
  }
  void draw() const {
    if (rows.size() < 2)
      return;
    std::vector<gmrt::Series> series(labels.size());
    for (size_t i = 0; i < labels.size(); ++i) {
      series[i].label = labels[i];
      for (const std::vector<double> &r : rows)
        series[i].x.push_back(r[0]), series[i].y.push_back(r[i + 1]);
    }
    if (Status st = gmrt::writeLinePlots(png, "training step", series); !st)
      std::fprintf(stderr, "gmrun: warning: %s\n", st.message().c_str());
  }

private:
  std::string csv, png;
  std::vector<std::string> labels;
  std::vector<std::vector<double>> rows;
  std::vector<double> sum;
  std::vector<int64_t> count;
  FILE *out = nullptr;
};

int train(const Args &a, const Artifact &art) {
  const Manifest &m = art.manifest;
  std::vector<Slot> plan = trainingPlan(art);
  // Steps until every slot has run once (a game's generator runs every k-th).
  int64_t warmup = 1;
  for (const Slot &slot : plan)
    warmup = std::max(warmup, slot.every);
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
    die("'" + art.path + "' was compiled without numeric checks (gmc -check-numerics=false); "
        "compile it without that option to use --check-numerics");
  gmrt::enableNumericChecks(checkNumerics);

  Split trainSet, testSet;
  // --class N: one Fashion-MNIST class only (gmrun anomaly's one-class
  // training), in both splits.
  int onlyClass = (int)intOption(a, "class", -1, 0);
  if (onlyClass > 9)
    die("--class expects a Fashion-MNIST class 0..9, got " + std::to_string(onlyClass));
  check(loadSplit(m, dataPath(a), "train", trainSet, onlyClass));
  check(loadSplit(m, dataPath(a), "test", testSet, onlyClass));
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
  // A progressive schedule trains every stage unless told otherwise.
  const std::optional<Manifest::Schedule> &schedule = m.schedule;
  int64_t epochs = intOption(
      a, "epochs",
      schedule ? (int64_t)schedule->resolutions.size() * schedule->epochsPerStage : 1);
  // A checkpoint's position (epoch, batch in epoch) means something only
  // for the data and batch size it was trained with; resuming with others
  // would silently train on a different sequence.
  if (resume && ((p.examples && p.examples != trainSet.count) || (p.batch && p.batch != batch)))
    die("'" + ckptPath + "' was trained on " + std::to_string(p.examples) +
        " examples at batch " + std::to_string(p.batch) + "; this run has " +
        std::to_string(trainSet.count) + " at batch " + std::to_string(batch) +
        ": resume with the same --data, --class and --batch, or train into another --out");
  p.examples = trainSet.count;
  p.batch = batch;
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
  LossCurves curves(dir, plan, resume, p.step);

  // Slot |i| at training step |step| (both counted from 0): its own Adam
  // step count (how many times it has run) and key.
  uint64_t keysPerStep = std::max<size_t>(2, plan.size());
  // Only for the messages below: not built on every step.
  auto kept = [&] {
    return lastCheckpoint ? "the last good checkpoint is " + ckptPath + " (step " +
                                std::to_string(*lastCheckpoint) + ")"
                          : std::string("no checkpoint was written before it");
  };
  // Defined below: re-runs training up to a failing slot with checks on.
  std::function<void(int64_t, size_t)> replayWithChecks;
  // Training went non-finite (|what|) by step |failStep| (from 1), slot
  // |failSlot|. Training is deterministic, so the same steps from the last
  // good state (the checkpoint on disk, or the seed's initial state) reach
  // the same failure; with checks on, the first op to compute a NaN or Inf
  // stops the replay with its location (runSlot).
  auto diverged = [&](const std::string &what, int64_t failStep, size_t failSlot) {
    std::string hint;
    if (!checkNumerics && !art.checkSites.empty()) {
      std::string from = lastCheckpoint ? "the last good checkpoint (step " +
                                              std::to_string(*lastCheckpoint) + ")"
                                        : std::string("the start");
      std::fprintf(stderr,
                   "gmrun: %s; re-running from %s with numeric checks on to find the op that "
                   "first computed a NaN or Inf\n",
                   what.c_str(), from.c_str());
      replayWithChecks(failStep, failSlot);
      hint = " (no checked op computed a NaN or Inf before it)";
    } else if (!checkNumerics) {
      hint = ". To find the op that first computed a NaN or Inf, compile without "
             "gmc -check-numerics=false";
    }
    die(what + hint + "; lower the learning rate (--lr); " + kept());
  };
  auto runSlot = [&](size_t i, int64_t step, const int64_t *rows) {
    Call &c = calls[i];
    c.setBatch(trainSet, rows, batch);
    c.setHParam("t", (double)((step + 1) / plan[i].every));
    if (schedule)
      for (const auto &[name, alpha] : fadeWeights(*schedule, (double)step / (double)perEpoch))
        c.setHParam(name, alpha);
    c.setKey(keyFor(seed, kTrainStep, (uint64_t)step * keysPerStep + i));
    c.run(state, art, batch);
    float loss = c.outputs[0][0];
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
      diverged("the" + (plan[i].label.empty() ? std::string() : " " + plan[i].label + "'s") +
                   " training loss became " + std::to_string(loss) + " at step " +
                   std::to_string(step + 1),
               step + 1, i);
    p.lossSum[i] += loss;
    curves.add(i, loss);
    ++p.lossCount[i];
  };

  // Steps 1..|failStep| from the last good state, the last one only up to
  // slot |failSlot|, with checks on and nothing written; a check that
  // fires ends gmrun in runSlot.
  replayWithChecks = [&](int64_t failStep, size_t failSlot) {
    checkNumerics = true; // a second non-finite loss is reported, not replayed
    gmrt::enableNumericChecks(true);
    State from;
    Progress q(plan.size());
    if (lastCheckpoint) {
      uint64_t saved = seed;
      check(loadCheckpoint(ckptPath, art, from, &saved, &q));
    } else {
      from.init(m, seed);
    }
    state = std::move(from);
    while (q.step < failStep) {
      std::vector<int64_t> order = permutation(seed, q.epoch, trainSet.count);
      for (; q.batchInEpoch < perEpoch && q.step < failStep; ++q.batchInEpoch) {
        for (size_t i = 0; i < plan.size(); ++i)
          if ((q.step + 1) % plan[i].every == 0 && (q.step + 1 < failStep || i <= failSlot))
            runSlot(i, q.step, &order[q.batchInEpoch * batch]);
        ++q.step;
      }
      if (q.batchInEpoch == perEpoch)
        q.newEpoch();
    }
  };

  // A checkpoint is written only from finite state, so the last one on
  // disk is always good: a parameter can turn Inf while the loss stays
  // finite for a few more steps.
  auto writeCheckpoint = [&](const Progress &at) {
    for (size_t t = 0; t < state.tensors.size(); ++t)
      for (size_t e = 0; e < state.tensors[t].size(); ++e)
        if (!std::isfinite(state.tensors[t][e]))
          diverged("'" + m.state[t].name + "' became " + std::to_string(state.tensors[t][e]) +
                       " (element " + std::to_string(e) + ") by step " +
                       std::to_string(at.step),
                   at.step, plan.size() - 1);
    check(saveCheckpoint(ckptPath, art, state, seed, at));
    lastCheckpoint = at.step;
  };

  while (p.step < maxSteps) {
    std::vector<int64_t> order = permutation(seed, p.epoch, trainSet.count);
    if (schedule && p.epoch % schedule->epochsPerStage == 0 && p.batchInEpoch == 0) {
      size_t stage = std::min<size_t>(p.epoch / schedule->epochsPerStage,
                                      schedule->resolutions.size() - 1);
      int64_t r = schedule->resolutions[stage];
      if (p.epoch / schedule->epochsPerStage < (int64_t)schedule->resolutions.size())
        std::fprintf(stderr, "gmrun: stage %zu of %zu: %" PRId64 "x%" PRId64 "%s\n", stage + 1,
                     schedule->resolutions.size(), r, r,
                     stage == 0 ? ""
                                : (" (alpha." + std::to_string(r) + " rises from 0 to 1 over " +
                                   num(schedule->fade * (double)schedule->epochsPerStage) +
                                   " of its " + std::to_string(schedule->epochsPerStage) +
                                   " epochs)").c_str());
    }
    double t0 = now();
    // The scratch memory of this epoch's steps: its peak, and the blocks
    // taken from the system after every slot has run once (none, when the
    // host's cache serves them all: gmrt/scratch.h).
    gmrt::resetScratchPeak();
    const int64_t firstStep = p.step;
    uint64_t warmAllocs = gmrt::scratchStats().systemAllocs;
    for (; p.batchInEpoch < perEpoch && p.step < maxSteps; ++p.batchInEpoch) {
      const int64_t *rows = &order[p.batchInEpoch * batch];
      // Every slot on the same batch, in order; a game's generator after
      // every k-th.
      for (size_t i = 0; i < plan.size(); ++i)
        if ((p.step + 1) % plan[i].every == 0)
          runSlot(i, p.step, rows);
      ++p.step;
      if (p.step - firstStep <= warmup)
        warmAllocs = gmrt::scratchStats().systemAllocs;
      curves.stepDone(p.step);
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
        writeCheckpoint(at);
        if (interrupted) {
          std::fprintf(stderr, "\ngmrun: interrupted; checkpoint %s at step %" PRId64
                       " (continue with --resume)\n", ckptPath.c_str(), p.step);
          return 130;
        }
      }
    }
    p.trainSeconds += now() - t0;
    gmrt::ScratchStats scratch = gmrt::scratchStats();
    if (tty)
      std::fputc('\n', stderr);
    bool epochDone = p.batchInEpoch == perEpoch;
    std::string line = "{\"epoch\": " + std::to_string(p.epoch + 1) +
                       ", \"step\": " + std::to_string(p.step);
    for (size_t i = 0; i < plan.size(); ++i)
      line += ", \"train_loss" + (plan[i].label.empty() ? "" : "_" + plan[i].label) + "\": " +
              num(p.lossSum[i] / std::max<int64_t>(p.lossCount[i], 1));
    // A progressive GAN is scored at the weights it has just trained with.
    std::map<std::string, double> alphas;
    if (schedule)
      alphas = fadeWeights(*schedule, (double)(p.step - 1) / (double)perEpoch);
    line += testMetrics(art, state, testSet, seed, alphas) + ", \"images_per_s\": " +
            num((double)(p.lossCount[0] * batch) / std::max(p.trainSeconds, 1e-9)) +
            ", \"train_seconds\": " + num(p.trainSeconds) +
            ", \"peak_memory_mb\": " + num(peakMemoryMB()) +
            ", \"scratch_mb\": " + num((double)scratch.peak / (1 << 20)) +
            ", \"step_allocations\": " + std::to_string(scratch.systemAllocs - warmAllocs) + "}";
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    if (metrics) {
      std::fprintf(metrics, "%s\n", line.c_str());
      std::fflush(metrics);
    }
    if (epochDone) {
      // The samples of the stage just trained: its fade-in weights.
      writeEpochSamples(art, state, dir, p.epoch + 1, testSet, alphas);
      curves.draw();
      p.newEpoch();
    }
    // Evaluation's blocks (other batch sizes) go back to the system; the
    // next epoch's first steps take the training shapes again.
    gmrt::trimScratch();
    writeCheckpoint(p);
  }
  if (metrics)
    std::fclose(metrics);
  curves.draw();
  std::fprintf(stderr, "gmrun: trained %" PRId64 " steps; checkpoint %s\n", p.step,
               ckptPath.c_str());
  return 0;
}


} // namespace gmrun
