//===- main.cpp - gmrun: train, sample and evaluate gm artifacts -----------===//
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

#include "runtime/tools/gmrun/gmrun.h"

#include "runtime/include/gmrt/artifact.h"
#include "runtime/include/gmrt/cpu.h"
#include "runtime/include/gmrt/cuda.h"
#include "runtime/include/gmrt/scratch.h"
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

const char *kUsage = R"(usage: gmrun COMMAND ARTIFACT [options]

commands:
  train     train on the data, checkpoint, one JSON line of metrics per epoch
  eval      test-set -ELBO and IWAE bound (nats per image) of a checkpoint, a
            classifier's accuracy
  score     log p(x) (or its bound) of every image, as .npy; mean in nats
            and bits per dimension
  anomaly   one-class anomaly detection on Fashion-MNIST: per class, train
            on it alone, score the test set, ROC-AUC of -log p(x)
  sample    PNG grid of samples: decoded from the prior, or an
            autoregressive model's exact ancestral samples (--reconstruct:
            test images and their reconstructions)
  traverse  PNG grid varying one latent dimension per row
  fid       sample quality against the test set through a gm classifier's
            features: FID, KID, Inception-score analogue, class coverage
  encode    posterior means of a data split as .npy (an adversarial
            autoencoder: its encoder's codes; FILE.png draws 2-D codes by
            class, over the prior's density when the model has @prior.z)
  translate test images of one domain through an image-to-image
            generator (CycleGAN): a PNG of inputs above their translations;
            a generator of several target domains (StarGAN) fills a row per
            domain
  info      what the artifact contains
  run       run one entry on seeded inputs (conformance checks)
  system    this machine: CPU, ISA level and extensions, the GEMM kernel,
            the CUDA driver and GPUs (no artifact)
  cuda-check  load an artifact's CUDA kernels (gmc --target=cuda) on a GPU
            through the driver (--device-index N [0])

options (defaults in brackets):
  --seed S              parameters, data order and noise [1]
  --data PATH           Fashion-MNIST folder, or an .npy array [)" GMRT_FMNIST_DIR R"(]
  --threads N           threads for products, convolutions and large loops [1]
  --device cpu|cuda     where the kernels run [cpu]; cuda (an artifact built
                        with gmc --target=cuda) launches them on GPU
                        --device-index N [0], products, convolutions and the
                        entries' glue staying on the CPU (docs/cuda.md)
  --checkpoint FILE     checkpoint to read (eval, sample, traverse, encode)
  --keep-denormals      compute with denormal floats (default: flushed to zero)
  --quiet               no progress bar
  train:    --epochs N [1] | --steps N, --out DIR [gm-run], --resume, --batch B
            [model's], --lr X, --hparam [WHO:]NAME=X, --checkpoint-every N [500],
            --check-numerics (stop at the first NaN or Inf any op computes
            and name the op; without it, a loss or parameter that turns NaN
            or Inf re-runs the steps from the last good checkpoint with the
            checks on, to name the op)
            (every training block runs once per batch, in source order; a
            minimax game runs its discriminator every batch and its generator
            every k-th; WHO is a block, a player, or BLOCK.PLAYER; every
            10 steps each player's mean loss goes to DIR/losses.csv, drawn
            as DIR/losses.png after each epoch; a model with a latent
            decoder also writes DIR/samples-epoch-N.png, the same 64
            latents after each epoch; a progressive GAN trains all its
            stages by default and sets each fade's alpha.R from its
            schedule)
  eval:     --k K [the model's], --batch B [100]
  score:    --input FILE (IDX or .npy images) [the test split], --out FILE.npy
            [scores.npy], --objective NAME [exact log p(x), else IWAE, else
            ELBO], --k K, --batch B [100]
  anomaly:  --classes C,C,... [0,...,9], --out DIR [gm-anomaly] (a run per
            class in DIR/class-C; --resume continues them), train's options
            (--epochs, --steps, --batch, --lr, ...), --objective, --k
  train:    --class C (one Fashion-MNIST class only, 0..9)
  sample:   --n N [64], --out FILE.png|FILE.npy [samples.png] (.npy: the values,
            one row per image), --reconstruct; for a conditional generator
            --code NAME=V[,NAME=V] (InfoGAN's category c=3), --label L (an
            index or a class name), --caption "a dark ankle boot"; each left
            unset varies by class, one row per class [n: 8 per class];
            --hparam NAME=X (a progressive GAN's alpha.28=0: the stage
            before 28x28) (also fid's options); --sweep NAME[.D] runs
            dimension D [0] of a continuous code (InfoGAN's style) from
            -R to R (--range R [2]) along each row of --columns C [9],
            everything else fixed along the row; --repeat R [1] draws the
            same samples R times and also reports the fastest call after the
            first (the speed once oneDNN's kernels are generated and the
            memory touched: what a benchmark compares; not with
            --reconstruct)
  traverse: --index I [0], --range R [3], --columns C [9], --out FILE.png
  fid:      --classifier FILE.gmx, --classifier-checkpoint FILE (models/classifier),
            --checkpoint FILE and --n N [10000] to sample the artifact, or
            --samples FILE.npy (no artifact) to score images
  encode:   --split train|test [test], --out FILE.npy|FILE.png [latents.npy]
  translate: --from DATA [the first domain], --n N [32; 8 into each of several
            domains], --out FILE.png|FILE.npy [translate.png], --code c=K (one
            target domain of a generator of several), --classifier FILE.gmx
            and --classifier-checkpoint FILE (how often the yardstick sees
            the target class)
  run:      --entry NAME, --batch B [2], --steps N [1] (N > 1 prints the first
            result after each step as a trajectory), --print-param NAME,
            --hparam NAME=X
)";

Args parseArgs(int argc, char **argv) {
  static const std::set<std::string> valued = {
      "seed", "data", "threads", "checkpoint", "epochs", "steps", "out", "batch", "lr",
      "hparam", "checkpoint-every", "k", "n", "index", "range", "columns", "split", "entry", "from",
      "print-param", "input", "objective", "classes", "class", "classifier",
      "classifier-checkpoint", "samples", "code", "label", "caption", "sweep", "device-index",
      "device", "repeat"};
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
  if (pos.size() < 2 && a.command != "fid") // fid may score --samples instead
    die("'" + a.command + "' needs an artifact: gmrun " + a.command + " MODEL.gmx");
  if (pos.size() > 2)
    die("unexpected argument '" + pos[2] + "'");
  if (pos.size() > 1)
    a.artifact = pos[1];
  return a;
}

int infoCommand(const Artifact &art) {
  const Manifest &m = art.manifest;
  int64_t params = 0, slots = 0, stats = 0;
  for (const StateSpec &s : m.state)
    (s.statistic ? stats : s.slotOf.empty() ? params : slots) += numel(s.shape);
  std::printf("model %s: %" PRId64 " parameters, %" PRId64 " optimizer values", m.model.c_str(),
              params, slots);
  if (stats)
    std::printf(", %" PRId64 " running statistics", stats);
  std::printf("\n");
  std::string isa;
  for (const std::string &e : m.target.isa)
    isa += " " + e;
  std::printf("target %s:%s\n", m.target.cpu.c_str(),
              isa.empty() ? " (x86-64 baseline)" : isa.c_str());
  if (!m.target.cuda.empty()) {
    std::string chips;
    for (const std::string &c : m.target.cuda)
      chips += " " + c;
    std::printf("cuda kernels (PTX):%s (--device cuda runs them on a GPU)\n",
                chips.c_str());
  }
  for (const DataSpec &d : m.data)
    std::printf("data %s %s %s from %s\n", d.name.c_str(), shapeString(d.shape).c_str(),
                d.kind.c_str(), d.source.empty() ? "-" : d.source.c_str());
  for (const StateSpec &s : m.state)
    std::printf("%s %s %s%s%s\n",
                s.statistic ? "statistic" : s.slotOf.empty() ? "param" : "slot", s.name.c_str(),
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
  // The CUDA driver, if any: gmrun loads it only to report it here and for
  // cuda-check; the CPU path never needs it.
  gmrt::CudaDriver cuda;
  if (Status s = gmrt::CudaDriver::load(cuda); !s) {
    std::printf("cuda: %s\n", s.message().c_str());
  } else {
    std::printf("cuda: driver %d.%d (%s), %zu device(s)\n", cuda.version() / 1000,
                cuda.version() % 1000 / 10, cuda.library().c_str(), cuda.devices().size());
    for (size_t i = 0; i < cuda.devices().size(); ++i)
      std::printf("cuda: device %zu: %s, sm_%d%d\n", i, cuda.devices()[i].name.c_str(),
                  cuda.devices()[i].major, cuda.devices()[i].minor);
  }
  return 0;
}

/// Loads the artifact's PTX on a CUDA device (--device-index N, default 0)
/// through the driver's JIT and resolves every kernel: the part of the CUDA
/// path that needs no training data (docs/cuda.md).
int cudaCheckCommand(const Args &a, const Artifact &art) {
  gmrt::CudaDriver cuda;
  check(gmrt::CudaDriver::load(cuda));
  if (cuda.devices().empty())
    die("the CUDA driver (" + cuda.library() + ") sees no GPU");
  int device = (int)intOption(a, "device-index", 0, 0);
  std::string chip;
  std::vector<gmrt::CudaDriver::LoadedKernel> kernels;
  check(cuda.loadKernels(art, device, chip, kernels));
  int most = 0;
  for (const auto &k : kernels)
    most = std::max(most, k.registers);
  std::printf("cuda: %zu kernels of the %s PTX load on device %d (%s); at most %d registers a "
              "thread\n",
              kernels.size(), chip.c_str(), device, cuda.devices()[device].name.c_str(), most);
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
  // --hparam NAME=X (a progressive schedule's alpha.R: gm-eval's --alpha).
  for (const std::string &h : a.hparams) {
    size_t eq = h.find('=');
    if (eq == std::string::npos || e->find(InputSpec::Kind::HParam, h.substr(0, eq)) < 0)
      die("--hparam '" + h + "': '" + name + "' has no such hyper-parameter (NAME=VALUE)");
    Args one;
    one.values["v"] = h.substr(eq + 1);
    call.setHParam(h.substr(0, eq), realOption(one, "v", 0));
  }
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


} // namespace gmrun

using namespace gmrun;


int run(int argc, char **argv) {
  Args a = parseArgs(argc, argv);
  static const std::set<std::string> commands = {"train",  "eval",   "score", "anomaly",
                                                 "sample", "traverse", "encode", "info",
                                                 "run",    "system", "fid", "translate",
                                                 "cuda-check"};
  if (!commands.count(a.command))
    die("unknown command '" + a.command + "' (gmrun help lists them)");
  gmrt::setGemmThreads((int)intOption(a, "threads", 1));
  // A CPU pretended smaller (GMRUN_MAX_CPU_ISA) gets that level's GEMM
  // kernels too, so conformance at each level runs that level's products.
  if (!hostCPU().limit.empty())
    gmrt::limitGemmISA(hostCPU().level);
  // Entries' scratch tensors come from gmrt_alloc's cache (gmrt/scratch.h);
  // the host's own per-call buffers (oneDNN's reorders) stay in the heap
  // instead of going back to the kernel (each fresh mmap costs page faults
  // on every step).
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  // Denormal floats (tiny Adam moments and gradients late in training) are
  // ~100x slower on x86: flush them to zero, as GPUs do; training slowed by
  // a third without this (docs/codegen.md).
  if (!a.flags.count("keep-denormals"))
    _mm_setcsr(_mm_getcsr() | 0x8040); // FTZ | DAZ
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  if (a.command == "system")
    return systemCommand(a);
  if (a.command == "fid")
    return fidCommand(a);
  Artifact art;
  check(Artifact::load(a.artifact, art));
  if (a.command == "info")
    return infoCommand(art);
  if (a.command == "cuda-check")
    return cudaCheckCommand(a, art);
  check(checkStateFits(art));
  std::string device = a.get("device", "cpu");
  if (device == "cuda") {
    // Before any tensor is allocated: they all go to managed memory.
    gmrt::trimScratch();
    int index = (int)intOption(a, "device-index", 0, 0);
    check(gmrt::CudaExecutor::start(art, index));
    gmrt::CudaExecutor *e = gmrt::CudaExecutor::active();
    gmrt::setDeviceGemm([](int32_t ta, int32_t tb, int64_t m, int64_t n, int64_t k,
                           const float *x, int64_t lda, const float *y, int64_t ldb, float beta,
                           float *c, int64_t ldc) {
      return gmrt::CudaExecutor::active()->sgemm(ta, tb, m, n, k, x, lda, y, ldb, beta, c, ldc);
    });
    gmrt::setDeviceConv([](gmrt::ConvKind kind, const gmrt::ConvGeometry &g, const float *x,
                           const float *y, float *out) {
      return gmrt::CudaExecutor::active()->conv2d(kind, g, x, y, out);
    });
    // Where the work went, once the command is done.
    std::atexit([] {
      std::fprintf(stderr, "gmrun: on the CUDA device: %s\n",
                   gmrt::CudaExecutor::active()->summary().c_str());
    });
    std::fprintf(stderr, "gmrun: kernels on CUDA device %d (%s): %zu kernels of the %s PTX; "
                 "products: %s; convolutions: %s\n", index, e->device().name.c_str(),
                 e->kernels(), e->chip().c_str(), e->blasDescription().c_str(),
                 e->dnnDescription().c_str());
  } else if (device != "cpu") {
    die("--device expects cpu or cuda, got '" + device + "'");
  }
  if (a.command == "train")
    return train(a, art);
  if (a.command == "eval")
    return evalCommand(a, art);
  if (a.command == "score")
    return scoreCommand(a, art);
  if (a.command == "anomaly")
    return anomalyCommand(a, art);
  if (a.command == "sample")
    return sampleCommand(a, art);
  if (a.command == "traverse")
    return traverseCommand(a, art);
  if (a.command == "encode")
    return encodeCommand(a, art);
  if (a.command == "translate")
    return translateCommand(a, art);
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
