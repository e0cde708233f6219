//===- artifact.cpp - loading gmc's artifacts and calling their entries ---===//
//
// The manifest is read by manifest.h's fromJson, the schema gmc writes with;
// this file adds the file name to its messages, checks the ELF file before
// dlopen trusts it, and describes buffers to generated code.
//
//===----------------------------------------------------------------------===//

#include "runtime/include/gmrt/artifact.h"

#include "runtime/include/gmrt/cpu.h"
#include "runtime/include/gmrt/io.h"
#include "runtime/include/gmrt/rng.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <elf.h>
#include <zlib.h>

namespace gmrt {

int64_t numel(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::string shapeString(const Shape &shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + (shape[i] < 0 ? std::string("?") : std::to_string(shape[i]));
  return s;
}

Status parseManifest(const std::string &text, const std::string &origin, Manifest &out) {
  auto bad = [&](const std::string &why) {
    return Status::error("'" + origin + "' has a malformed manifest (" + why + ")");
  };
  if (text.empty())
    return Status::error("'" + origin + "' has an empty manifest");
  std::string why;
  // fromJson checks types before reading values and so should not throw;
  // the catch keeps a nlohmann exception from ever leaving the runtime.
  try {
    if (!fromJson(text, out, why))
      return bad(why);
  } catch (const nlohmann::json::exception &e) {
    return bad(e.what());
  }
  return Status();
}

Artifact::~Artifact() {
  if (handle)
    dlclose(handle);
}

Status checkArtifactFile(const std::string &path, bool *hasChecksum) {
  std::string bytes;
  if (Status s = readFile(path, bytes); !s)
    return s;
  if (bytes.size() < 64 || bytes.compare(0, 4, "\x7f" "ELF") != 0)
    return Status::error("'" + path + "' is not a gm artifact (not an ELF shared library; " +
                         "write one with gmc MODEL.gm -o " + path + ")");
  // dlopen maps segments without checking them against the file's size: a
  // truncated library faults on first touch. Check the ELF tables first.
  auto cut = [&](const std::string &what) {
    return Status::error("'" + path + "' cannot be loaded (corrupt or truncated?): " + what);
  };
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_type != ET_DYN || eh.e_machine != EM_X86_64)
    return cut("not an x86-64 shared library");
  uint64_t size = bytes.size();
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > size ||
      (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > size - eh.e_phoff)
    return cut("its program headers lie outside the file");
  if (eh.e_shoff > size || (uint64_t)eh.e_shnum * eh.e_shentsize > size - eh.e_shoff)
    return cut("its section headers lie outside the file");
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, bytes.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
    if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset)
      return cut("segment " + std::to_string(i) + " runs past the end of the file");
  }
  // gmc's checksum trailer (abi.h); its absence is judged once the file is
  // known to be a gm artifact.
  if (hasChecksum)
    *hasChecksum = false;
  if (size >= GM_ARTIFACT_TRAILER_SIZE &&
      bytes.compare(size - GM_ARTIFACT_TRAILER_SIZE, 8, GM_ARTIFACT_TRAILER) == 0) {
    const auto *t = reinterpret_cast<const unsigned char *>(bytes.data()) + size - 8;
    uint32_t recorded = t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
    uint32_t actual = (uint32_t)crc32(crc32(0L, Z_NULL, 0),
                                      reinterpret_cast<const Bytef *>(bytes.data()),
                                      (uInt)(size - GM_ARTIFACT_TRAILER_SIZE));
    if (recorded != actual) {
      char detail[96];
      std::snprintf(detail, sizeof detail, "CRC-32 %08x recorded, %08x computed", recorded,
                    actual);
      return Status::error("'" + path + "' is corrupt: its checksum does not match its " +
                           "contents (" + detail + "; a damaged or partial copy?)");
    }
    if (hasChecksum)
      *hasChecksum = true;
  }
  return Status();
}

