//===- inference.cpp - gmrun eval, sample, traverse, encode ---------------===//
//
// What a trained checkpoint is for: its test-set numbers, samples,
// latent traversals and codes.
//
//===----------------------------------------------------------------------===//

#include "runtime/tools/gmrun/gmrun.h"

#include "runtime/include/gmrt/plot.h"

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



namespace gmrun {

int evalCommand(const Args &a, const Artifact &art) {
  State state;
  loadForInference(a, art, state);
  Split test;
  check(loadSplit(art.manifest, dataPath(a), "test", test));
  uint64_t seed = (uint64_t)intOption(a, "seed", 1, 0);
  int64_t batch = intOption(a, "batch", 100);
  std::string out = "{\"images\": " + std::to_string(test.count);
  // Two IWAE bounds with the same k (one --k for both) are one number;
  // with different k each is named by its k.
  std::vector<const EntrySpec *> evals;
  std::set<double> iwaeKs;
  for (const EntrySpec &e : art.manifest.entries)
    if (e.kind == "eval" && (e.value.value_or("") != "iwae" || iwaeKs.insert(iwaeDraws(a, e)).second))
      evals.push_back(&e);
  for (const EntrySpec *ep : evals) {
    const EntrySpec &e = *ep;
    std::string what = e.value.value_or("");
    double k = iwaeDraws(a, e);
    if (what == "iwae") {
      std::fprintf(stderr, "gmrun: IWAE bound with k = %g on %" PRId64 " images...\n", k,
                   test.count);
    }
    double value = evaluate(art, state, e, test, seed, what == "iwae" ? std::min<int64_t>(batch, 100) : batch, k);
    if (what == "elbo")
      out += ", \"neg_elbo\": " + num(-value);
    else if (what == "exact")
      out += ", \"nll\": " + num(-value);
    else if (what == "iwae" && iwaeKs.size() == 1)
      out += ", \"iwae_nll\": " + num(-value) + ", \"k\": " + num(k);
    else if (what == "iwae")
      out += ", \"iwae_nll_k" + num(k) + "\": " + num(-value);
    else
      out += ", \"" + e.name.substr(5) + "\": " + num(value);
  }
  out += classifierAccuracy(art, state, test);
  std::printf("%s}\n", out.c_str());
  return 0;
}

std::vector<float> decode(const Artifact &art, State &state, const EntrySpec &dec,
                          std::vector<float> z, int64_t n) {
  if (std::count_if(dec.inputs.begin(), dec.inputs.end(), [](const InputSpec &in) {
        return in.kind != InputSpec::Kind::Key;
      }) != 1)
    die("'" + dec.name + "' takes codes or conditions besides its latent; this command "
        "cannot set them");
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

bool toUnitRange(std::vector<float> &images) {
  if (images.empty() || *std::min_element(images.begin(), images.end()) >= 0.0f)
    return false;
  for (float &v : images)
    v = (v + 1.0f) / 2.0f;
  return true;
}

namespace {

/// Rows of up to |columns| images of |above| (|n| images of |width|
/// values each) over the same images of |below|: a grid of pairs, an
/// original over what the model made of it.
std::vector<float> pairRows(const std::vector<float> &above, const std::vector<float> &below,
                            int64_t n, int64_t width, int64_t columns) {
  std::vector<float> images;
  for (int64_t r = 0; r < n; r += columns) {
    int64_t c = std::min(columns, n - r);
    images.insert(images.end(), above.begin() + r * width, above.begin() + (r + c) * width);
    images.insert(images.end(), below.begin() + r * width, below.begin() + (r + c) * width);
  }
  return images;
}

} // namespace

std::vector<float> drawSamples(const Artifact &art, State &state, const EntrySpec &dec,
                               int64_t n, uint64_t seed, double *seconds, const Conditions &c) {
  int zi = dec.find(InputSpec::Kind::Tensor);
  int64_t zw = numel(Shape(dec.inputs[zi].shape.begin() + 1, dec.inputs[zi].shape.end()));
  std::vector<float> images;
  if (dec.kind == "sample") {
    // x = [u < p(x_d = 1 | x_<d)] value by value, inside the entry, 100
    // images a call: the recurrent state of a chunk stays in cache (NADE
    // samples 10% faster than at 1000 a call).
    std::vector<float> u((size_t)(n * zw));
    uint64_t key = keyFor(seed, kSample, 0);
    for (size_t i = 0; i < u.size(); ++i)
      u[i] = (float)gmrt_uniform(key, 0, i / 4, (int)(i % 4));
    double start = now();
    const int64_t chunk = 100;
    for (int64_t first = 0; first < n; first += chunk) {
      int64_t m = std::min(chunk, n - first);
      std::vector<float> part(u.begin() + first * zw, u.begin() + (first + m) * zw);
      std::vector<float> x = decode(art, state, dec, std::move(part), m);
      images.insert(images.end(), x.begin(), x.end());
    }
    *seconds = now() - start;
    return images;
  }
  const EntrySpec *draw = drawOf(art, dec);
  if (dec.prior != "standard_normal" && !draw)
    die("sampling '" + dec.name + "' needs a standard normal prior on its latent '" +
        dec.inputs[zi].name + "', or an entry that draws it (@draw." + dec.inputs[zi].name +
        "); this model has neither");
  Call call(dec);
  fillConditions(art, dec, n, seed, c, call);
  call.setKey(0);
  double start = now();
  if (dec.prior != "standard_normal") {
    // A prior gmrun cannot draw (an adversarial autoencoder's mixture):
    // the artifact draws it, as many as fillConditions' normal draws have
    // rows, and its draws replace them.
    Call d(*draw);
    d.inputs[0] = std::move(call.inputs[zi]);
    d.setKey(keyFor(seed, kSample, 1));
    d.run(state, art, n);
    call.inputs[zi] = std::move(d.outputs[0]);
  }
  call.run(state, art, n);
  *seconds = now() - start;
  return std::move(call.outputs[0]);
}

const EntrySpec *drawOf(const Artifact &art, const EntrySpec &dec) {
  int zi = dec.find(InputSpec::Kind::Tensor);
  return zi < 0 ? nullptr : art.manifest.entry("draw", "draw." + dec.inputs[zi].name);
}

const EntrySpec &samplerOf(const Artifact &art) {
  const EntrySpec *ar = art.manifest.entry("sample");
  return ar ? *ar
            : needEntry(art, "decode",
                        "a likelihood p(x | z) with a prior on z, or an autoregressive p(x)");
}

int sampleCommand(const Args &a, const Artifact &art) {
  State state;
  loadForInference(a, art, state);
  // A decoder of a latent with a prior, or an autoregressive model's
  // ancestral sampler (from uniforms gmrun draws).
  const EntrySpec &dec = a.flags.count("reconstruct")
                             ? needEntry(art, "decode", "a likelihood p(x | z) with a prior on z")
                             : samplerOf(art);
  Conditions conditions = conditionsOf(a);
  // A generator that varies by class shows one class a row, 8 images each.
  int64_t classes = a.flags.count("reconstruct") ? 0 : classRows(art, dec, conditions);
  bool sweep = !conditions.sweep.empty();
  int64_t n = intOption(a, "n", sweep ? conditions.columns * (classes ? classes : 8)
                                 : classes ? 8 * classes : 64);
  uint64_t seed = (uint64_t)intOption(a, "seed", 1, 0);
  std::string out = a.get("out", "samples.png");
  int64_t xw = numel(Shape(dec.outputs[0].begin() + 1, dec.outputs[0].end()));
  bool npyOut = hasSuffix(out, ".npy");
  // Only a grid needs square images: .npy takes any shape.
  auto [h, w] = npyOut ? std::pair<int64_t, int64_t>{1, xw} : imageSize(xw);
  int64_t columns = sweep     ? conditions.columns
                    : classes ? (n + classes - 1) / classes
                              : (int64_t)std::ceil(std::sqrt((double)n));
  if (sweep && classes && n != columns * classes)
    die("--sweep with --n " + std::to_string(n) + ": a sweep of " + std::to_string(columns) +
        " columns over " + std::to_string(classes) + " classes takes --n " +
        std::to_string(columns * classes));
  if (classes && !npyOut)
    std::fprintf(stderr, "gmrun: one row per class, 0 to %" PRId64 "\n", classes - 1);
  if (sweep && !npyOut)
    std::fprintf(stderr, "gmrun: columns sweep %s[%" PRId64 "] from %g to %g\n",
                 conditions.sweep.c_str(), conditions.sweepDim, -conditions.range,
                 conditions.range);
  int64_t repeat = intOption(a, "repeat", 1, 1);
  std::vector<float> images;
  double generateSeconds = 0, fastest = 0;
  if (a.flags.count("reconstruct")) {
    if (repeat != 1)
      die("--repeat times sampling; --reconstruct encodes and decodes test images once");
    const EntrySpec &enc = needEntry(art, "encode", "a posterior q(z | x)");
    needSameLatent(enc, dec);
    Split test;
    check(loadSplit(art.manifest, dataPath(a), "test", test));
    n = std::min(n, test.count);
    std::vector<float> z = encode(art, state, enc, test, 0, n);
    std::vector<float> x = decode(art, state, dec, z, n);
    // Row pairs: originals above their reconstructions.
    int di = enc.find(InputSpec::Kind::Data);
    const std::vector<float> &orig = test.arrays.at(enc.inputs[di].name);
    columns = std::min<int64_t>(n, 8);
    images = pairRows(orig, x, n, xw, columns);
    n = (int64_t)images.size() / xw;
  } else {
    images = drawSamples(art, state, dec, n, seed, &generateSeconds, conditions);
    // The first call generates oneDNN's kernels and touches fresh memory;
    // the later ones, on the same inputs, are the steady state.
    for (int64_t r = 1; r < repeat; ++r) {
      double seconds = 0;
      std::vector<float> again = drawSamples(art, state, dec, n, seed, &seconds, conditions);
      if (again != images)
        die("sampling twice from the same seed gave different images (--repeat)");
      fastest = r == 1 ? seconds : std::min(fastest, seconds);
    }
  }
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
    if (toUnitRange(images))
      std::fprintf(stderr, "gmrun: the images have values below 0: shown as (x + 1) / 2, "
                           "for [-1, 1]\n");
    check(writeImageGrid(out, images.data(), n, h, w, columns));
  }
  if (fastest > 0)
    std::fprintf(stderr,
                 "gmrun: generated %" PRId64 " images in %.3f s (%.0f images/s); %" PRId64
                 " more calls, the fastest in %.3f s (steady %.0f images/s); wrote %s\n",
                 n, generateSeconds, n / generateSeconds, repeat - 1, fastest, n / fastest,
                 out.c_str());
  else if (generateSeconds > 0)
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
  needSameLatent(enc, dec);
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
  // FILE.png: the codes drawn, coloured by class (a 2-D latent only).
  if (hasSuffix(path, ".png")) {
    if (out.shape[1] != 2)
      die("--out " + path + " draws a 2-D latent, but this one has " +
          std::to_string(out.shape[1]) + " dimensions; write FILE.npy instead");
    if (data.labels.empty())
      die("--out " + path + " colours the codes by class, but '" + dataPath(a) +
          "' has no labels; write FILE.npy instead");
    std::vector<int> cls(data.labels.begin(), data.labels.end());
    std::vector<std::string> names(kClassNames, kClassNames + 10);
    // Over the latent's prior density, when the model has @prior.<z>.
    std::string z = enc.name.substr(enc.name.find('.') + 1);
    const EntrySpec *prior = art.manifest.entry("prior", "prior." + z);
    gmrt::LogDensity density;
    if (prior)
      density = [&](const std::vector<float> &xy) {
        std::vector<float> logp;
        int64_t points = (int64_t)xy.size() / 2;
        for (int64_t first = 0; first < points; first += 1000) {
          int64_t m = std::min<int64_t>(1000, points - first);
          std::vector<float> part(xy.begin() + 2 * first, xy.begin() + 2 * (first + m));
          std::vector<float> v = decode(art, state, *prior, std::move(part), m);
          logp.insert(logp.end(), v.begin(), v.end());
        }
        return logp;
      };
    check(gmrt::writeScatter(path, "latent means of the " + split + " set", out.data, cls,
                             names, density, "prior p(" + z + ")"));
    std::fprintf(stderr, "gmrun: drew the %" PRId64 " 2-D latent means in %s%s\n",
                 out.shape[0], path.c_str(), prior ? ", over the prior's density" : "");
    return 0;
  }
  check(writeNpy(path, out));
  std::fprintf(stderr, "gmrun: wrote %" PRId64 " x %" PRId64 " latent means to %s\n",
               out.shape[0], out.shape[1], path.c_str());
  return 0;
}

int translateCommand(const Args &a, const Artifact &art) {
  State state;
  loadForInference(a, art, state);
  // Entries translate.<from>.<to>: an image-to-image generator per domain,
  // taking the data <from>.
  std::vector<std::pair<const EntrySpec *, std::pair<std::string, std::string>>> all;
  std::string froms;
  for (const EntrySpec &e : art.manifest.entries) {
    int di = e.find(InputSpec::Kind::Data);
    if (e.kind != "translate" || di < 0)
      continue;
    all.push_back({&e, {e.inputs[di].name, e.name.substr(e.name.rfind('.') + 1)}});
    froms += (froms.empty() ? "" : ", ") + all.back().second.first;
  }
  if (all.empty())
    die("'" + art.path + "' has no translate entry point (an image-to-image game, a term "
        "gan(D(y), D(G(x))) with x and y data)");
  std::string from = a.get("from", all[0].second.first);
  auto it = std::find_if(all.begin(), all.end(), [&](const auto &p) { return p.second.first == from; });
  if (it == all.end())
    die("--from " + from + ": the model translates from " + froms);
  const EntrySpec &e = *it->first;
  std::string to = it->second.second;
  Split test;
  check(loadSplit(art.manifest, dataPath(a), "test", test));
  int di = e.find(InputSpec::Kind::Data);
  const std::vector<float> &x = test.arrays.at(e.inputs[di].name);
  int64_t xw = numel(Shape(e.outputs[0].begin() + 1, e.outputs[0].end()));
  // A generator of several target domains (StarGAN's code c) translates
  // each image into every domain, one row per domain, unless --code fixes
  // one.
  Conditions conditions = conditionsOf(a);
  std::string by;
  int64_t domains = classRows(art, e, conditions, &by);
  int64_t n = std::min<int64_t>(intOption(a, "n", domains ? 8 : 32),
                                (int64_t)x.size() / std::max<int64_t>(xw, 1));
  int64_t total = n * std::max<int64_t>(domains, 1);
  std::vector<int64_t> rows((size_t)total);
  for (int64_t r = 0; r < total; ++r)
    rows[r] = r % n;
  Call call(e);
  call.setBatch(test, rows.data(), total);
  fillConditions(art, e, total, (uint64_t)intOption(a, "seed", 1, 0), conditions, call);
  call.setKey(0);
  call.run(state, art, total);
  const std::vector<float> &y = call.outputs[0];
  std::string out = a.get("out", "translate.png");
  if (hasSuffix(out, ".npy")) {
    FloatArray array;
    array.shape = {total, xw};
    array.data = y;
    check(writeNpy(out, array));
  } else if (domains) {
    // The test images on top, then their translations into each domain.
    auto [h, w] = imageSize(xw);
    std::vector<float> images(x.begin(), x.begin() + n * xw);
    images.insert(images.end(), y.begin(), y.end());
    toUnitRange(images);
    check(writeImageGrid(out, images.data(), n + total, h, w, n));
  } else {
    // Rows of up to 8 test images above their translations.
    auto [h, w] = imageSize(xw);
    int64_t columns = std::min<int64_t>(n, 8);
    std::vector<float> images = pairRows(x, y, n, xw, columns);
    toUnitRange(images);
    check(writeImageGrid(out, images.data(), (int64_t)images.size() / xw, h, w, columns));
  }
  std::string into = domains ? "each of " + std::to_string(domains) + " domains of " +
                                   by.substr(by.find(' ') + 1) + " (a row each)"
                     : conditions.codes.count(to) ? to + " = " + num(conditions.codes.at(to))
                     : to == from ? "'" + to + "' (its own domain: a reconstruction or completion)"
                                  : "'" + to + "'";
  std::fprintf(stderr, "gmrun: translated %" PRId64 " test images of '%s' into %s (%s): %s\n",
               n, from.c_str(), into.c_str(), e.name.c_str(), out.c_str());
  if (!a.has("classifier"))
    return 0;
  // How often the yardstick classifier sees the target class: a code's
  // value (StarGAN's domains are classes), the class the target data keeps
  // (CycleGAN's "fashion-mnist:images?class=9"), or, within one domain
  // (Puzzle-GAN's completions), each source image's own.
  std::vector<int64_t> target((size_t)total, -1);
  const DataSpec *d = art.manifest.dataNamed(to);
  size_t at = d ? d->source.find("class=") : std::string::npos;
  for (int64_t r = 0; r < total; ++r) {
    if (domains)
      target[r] = r / n;
    else if (!conditions.codes.empty())
      target[r] = (int64_t)conditions.codes.begin()->second;
    else if (at != std::string::npos)
      target[r] = std::atoll(d->source.c_str() + at + 6);
    else if (to == from && (int64_t)test.labels.size() > rows[r])
      target[r] = test.labels[rows[r]];
    else
      die("--classifier: the target domain '" + to + "' names no class (its source has no "
          "?class=N)");
  }
  std::vector<int64_t> seen = yardstickClasses(a, y, total);
  int64_t hits = 0;
  for (int64_t r = 0; r < total; ++r)
    hits += seen[r] == target[r];
  std::printf("{\"translations\": %" PRId64 ", \"target_accuracy\": %s}\n", total,
              num((double)hits / (double)total).c_str());
  std::fprintf(stderr, "gmrun: the yardstick classifier sees the target class in %.1f%% of "
                       "the translations\n", 100.0 * (double)hits / (double)total);
  return 0;
}

} // namespace gmrun
