//===- density.cpp - gmrun score and gmrun anomaly -------------------------===//
//
// Densities per image: `score` writes log p(x) (or, for a latent-variable
// model, its ELBO or IWAE bound) of every image of a file or of the test
// split; `anomaly` runs the one-class protocol of the anomaly-detection
// literature on Fashion-MNIST: train on one class, score the whole test
// set, and measure how well -log p(x) ranks the other nine classes above
// it (ROC-AUC).
//
//===----------------------------------------------------------------------===//

#include "runtime/tools/gmrun/gmrun.h"

#include "runtime/include/gmrt/data.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace gmrun {

namespace {

/// The score entry to use: --objective NAME, else the model's exact log p(x),
/// else its IWAE bound, else its ELBO.
const EntrySpec &scoreEntry(const Args &a, const Artifact &art) {
  const std::vector<EntrySpec> &es = art.manifest.entries;
  if (a.has("objective")) {
    std::string want = "score." + a.get("objective", "");
    for (const EntrySpec &e : es)
      if (e.kind == "score" && e.name == want)
        return e;
    std::string names;
    for (const EntrySpec &e : es)
      if (e.kind == "score")
        names += (names.empty() ? "" : ", ") + e.name.substr(6);
    die("'" + art.path + "' has no density or bound called '" + a.get("objective", "") +
        "' (it has: " + (names.empty() ? "none" : names) + ")");
  }
  for (const char *want : {"exact", "iwae", "elbo"})
    for (const EntrySpec &e : es)
      if (e.kind == "score" && e.value == want)
        return e;
  die("'" + art.path + "' computes no log p(x) or bound on it per image (no score entry: " +
      "score needs an objective that averages log p(x), an ELBO or an IWAE bound over the batch)");
}

/// Per-example values of |e| on every example of |split|.
std::vector<double> scoreAll(const Artifact &art, State &state, const EntrySpec &e,
                             const Split &split, uint64_t seed, int64_t batch, double k) {
  std::vector<double> out((size_t)split.count);
  forEachBatch(art, state, e, split, seed, batch, k, [&](int64_t first, int64_t n, const Call &c) {
    for (int64_t i = 0; i < n; ++i)
      out[first + i] = c.outputs[0][i];
  });
  return out;
}

/// Values per example of the entry's data input (the D of bits per
/// dimension).
int64_t dimensions(const Artifact &art, const EntrySpec &e) {
  for (const InputSpec &in : e.inputs)
    if (in.kind == InputSpec::Kind::Data)
      if (const DataSpec *d = art.manifest.dataNamed(in.name))
        return numel(Shape(d->shape.begin() + 1, d->shape.end()));
  return 1;
}

/// The area under the ROC curve of |score| separating |positive| examples
/// from the rest: the probability that a random positive scores above a
/// random negative, ties counting one half (Mann-Whitney, average ranks).
double rocAuc(const std::vector<double> &score, const std::vector<bool> &positive) {
  size_t n = score.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return score[i] < score[j]; });
  double rankSum = 0, pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && score[order[j]] == score[order[i]])
      ++j;
    double rank = (double)(i + j + 1) / 2.0; // 1-based average rank of the tie
    for (size_t t = i; t < j; ++t)
      if (positive[order[t]]) {
        rankSum += rank;
        ++pos;
      }
    i = j;
  }
  double neg = (double)n - pos;
  if (pos == 0 || neg == 0)
    return NAN;
  return (rankSum - pos * (pos + 1) / 2.0) / (pos * neg);
}

std::vector<int> parseClasses(const Args &a) {
  std::vector<int> out;
  std::string s = a.get("classes", "0,1,2,3,4,5,6,7,8,9");
  for (size_t at = 0; at <= s.size();) {
    size_t comma = s.find(',', at);
    std::string item = s.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    at = comma == std::string::npos ? s.size() + 1 : comma + 1;
    char *end = nullptr;
    long c = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end || c < 0 || c > 9)
      die("--classes expects Fashion-MNIST classes 0..9 separated by commas, got '" + s + "'");
    if (std::find(out.begin(), out.end(), (int)c) == out.end())
      out.push_back((int)c);
  }
  return out;
}

} // namespace