Status Artifact::load(const std::string &path, Artifact &out) {
  bool hasChecksum = false;
  if (Status s = checkArtifactFile(path, &hasChecksum); !s)
    return s;
  // dlopen needs a path with a slash to skip the library search.
  std::string where = path.find('/') == std::string::npos ? "./" + path : path;
  void *h = dlopen(where.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *why = dlerror();
    return Status::error("'" + path + "' cannot be loaded (corrupt or truncated?): " +
                         (why ? why : "unknown error"));
  }
  out.handle = h;
  out.path = path;
  auto *magic = static_cast<const char *>(dlsym(h, "gm_artifact_magic"));
  if (!magic || std::strcmp(magic, GM_ARTIFACT_MAGIC) != 0)
    return Status::error("'" + path + "' is a shared library but not a gm artifact");
  auto *version = static_cast<const int32_t *>(dlsym(h, "gm_abi_version"));
  if (!version || *version != GM_ABI_VERSION)
    return Status::error("'" + path + "' was written for artifact ABI version " +
                         (version ? std::to_string(*version) : std::string("?")) +
                         "; this gmrun reads version " + std::to_string(GM_ABI_VERSION) +
                         ": recompile it with this gmc");
  if (!hasChecksum)
    return Status::error("'" + path + "' has no checksum trailer (modified since gmc wrote "
                         "it, e.g. stripped?): recompile it with gmc");
  auto *manifest = static_cast<const char *>(dlsym(h, "gm_manifest"));
  if (!manifest)
    return Status::error("'" + path + "' has no manifest");
  out.manifestText = manifest;
  if (Status s = parseManifest(out.manifestText, path, out.manifest); !s)
    return s;
  // Before any generated code runs: an extension this CPU lacks would be an
  // illegal instruction in the middle of a step.
  if (Status s = checkCPU(path, out.manifest.target.cpu, out.manifest.target.isa); !s)
    return s;
  out.functions.clear();
  for (const EntrySpec &e : out.manifest.entries) {
    auto fn = reinterpret_cast<gm_entry_fn>(dlsym(h, e.symbol.c_str()));
    if (!fn)
      return Status::error("'" + path + "' lacks the symbol " + e.symbol + " of entry " + e.name);
    out.functions.push_back(fn);
  }
  // The PTX the manifest promises (gmc --target=cuda), there and text.
  out.cudaPTX.clear();
  for (const std::string &chip : out.manifest.target.cuda) {
    auto *ptx = static_cast<const char *>(dlsym(h, ("gm_cuda_ptx_" + chip).c_str()));
    if (!ptx || !std::strstr(ptx, "\n.version "))
      return Status::error("'" + path + "' lists CUDA kernels for " + chip + " but " +
                           (ptx ? "its gm_cuda_ptx_" + chip + " is not PTX text"
                                : "lacks the symbol gm_cuda_ptx_" + chip) +
                           ": recompile it with gmc --target=cuda");
    out.cudaPTX.push_back(ptx);
  }
  out.checkSites.clear();
  if (auto *sites = static_cast<const char *>(dlsym(h, "gm_check_sites")))
    for (const char *s = sites; *s; s += std::strlen(s) + 1)
      out.checkSites.push_back(s);
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : out.manifestText)
    hash = (hash ^ c) * 1099511628211ull;
  out.fingerprint = hash;
  return Status();
}

void State::init(const Manifest &m, uint64_t seed) {
  tensors.clear();
  for (size_t stream = 0; stream < m.state.size(); ++stream) {
    const StateSpec &s = m.state[stream];
    int64_t n = numel(s.shape);
    int64_t fanIn = s.shape.size() > 1 ? n / s.shape[0] : n;
    int64_t fanOut = s.shape.size() > 1 ? s.shape[0] : n;
    Floats t(n);
    for (int64_t i = 0; i < n; ++i) {
      double u = gmrt_uniform(seed, (uint32_t)stream, (uint64_t)i, 2) * 2 - 1;
      double v = 0;
      if (s.init == "ones")
        v = 1;
      else if (s.init == "normal")
        v = s.scale * gmrt_normal(seed, (uint32_t)stream, (uint64_t)i);
      else if (s.init == "uniform")
        v = s.scale * u;
      else if (s.init == "glorot_uniform")
        v = std::sqrt(6.0 / (double)(fanIn + fanOut)) * u;
      else if (s.init == "kaiming_uniform")
        v = std::sqrt(1.0 / (double)fanIn) * u;
      t[i] = (float)v;
    }
    tensors.push_back(std::move(t));
  }
}

void callEntry(const Artifact &art, const EntrySpec &entry, State &state,
               const std::vector<Buffer> &args) {
  const Manifest &m = art.manifest;
  std::vector<gm_memref> descs(state.tensors.size() + args.size());
  auto describe = [](gm_memref &d, void *data, const Shape &shape) {
    std::memset(&d, 0, sizeof d);
    d.allocated = d.aligned = data;
    size_t r = shape.size();
    int64_t stride = 1;
    for (size_t i = r; i-- > 0;) {
      d.shape_and_strides[i] = shape[i];
      d.shape_and_strides[r + i] = stride;
      stride *= shape[i];
    }
  };
  for (size_t i = 0; i < state.tensors.size(); ++i)
    describe(descs[i], state.tensors[i].data(), m.state[i].shape);
  // The caller's buffers are host memory: with a device's memory system
  // (gmrun --device cuda), the entry gets copies in memory the device reads
  // too, the inputs copied in and the outputs copied back. The copies are
  // kept for the next call (a training loop's shapes repeat; a managed
  // allocation costs far more than the copy), per thread, as entries may
  // run concurrently.
  bool stage = memorySystem().device;
  thread_local std::vector<std::pair<size_t, void *>> staging;
  if (stage && staging.size() < args.size())
    staging.resize(args.size(), {0, nullptr});
  auto bytes = [&](size_t i) {
    int64_t n = 1;
    for (int64_t d : args[i].shape)
      n *= d;
    bool key = i < entry.inputs.size() && entry.inputs[i].kind == InputSpec::Kind::Key;
    return (size_t)n * (key ? sizeof(int64_t) : sizeof(float));
  };
  for (size_t i = 0; i < args.size(); ++i) {
    void *data = args[i].data;
    if (stage) {
      auto &[size, copy] = staging[i];
      if (size < bytes(i)) {
        memoryFree(copy);
        copy = memoryAllocate(bytes(i));
        size = copy ? bytes(i) : 0;
        if (!copy)
          throw std::bad_alloc();
      }
      if (i < entry.inputs.size())
        std::memcpy(copy, data, bytes(i));
      data = copy;
    }
    describe(descs[state.tensors.size() + i], data, args[i].shape);
  }
  std::vector<void *> ptrs(descs.size());
  for (size_t i = 0; i < descs.size(); ++i)
    ptrs[i] = &descs[i];
  art.function(entry)(ptrs.data());
  for (size_t i = entry.inputs.size(); i < args.size() && stage; ++i)
    std::memcpy(args[i].data, staging[i].second, bytes(i));
}

} // namespace gmrt
