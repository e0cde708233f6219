//===- yardstick.cpp - gmrun fid: sample quality against a gm classifier ---===//
//
// The quality yardstick of issue 11. A Fashion-MNIST classifier written in
// .gm (models/classifier) gives every image two things: the activations
// its last layer reads (its `features` entry) and class logits (its
// `classify` entry). The yardstick compares generated images with the test
// set through those:
//
//   fid       Fréchet distance between Gaussians fitted to the features:
//             |mu_r - mu_g|^2 + tr(S_r + S_g - 2 (S_r^1/2 S_g S_r^1/2)^1/2)
//   kid       the kernel analogue: unbiased MMD^2 with the cubic kernel
//             (x.y / d + 1)^3, averaged over subsets of 1,000
//   is        the Inception-score analogue, exp E_x KL(p(y | x) || p(y))
//   coverage  how many of the 10 classes get >= 2% of the samples (argmax)
//
// They use this classifier's features, not Inception's: they compare gm's
// models with each other (and a peer's samples scored here), not with
// published FIDs.
//
//===----------------------------------------------------------------------===//

#include "runtime/tools/gmrun/gmrun.h"

#include "runtime/include/gmrt/data.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace gmrun {

namespace {

using Matrix = std::vector<double>; // row-major d x d

/// Eigenvalues and eigenvectors (columns of |v|) of the symmetric d x d
/// matrix |a| by cyclic Jacobi rotations: exact to rounding for the
/// few-hundred-dimensional covariances here.
void symmetricEigen(Matrix a, int64_t d, std::vector<double> &values, Matrix &v) {
  v.assign((size_t)(d * d), 0.0);
  for (int64_t i = 0; i < d; ++i)
    v[i * d + i] = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, scale = 0;
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j)
        (i == j ? scale : off) += a[i * d + j] * a[i * d + j];
    if (off <= 1e-22 * std::max(scale, 1e-300))
      break;
    for (int64_t p = 0; p < d; ++p)
      for (int64_t q = p + 1; q < d; ++q) {
        double apq = a[p * d + q];
        if (std::fabs(apq) < 1e-300)
          continue;
        double theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
        double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < d; ++k) { // columns p, q
          double akp = a[k * d + p], akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (int64_t k = 0; k < d; ++k) { // rows p, q
          double apk = a[p * d + k], aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < d; ++k) {
          double vkp = v[k * d + p], vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
  }
  values.resize((size_t)d);
  for (int64_t i = 0; i < d; ++i)
    values[i] = a[i * d + i];
}

/// The square root of a symmetric positive semi-definite matrix (negative
/// eigenvalues from rounding count as 0).
Matrix sqrtPsd(const Matrix &a, int64_t d) {
  std::vector<double> values;
  Matrix v;
  symmetricEigen(a, d, values, v);
  Matrix out((size_t)(d * d), 0.0);
  for (int64_t k = 0; k < d; ++k) {
    double r = std::sqrt(std::max(values[k], 0.0));
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j)
        out[i * d + j] += v[i * d + k] * r * v[j * d + k];
  }
  return out;
}

Matrix multiply(const Matrix &a, const Matrix &b, int64_t d) {
  Matrix c((size_t)(d * d), 0.0);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t k = 0; k < d; ++k)
      for (int64_t j = 0; j < d; ++j)
        c[i * d + j] += a[i * d + k] * b[k * d + j];
  return c;
}

/// Mean and covariance (n - 1 in the denominator) of n rows of d features.
void moments(const std::vector<float> &x, int64_t n, int64_t d, std::vector<double> &mean,
             Matrix &cov) {
  mean.assign((size_t)d, 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < d; ++j)
      mean[j] += x[r * d + j];
  for (double &m : mean)
    m /= (double)n;
  cov.assign((size_t)(d * d), 0.0);
  std::vector<double> c((size_t)d);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t j = 0; j < d; ++j)
      c[j] = x[r * d + j] - mean[j];
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = i; j < d; ++j)
        cov[i * d + j] += c[i] * c[j];
  }
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = i; j < d; ++j)
      cov[j * d + i] = cov[i * d + j] /= (double)(n - 1);
}

