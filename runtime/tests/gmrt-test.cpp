//===- gmrt-test.cpp - drives the runtime library from lit tests ----------===//
//
// gmrt-test idx FILE                 shape and mean byte (/255) of an IDX file
// gmrt-test fashion DIR SPLIT        a Fashion-MNIST split: count, size, stats
// gmrt-test ckpt-roundtrip FILE      write, read back and compare a checkpoint
// gmrt-test ckpt-read FILE           the tensors and metadata of a checkpoint
// gmrt-test npy-roundtrip FILE       write, read back and compare a .npy
// gmrt-test npy-read FILE            shape and sum of a .npy
// gmrt-test manifest FILE            an artifact manifest's contents, and
//                                    whether writing it back gives FILE
// gmrt-test png FILE N COLS          a grid of N synthetic 28x28 images
// gmrt-test fashion-png DIR FILE N   a grid of the first N training images
// gmrt-test captions DIR N           the captions of the first N test images
//                                    and how often each class is "dark"
// gmrt-test parse-caption TEXT       the word ids of a written caption
// gmrt-test omp THREADS N COND       a parallel loop of N iterations through
//                                    the gmrt_omp_* entry points
//
// Errors print "gmrt-test: error: ..." and exit 1.
//
//===----------------------------------------------------------------------===//

#include "runtime/include/gmrt/abi.h"
#include "runtime/include/gmrt/artifact.h"
#include "runtime/include/gmrt/data.h"
#include "runtime/include/gmrt/io.h"
#include "runtime/include/gmrt/png.h"
#include "runtime/include/gmrt/safetensors.h"
#include "runtime/include/gmrt/scratch.h"
#include "runtime/src/gomp.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <sys/stat.h>
#include <vector>

using namespace gmrt;

static int fail(const Status &s) {
  std::fprintf(stderr, "gmrt-test: error: %s\n", s.message().c_str());
  return 1;
}

/// "shape 60000x28x28" (a scalar prints "shape").
static void printShape(const std::vector<int64_t> &shape) {
  std::printf("shape");
  for (size_t i = 0; i < shape.size(); ++i)
    std::printf("%s%lld", i ? "x" : " ", (long long)shape[i]);
  std::printf("\n");
}