int scoreCommand(const Args &a, const Artifact &art) {
  const EntrySpec &e = scoreEntry(a, art);
  State state;
  loadForInference(a, art, state);
  std::string input = a.get("input", "");
  Split split;
  check(loadSplit(art.manifest, input.empty() ? dataPath(a) : input, "test", split));
  if (split.count == 0)
    die("'" + (input.empty() ? dataPath(a) : input) + "' holds no examples to score");
  double k = iwaeDraws(a, e);
  uint64_t seed = (uint64_t)intOption(a, "seed", 1, 0);
  int64_t batch = intOption(a, "batch", 100);
  double t0 = now();
  std::vector<double> lp = scoreAll(art, state, e, split, seed, batch, k);
  double seconds = now() - t0;
  double mean = 0;
  FloatArray out{{split.count}, {}};
  for (double v : lp) {
    mean += v / (double)split.count;
    out.data.push_back((float)v);
  }
  std::string path = a.get("out", "scores.npy");
  check(writeNpy(path, out));
  int64_t d = dimensions(art, e);
  std::string what = *e.value == "exact" ? "log p(x)" : *e.value + " bound on log p(x)";
  std::fprintf(stderr, "gmrun: %s of %lld images (%s): mean %.4g nats, %.4g bits/dim; %s\n",
               e.name.c_str(), (long long)split.count, what.c_str(), mean,
               -mean / ((double)d * std::log(2.0)), path.c_str());
  std::printf("{\"images\": %lld, \"score\": \"%s\", \"value\": \"%s\"%s, \"mean_log_p\": %s, "
              "\"nll_nats\": %s, \"bits_per_dim\": %s, \"images_per_s\": %s, \"out\": \"%s\"}\n",
              (long long)split.count, e.name.c_str(), e.value->c_str(),
              k > 0 ? (", \"k\": " + num(k)).c_str() : "", num(mean).c_str(), num(-mean).c_str(),
              num(-mean / ((double)d * std::log(2.0))).c_str(),
              num((double)split.count / seconds).c_str(), path.c_str());
  return 0;
}

int anomalyCommand(const Args &a, const Artifact &art) {
  std::vector<int> classes = parseClasses(a);
  const EntrySpec &e = scoreEntry(a, art);
  std::string dir = a.get("out", "gm-anomaly");
  if (!makeDir(dir))
    die("cannot create the output folder '" + dir + "'");
  Split test;
  check(loadSplit(art.manifest, dataPath(a), "test", test));
  if (test.labels.size() != (size_t)test.count)
    die("anomaly needs Fashion-MNIST's labels; '" + dataPath(a) +
        "' is not a Fashion-MNIST folder");
  std::vector<double> aucs;
  for (int c : classes) {
    // Train on class c alone, into its own folder (--resume continues it).
    Args t = a;
    t.command = "train";
    t.values["class"] = std::to_string(c);
    t.values["out"] = dir + "/class-" + std::to_string(c);
    std::fprintf(stderr, "gmrun: class %d (%s): training on its images alone...\n", c,
                 kClassNames[c]);
    if (int rc = train(t, art))
      return rc;
    State state;
    t.values["checkpoint"] = t.values["out"] + "/checkpoint.safetensors";
    loadForInference(t, art, state);
    uint64_t seed = (uint64_t)intOption(a, "seed", 1, 0);
    std::vector<double> lp = scoreAll(art, state, e, test, seed, intOption(a, "batch", 100),
                                      iwaeDraws(a, e));
    // The anomaly score is -log p(x); the other nine classes are the
    // anomalies.
    std::vector<double> anomaly(lp.size());
    std::vector<bool> other(lp.size());
    double normalMean = 0, otherMean = 0;
    int64_t normals = 0;
    for (size_t i = 0; i < lp.size(); ++i) {
      anomaly[i] = -lp[i];
      other[i] = test.labels[i] != c;
      (other[i] ? otherMean : normalMean) += lp[i];
      normals += !other[i];
    }
    double auc = rocAuc(anomaly, other);
    aucs.push_back(auc);
    std::printf("{\"class\": %d, \"name\": \"%s\", \"auroc\": %s, \"score\": \"%s\", "
                "\"mean_log_p_normal\": %s, \"mean_log_p_anomalous\": %s}\n",
                c, kClassNames[c], num(auc).c_str(), e.name.c_str(),
                num(normalMean / (double)std::max<int64_t>(1, normals)).c_str(),
                num(otherMean / (double)std::max<int64_t>(1, (int64_t)lp.size() - normals)).c_str());
    std::fflush(stdout);
  }
  double mean = std::accumulate(aucs.begin(), aucs.end(), 0.0) / (double)aucs.size();
  std::fprintf(stderr, "\ngmrun: one-class ROC-AUC (%s, %s):\n", art.manifest.model.c_str(),
               e.name.c_str());
  for (size_t i = 0; i < classes.size(); ++i)
    std::fprintf(stderr, "  %d %-12s %.4f\n", classes[i], kClassNames[classes[i]], aucs[i]);
  std::fprintf(stderr, "  mean           %.4f\n", mean);
  std::printf("{\"classes\": %zu, \"mean_auroc\": %s}\n", classes.size(), num(mean).c_str());
  return 0;
}

} // namespace gmrun