double frechet(const std::vector<float> &real, int64_t nr, const std::vector<float> &gen,
               int64_t ng, int64_t d) {
  std::vector<double> mr, mg;
  Matrix sr, sg;
  moments(real, nr, d, mr, sr);
  moments(gen, ng, d, mg, sg);
  double dist = 0, trace = 0;
  for (int64_t j = 0; j < d; ++j)
    dist += (mr[j] - mg[j]) * (mr[j] - mg[j]);
  // tr (S_r S_g)^1/2 = tr (S_r^1/2 S_g S_r^1/2)^1/2: a symmetric matrix with
  // the same eigenvalues, so the symmetric eigen-solver serves.
  Matrix root = sqrtPsd(sr, d);
  Matrix inner = sqrtPsd(multiply(multiply(root, sg, d), root, d), d);
  for (int64_t j = 0; j < d; ++j)
    trace += sr[j * d + j] + sg[j * d + j] - 2 * inner[j * d + j];
  return dist + trace;
}

/// Unbiased MMD^2 with the cubic polynomial kernel, over subsets of up to
/// 1,000 rows (the KID of Binkowski et al., 2018), averaged.
double kernelDistance(const std::vector<float> &real, int64_t nr, const std::vector<float> &gen,
                      int64_t ng, int64_t d) {
  int64_t m = std::min<int64_t>({1000, nr, ng});
  int64_t subsets = std::max<int64_t>(1, std::min(nr, ng) / m);
  auto k = [&](const float *x, const float *y) {
    double dot = 0;
    for (int64_t j = 0; j < d; ++j)
      dot += (double)x[j] * y[j];
    double t = dot / (double)d + 1;
    return t * t * t;
  };
  double total = 0;
  // Subset s takes every subsets-th row from row s: rows in class order (a
  // conditional generator's blocks) still give every subset every class.
  for (int64_t s = 0; s < subsets; ++s) {
    auto r = [&](int64_t i) { return &real[(size_t)((i * subsets + s) * d)]; };
    auto g = [&](int64_t i) { return &gen[(size_t)((i * subsets + s) * d)]; };
    double rr = 0, gg = 0, rg = 0;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < m; ++j) {
        rg += k(r(i), g(j));
        if (i != j) {
          rr += k(r(i), r(j));
          gg += k(g(i), g(j));
        }
      }
    total += (rr + gg) / (double)(m * (m - 1)) - 2 * rg / (double)(m * m);
  }
  return total / (double)subsets;
}

/// Softmax probabilities of n rows of c logits.
std::vector<double> softmaxRows(const std::vector<float> &logits, int64_t n, int64_t c) {
  std::vector<double> p((size_t)(n * c));
  for (int64_t r = 0; r < n; ++r) {
    double top = *std::max_element(&logits[r * c], &logits[r * c] + c), sum = 0;
    for (int64_t j = 0; j < c; ++j)
      sum += p[r * c + j] = std::exp((double)logits[r * c + j] - top);
    for (int64_t j = 0; j < c; ++j)
      p[r * c + j] /= sum;
  }
  return p;
}

/// exp E_x KL(p(y | x) || p(y)).
double inceptionScore(const std::vector<double> &p, int64_t n, int64_t c) {
  std::vector<double> marginal((size_t)c, 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < c; ++j)
      marginal[j] += p[r * c + j] / (double)n;
  double kl = 0;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < c; ++j)
      if (p[r * c + j] > 0)
        kl += p[r * c + j] * (std::log(p[r * c + j]) - std::log(marginal[j]));
  return std::exp(kl / (double)n);
}

/// The predicted class of each row.
std::vector<int64_t> argmaxRows(const std::vector<float> &logits, int64_t n, int64_t c) {
  std::vector<int64_t> out((size_t)n);
  for (int64_t r = 0; r < n; ++r)
    out[r] = std::max_element(&logits[r * c], &logits[r * c] + c) - &logits[r * c];
  return out;
}

/// The output rows of |e| (classify or features) on every example of
/// |split|, 500 a call.
std::vector<float> runOnSplit(const Artifact &art, State &state, const EntrySpec &e,
                              const Split &split) {
  std::vector<float> out;
  forEachBatch(art, state, e, split, 1, 500, 0, [&](int64_t, int64_t, const Call &c) {
    out.insert(out.end(), c.outputs[0].begin(), c.outputs[0].end());
  });
  return out;
}

/// |e| on |n| images (rows of |images|), as a split of its data input.
std::vector<float> runOnImages(const Artifact &art, State &state, const EntrySpec &e,
                               std::vector<float> images, int64_t n) {
  int di = e.find(InputSpec::Kind::Data);
  Split split;
  split.count = n;
  split.width[e.inputs[di].name] = (int64_t)images.size() / std::max<int64_t>(n, 1);
  split.arrays[e.inputs[di].name] = std::move(images);
  return runOnSplit(art, state, e, split);
}

} // namespace