static int usage() {
  std::fprintf(stderr, "usage: gmrt-test idx|fashion|ckpt-roundtrip|ckpt-read|"
                       "npy-roundtrip|npy-read|manifest|png|fashion-png|captions|"
                       "parse-caption|scratch|omp ARGS...\n");
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 3)
    return usage();
  std::string cmd = argv[1], path = argv[2];
  if (cmd == "idx") {
    ByteArray a;
    if (Status s = readIdx(path, a); !s)
      return fail(s);
    double sum = 0;
    for (uint8_t b : a.data)
      sum += b / 255.0;
    printShape(a.shape);
    std::printf("mean %.6f\n", sum / a.data.size());
    return 0;
  }
  if (cmd == "fashion" && argc == 4) {
    Dataset d;
    if (Status s = loadFashionMnist(path, argv[3], d); !s)
      return fail(s);
    double sum = 0;
    for (float v : d.images)
      sum += v;
    long counts[10] = {};
    for (uint8_t l : d.labels)
      ++counts[l];
    std::printf("%lld images of %lldx%lld\nmean pixel %.4f\nper class", (long long)d.count,
                (long long)d.height, (long long)d.width, sum / d.images.size());
    for (long c : counts)
      std::printf(" %ld", c);
    std::printf("\n");
    return 0;
  }
  if (cmd == "captions" && argc == 4) {
    Dataset d;
    if (Status s = loadFashionMnist(path, "test", d); !s)
      return fail(s);
    const std::vector<std::string> &vocab = captionVocabulary();
    int64_t pixels = d.height * d.width, shown = std::atoll(argv[3]);
    long dark[10] = {}, total[10] = {};
    for (int64_t i = 0; i < d.count; ++i) {
      std::vector<int> ids = fashionCaption(d.labels[i], &d.images[i * pixels], pixels, 6);
      dark[d.labels[i]] += ids[1] == 2;
      ++total[d.labels[i]];
      if (i >= shown)
        continue;
      for (size_t w = 0; w < ids.size(); ++w)
        std::printf("%s%s", w ? " " : "", vocab[ids[w]].c_str());
      std::printf("\n");
    }
    std::printf("dark per class");
    for (int c = 0; c < 10; ++c)
      std::printf(" %.2f", (double)dark[c] / total[c]);
    std::printf("\n");
    return 0;
  }
  if (cmd == "parse-caption") {
    std::vector<int> ids;
    if (Status s = parseCaption(path, 6, ids); !s)
      return fail(s);
    for (size_t w = 0; w < ids.size(); ++w)
      std::printf("%s%d", w ? " " : "", ids[w]);
    std::printf("\n");
    return 0;
  }
  if (cmd == "ckpt-roundtrip") {
    Checkpoint c;
    c.metadata = {{"model", "vae"}, {"step", "1200"}, {"rng", "17 \"quoted\""}};
    c.tensors.push_back({"encoder.linear0.weight", {3, 2}, {1, -2, 3.5f, 4, 5, 6}});
    c.tensors.push_back({"encoder.linear0.bias", {3}, {0.25f, 0, -1}});
    c.tensors.push_back({"scalar", {}, {42}});
    if (Status s = writeSafetensors(path, c); !s)
      return fail(s);
    struct stat st;
    if (::stat((path + ".tmp").c_str(), &st) == 0)
      return fail(Status::error("the temporary file was left behind"));
    Checkpoint back;
    if (Status s = readSafetensors(path, back); !s)
      return fail(s);
    bool same = back.metadata == c.metadata && back.tensors.size() == c.tensors.size();
    for (size_t i = 0; same && i < c.tensors.size(); ++i)
      same = back.tensors[i].name == c.tensors[i].name &&
             back.tensors[i].shape == c.tensors[i].shape &&
             back.tensors[i].data == c.tensors[i].data;
    if (!same)
      return fail(Status::error("the checkpoint read back differs"));
    std::printf("roundtrip ok: %zu tensors, %zu metadata\n", back.tensors.size(),
                back.metadata.size());
    return 0;
  }
  if (cmd == "ckpt-read") {
    Checkpoint c;
    if (Status s = readSafetensors(path, c); !s)
      return fail(s);
    for (auto &t : c.tensors) {
      std::printf("%s [", t.name.c_str());
      for (size_t i = 0; i < t.shape.size(); ++i)
        std::printf("%s%lld", i ? ", " : "", (long long)t.shape[i]);
      double sum = 0;
      for (float v : t.data)
        sum += v;
      std::printf("] sum %g\n", sum);
    }
    for (auto &[k, v] : c.metadata)
      std::printf("%s = %s\n", k.c_str(), v.c_str());
    std::printf("checksums: %s\n", c.verified ? "verified" : "none");
    return 0;
  }
  if (cmd == "npy-roundtrip") {
    FloatArray a{{2, 3}, {1, 2, 3, 4, 5, 6.5f}};
    if (Status s = writeNpy(path, a); !s)
      return fail(s);
    FloatArray b;
    if (Status s = readNpy(path, b); !s)
      return fail(s);
    if (b.shape != a.shape || b.data != a.data)
      return fail(Status::error("the .npy read back differs"));
    std::printf("roundtrip ok\n");
    return 0;
  }
  if (cmd == "npy-read") {
    FloatArray a;
    if (Status s = readNpy(path, a); !s)
      return fail(s);
    double sum = 0;
    for (float v : a.data)
      sum += v;
    printShape(a.shape);
    std::printf("sum %g\n", sum);
    return 0;
  }
  if (cmd == "manifest") {
    std::string text;
    if (Status s = readFile(path, text); !s)
      return fail(s);
    Manifest m;
    if (Status s = parseManifest(text, path, m); !s)
      return fail(s);
    std::printf("model %s for %s: %zu state, %zu data, %zu entries\n", m.model.c_str(),
                m.target.cpu.c_str(), m.state.size(), m.data.size(), m.entries.size());
    for (const EntrySpec &e : m.entries) {
      std::printf("%s %s:", e.kind.c_str(), e.name.c_str());
      for (const InputSpec &in : e.inputs) {
        std::printf(" %s", inputKindName(in.kind));
        if (!in.name.empty())
          std::printf(" %s", in.name.c_str());
        if (in.kind == InputSpec::Kind::Data || in.kind == InputSpec::Kind::Tensor)
          std::printf(" %s", shapeString(in.shape).c_str());
        if (in.defaultValue)
          std::printf(" = %g", *in.defaultValue);
        if (in.prior)
          std::printf(" ~ %s", in.prior->c_str());
        std::printf(",");
      }
      std::printf(" ->");
      for (const Shape &s : e.outputs)
        std::printf(" %s", shapeString(s).c_str());
      if (e.step)
        std::printf("; step %s", e.step->c_str());
      if (e.player)
        std::printf("; player %s", e.player->c_str());
      if (e.batch)
        std::printf("; batch %lld", (long long)*e.batch);
      if (e.k)
        std::printf("; k %lld", (long long)*e.k);
      if (e.value)
        std::printf("; value %s", e.value->c_str());
      if (e.prior)
        std::printf("; prior %s", e.prior->c_str());
      std::printf("\n");
    }
    while (!text.empty() && text.back() == '\n')
      text.pop_back();
    std::printf("written back: %s\n", toJson(m) == text ? "the same" : "different");
    return 0;
  }
  if (cmd == "fashion-png" && argc == 5) {
    Dataset d;
    if (Status s = loadFashionMnist(path, "train", d); !s)
      return fail(s);
    int n = std::atoi(argv[4]);
    if (n < 1 || n > d.count)
      return fail(Status::error("N must be between 1 and the number of images"));
    if (Status s = writeImageGrid(argv[3], d.images.data(), n, d.height, d.width, 10); !s)
      return fail(s);
    std::printf("wrote %s\n", argv[3]);
    return 0;
  }
  if (cmd == "png" && argc == 5) {
    int n = std::atoi(argv[3]), cols = std::atoi(argv[4]);
    std::vector<float> images(std::max(n, 0) * 28 * 28);
    for (int k = 0; k < n; ++k)
      for (int i = 0; i < 28; ++i)
        for (int j = 0; j < 28; ++j)
          images[(k * 28 + i) * 28 + j] = (float)((i + j + k) % 28) / 27.0f;
    if (Status s = writeImageGrid(path, images.data(), n, 28, 28, cols); !s)
      return fail(s);
    std::printf("wrote %s\n", path.c_str());
    return 0;
  }
  // The scratch cache (gmrt/scratch.h): "reuse" frees and reallocates
  // blocks of one size and prints the counters; "double-free" and "foreign"
  // free what is not a live block, which must stop the program.
  if (cmd == "scratch") {
    if (path == "reuse") {
      void *a = gmrt_alloc(1000), *b = gmrt_alloc(1000);
      gmrt_free(a);
      void *c = gmrt_alloc(990); // same 64-byte class: a's block again
      gmrt_free(b);
      gmrt_free(c);
      gmrt::ScratchStats s = gmrt::scratchStats();
      std::printf("same block %d, aligned %d, allocs %llu, system %llu, in use %llu, peak %llu, "
                  "held %llu\n",
                  a == c, (int)((uintptr_t)a % 64 == 0), (unsigned long long)s.allocs,
                  (unsigned long long)s.systemAllocs, (unsigned long long)s.inUse,
                  (unsigned long long)s.peak, (unsigned long long)s.held);
      gmrt::trimScratch();
      std::printf("held after trim %llu\n", (unsigned long long)gmrt::scratchStats().held);
      return 0;
    }
    if (path == "double-free") {
      void *a = gmrt_alloc(100);
      gmrt_free(a);
      gmrt_free(a);
      return 0;
    }
    if (path == "foreign") {
      static char buffer[256] = {};
      gmrt_free(buffer + 128);
      return 0;
    }
  }
  // The entry points of parallel loops (abi.h), driven as OpenMPIRBuilder's
  // code drives them: fork a team, each thread takes its static share of
  // [0, N). Prints whether every iteration ran exactly once, how many
  // threads took part, and whether each thread's share was contiguous.
  if (cmd == "omp" && argc == 5) {
    int threads = std::atoi(argv[2]);
    uint64_t n = std::strtoull(argv[3], nullptr, 10);
    int cond = std::atoi(argv[4]);
    omp_set_num_threads(threads);
    struct Loop {
      uint64_t n;
      std::vector<int> owner;
      std::vector<int> runs;
      int lasts = 0;
    } loop{n, std::vector<int>(n, -1), std::vector<int>(n, 0)};
    auto body = [](int32_t *tid, int32_t *, void *arg) {
      auto *l = static_cast<Loop *>(arg);
      int32_t gtid = gmrt_omp_global_thread_num(nullptr);
      int32_t last = 0;
      uint64_t lower = 0, upper = l->n - 1;
      int64_t stride = 1;
      gmrt_omp_for_static_init_8u(nullptr, gtid, 34, &last, &lower, &upper, &stride, 1, 0);
      for (uint64_t i = lower; i != upper + 1; ++i) {
        l->owner[i] = *tid;
        __atomic_add_fetch(&l->runs[i], 1, __ATOMIC_RELAXED);
      }
      if (last)
        __atomic_add_fetch(&l->lasts, 1, __ATOMIC_RELAXED);
      gmrt_omp_for_static_fini(nullptr, gtid);
    };
    gmrt_omp_fork_call_if(nullptr, 1, reinterpret_cast<void *>(+body), cond, &loop);
    bool once = std::all_of(loop.runs.begin(), loop.runs.end(), [](int r) { return r == 1; });
    std::set<int> used(loop.owner.begin(), loop.owner.end());
    bool contiguous = true;
    for (uint64_t i = 1; i < n; ++i)
      contiguous &= loop.owner[i] >= loop.owner[i - 1];
    std::printf("iterations %llu, each once %d, threads %zu, contiguous %d, last %d\n",
                (unsigned long long)n, (int)once, used.size(), (int)contiguous, loop.lasts);
    return 0;
  }
  return usage();
}