std::string classifierAccuracy(const Artifact &art, State &state, const Split &test) {
  const EntrySpec *cls = art.manifest.entry("classify");
  if (!cls)
    return "";
  // classify.<y> is scored against the one-hot label data y.
  std::string y = cls->name.substr(cls->name.find('.') + 1);
  int64_t c = cls->outputs[0].back();
  std::vector<float> logits = runOnSplit(art, state, *cls, test);
  const std::vector<float> &labels = test.arrays.at(y);
  std::vector<int64_t> pred = argmaxRows(logits, test.count, c);
  int64_t right = 0;
  for (int64_t r = 0; r < test.count; ++r)
    right += labels[r * c + pred[r]] > 0.5f;
  char buf[64];
  std::snprintf(buf, sizeof buf, ", \"accuracy\": %.4f", (double)right / (double)test.count);
  return buf;
}

std::vector<int64_t> yardstickClasses(const Args &a, std::vector<float> images, int64_t n) {
  if (!a.has("classifier") || !a.has("classifier-checkpoint"))
    die("the yardstick needs both --classifier FILE.gmx and --classifier-checkpoint FILE "
        "(see models/classifier)");
  Artifact cls;
  check(Artifact::load(a.get("classifier", ""), cls));
  const EntrySpec &classify = needEntry(cls, "classify", "a classifier p(y | x)");
  State clsState;
  check(loadCheckpoint(a.get("classifier-checkpoint", ""), cls, clsState, nullptr, nullptr));
  int di = classify.find(InputSpec::Kind::Data);
  int64_t width = numel(Shape(classify.inputs[di].shape.begin() + 1, classify.inputs[di].shape.end()));
  if ((int64_t)images.size() != n * width)
    die("the images have " + std::to_string(images.size() / std::max<int64_t>(n, 1)) +
        " values each; the classifier takes " + std::to_string(width));
  toUnitRange(images);
  std::vector<float> logits = runOnImages(cls, clsState, classify, std::move(images), n);
  return argmaxRows(logits, n, classify.outputs[0].back());
}

int fidCommand(const Args &a) {
  if (!a.has("classifier") || !a.has("classifier-checkpoint"))
    die("'fid' needs --classifier FILE.gmx and --classifier-checkpoint FILE (the yardstick: "
        "gmc models/classifier/classifier.gm, then gmrun train; see models/classifier)");
  Artifact cls;
  check(Artifact::load(a.get("classifier", ""), cls));
  const EntrySpec &features = needEntry(cls, "features", "a classifier p(y | x) whose logits "
                                                         "are a linear layer's output");
  const EntrySpec &classify = needEntry(cls, "classify", "a classifier p(y | x)");
  State clsState;
  check(loadCheckpoint(a.get("classifier-checkpoint", ""), cls, clsState, nullptr, nullptr));
  int di = features.find(InputSpec::Kind::Data);
  int64_t width = numel(Shape(features.inputs[di].shape.begin() + 1, features.inputs[di].shape.end()));
  int64_t d = features.outputs[0].back(), c = classify.outputs[0].back();

  // The generated images: a .npy file, or the artifact's sampler.
  std::vector<float> images;
  int64_t n = 0;
  std::string what;
  // The classes a conditional generator's samples come in, and what sets them.
  int64_t rowClasses = 0;
  std::string rowsBy;
  if (a.has("samples")) {
    if (!a.artifact.empty())
      die("'fid' takes either an artifact (to sample) or --samples FILE.npy, not both");
    FloatArray array;
    check(readNpy(a.get("samples", ""), array));
    n = array.shape.empty() ? 0 : array.shape[0];
    if (n < 2 || numel(array.shape) != n * width)
      die("--samples '" + a.get("samples", "") + "' holds " + std::to_string(numel(array.shape)) +
          " values; the classifier takes rows of " + std::to_string(width) +
          " (at least 2 images)");
    images = std::move(array.data);
    what = a.get("samples", "");
  } else {
    if (a.artifact.empty())
      die("'fid' needs an artifact to sample (gmrun fid MODEL.gmx --checkpoint C) or "
          "--samples FILE.npy");
    Artifact gen;
    check(Artifact::load(a.artifact, gen));
    check(checkStateFits(gen));
    State genState;
    loadForInference(a, gen, genState);
    const EntrySpec &dec = samplerOf(gen);
    n = intOption(a, "n", 10000, 2);
    double seconds = 0;
    Conditions conditions = conditionsOf(a);
    rowClasses = dec.kind == "sample" ? 0 : classRows(gen, dec, conditions, &rowsBy);
    images = drawSamples(gen, genState, dec, n, (uint64_t)intOption(a, "seed", 1, 0), &seconds,
                         conditions);
    if ((int64_t)images.size() != n * width)
      die("'" + a.artifact + "' generates rows of " + std::to_string(images.size() / n) +
          " values; the classifier takes " + std::to_string(width));
    what = a.artifact;
  }
  // A generator with a tanh output draws in [-1, 1]: scored as (x + 1) / 2,
  // the data's range, as `sample` shows it.
  if (toUnitRange(images))
    std::fprintf(stderr, "gmrun: the samples have values below 0: scored as (x + 1) / 2\n");

  Split test;
  check(loadSplit(cls.manifest, dataPath(a), "test", test));
  std::fprintf(stderr, "gmrun: features of %" PRId64 " test images and %" PRId64 " samples...\n",
               test.count, n);
  std::vector<float> fr = runOnSplit(cls, clsState, features, test);
  std::vector<float> lr = runOnSplit(cls, clsState, classify, test);
  std::vector<float> lg = runOnImages(cls, clsState, classify, images, n);
  std::vector<float> fg = runOnImages(cls, clsState, features, std::move(images), n);

  double fid = frechet(fr, test.count, fg, n, d);
  double kid = kernelDistance(fr, test.count, fg, n, d);
  double is = inceptionScore(softmaxRows(lg, n, c), n, c);
  double isReal = inceptionScore(softmaxRows(lr, test.count, c), test.count, c);
  std::vector<int64_t> counts((size_t)c, 0);
  std::vector<int64_t> predicted = argmaxRows(lg, n, c);
  for (int64_t k : predicted)
    ++counts[k];
  // A class-conditional generator, whose samples come in equal blocks of
  // one class each (fillConditions): for a data class (a label, a
  // caption), how often the classifier sees the class asked for; for a
  // learned category, how pure each category is (the share of its samples
  // in its most common class, summed), as clustering is scored.
  std::string conditional;
  if (rowClasses) {
    int64_t block = (n + rowClasses - 1) / rowClasses;
    std::vector<std::vector<int64_t>> byRow((size_t)rowClasses, std::vector<int64_t>(c, 0));
    for (int64_t r = 0; r < n; ++r)
      ++byRow[r / block][predicted[r]];
    bool learned = rowsBy.rfind("code ", 0) == 0;
    int64_t hits = 0;
    for (int64_t k = 0; k < rowClasses; ++k)
      hits += learned ? *std::max_element(byRow[k].begin(), byRow[k].end())
                      : (k < c ? byRow[k][k] : 0);
    double share = (double)hits / (double)n;
    conditional = learned ? ", \"code_purity\": " + num(share)
                          : ", \"conditional_accuracy\": " + num(share);
    std::fprintf(stderr, "gmrun: by %s: %s %.1f%%\n", rowsBy.c_str(),
                 learned ? "purity (each category's share of its most common class)"
                         : "the classifier agrees with the class asked for in",
                 100 * share);
  }
  int64_t covered = 0;
  std::string hist;
  for (int64_t j = 0; j < c; ++j) {
    covered += counts[j] * 50 >= n; // >= 2% of the samples
    hist += (j ? ", " : "") + std::to_string(counts[j]);
  }
  std::printf("{\"samples\": %" PRId64 ", \"fid\": %.4f, \"kid\": %.6f, \"is\": %.4f, "
              "\"is_test_set\": %.4f, \"classes_covered\": %" PRId64 ", \"class_counts\": [%s]%s}\n",
              n, fid, kid, is, isReal, covered, hist.c_str(), conditional.c_str());
  std::fprintf(stderr,
               "gmrun: %s: FID %.2f, KID %.4f, IS %.2f (test set %.2f), %" PRId64
               " of %" PRId64 " classes with >= 2%% of the samples (yardstick features of "
               "models/classifier: compare only with each other)\n",
               what.c_str(), fid, kid, is, isReal, covered, c);
  return 0;
}

} // namespace gmrun
