#!/usr/bin/env python3
"""gm against PyTorch on the MLP VAE, in one run, on this machine.

    python3 bench/vae.py [--epochs N] [--threads T]

Compiles models/vae/vae.gm with gmc (timed, median of 3), trains it with
gmrun, and trains the same model in PyTorch (bench/vae_peer.py: same data,
batch 128 with the last partial batch dropped, Adam 1e-3, one posterior
sample, same initialisation scheme) with the same number of BLAS threads,
pinned to the same cores, both flushing denormals to zero (gmrun's default;
--keep-denormals turns it off on both sides). Both use OpenBLAS with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE unset (AVX-512 kernels); the peer runs on Debian's OpenMP
OpenBLAS (python3-torch otherwise loads the netlib reference BLAS, 23x
slower), and the script prints the BLAS each process mapped. Prints both
sides' metrics per epoch, then the images/s ratio, the test -ELBO gap and
each process's peak resident memory.

Needs: scripts/build.sh gmc gmrun; apt install python3-torch python3-numpy
libopenblas0-openmp. With JAX in the running Python (pip install jax), also
bench/vae_jax.py: the same model and step under jax.jit, on the same cores.
"""
import argparse, json, os, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")


def env(threads):
    e = dict(os.environ)
    e.pop("OPENBLAS_CORETYPE", None)
    e.pop("OPENBLAS_L2_SIZE", None)
    e["OMP_NUM_THREADS"] = e["OPENBLAS_NUM_THREADS"] = str(threads)
    return e


def lines(cmd, e):
    out = subprocess.run(cmd, env=e, capture_output=True, text=True)
    if out.returncode:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), out.stderr))
    return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--keep-denormals", action="store_true",
                    help="both sides compute with denormals (default: both flush them to zero)")
    a = ap.parse_args()
    denormals = ["--keep-denormals"] if a.keep_denormals else []
    cores = ",".join(str(c) for c in range(a.threads))
    work = os.path.join(ROOT, "out", "bench")
    os.makedirs(work, exist_ok=True)
    artifact = os.path.join(work, "vae.gmx")

    compile_s = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([os.path.join(BIN, "gmc"), os.path.join(ROOT, "models/vae/vae.gm"),
                        "-o", artifact], check=True)
        compile_s.append(time.perf_counter() - t)

    ldd = subprocess.run(["ldd", os.path.join(BIN, "gmrun")], capture_output=True, text=True).stdout
    gm_blas = [os.path.realpath(l.split("=>")[1].split("(")[0].strip())
               for l in ldd.splitlines() if "blas" in l and "=>" in l]
    gm = lines(["taskset", "-c", cores, os.path.join(BIN, "gmrun"), "train", artifact,
                "--epochs", str(a.epochs), "--threads", str(a.threads), "--quiet",
                "--out", os.path.join(work, "run")] + denormals, env(a.threads))

    pe = env(a.threads)
    pe["LD_LIBRARY_PATH"] = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
    peer = lines(["taskset", "-c", cores, "/usr/bin/python3", os.path.join(ROOT, "bench/vae_peer.py"),
                  "--epochs", str(a.epochs), "--threads", str(a.threads)] + denormals, pe)
    peer_tail = peer.pop()
    peer_blas = peer_tail["blas"]
    if not any("openblas" in b for b in peer_blas):
        sys.exit("the peer did not load OpenBLAS (%s): its numbers would mean nothing" % peer_blas)

    # JAX, where this Python has it (pip install jax): the whole step one
    # jax.jit function, on the same cores.
    jx = None
    if subprocess.run([sys.executable, "-c", "import jax"], capture_output=True).returncode == 0:
        jx = lines(["taskset", "-c", cores, sys.executable, os.path.join(ROOT, "bench/vae_jax.py"),
                    "--epochs", str(a.epochs), "--threads", str(a.threads)], env(a.threads))

    print("machine: %s, %d thread(s) pinned to core(s) %s" % (
        next(l.split(":")[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
        a.threads, cores))
    print("denormals: %s on both sides" % ("kept" if a.keep_denormals else "flushed to zero"))
    print("gm BLAS:      %s" % ", ".join(gm_blas))
    print("PyTorch BLAS: %s" % ", ".join(b for b in peer_blas if "openblas" in b))
    print("gmc compile (vae.gm -> artifact): median %.2f s of %s" %
          (statistics.median(compile_s), ", ".join("%.2f" % s for s in compile_s)))
    print("%5s | %10s %10s %9s | %10s %10s %9s" % ("epoch", "gm loss", "gm -ELBO", "gm img/s",
                                                 "pt loss", "pt -ELBO", "pt img/s"))
    for g, p in zip(gm, peer):
        print("%5d | %10.2f %10.2f %9.0f | %10.2f %10.2f %9.0f" % (
            g["epoch"], g["train_loss"], g["test_neg_elbo"], g["images_per_s"],
            p["train_loss"], p["test_neg_elbo"], p["images_per_s"]))
    gs = statistics.median(g["images_per_s"] for g in gm)
    ps = statistics.median(p["images_per_s"] for p in peer)
    ge, pt = gm[-1]["test_neg_elbo"], peer[-1]["test_neg_elbo"]
    print("training speed: gm %.0f images/s, PyTorch %.0f images/s (median over epochs): gm/PyTorch = %.2fx"
          % (gs, ps, gs / ps))
    print("test -ELBO after %d epoch(s): gm %.2f, PyTorch %.2f nats: gm is %+.2f%%"
          % (a.epochs, ge, pt, 100 * (ge - pt) / pt))
    print("VAE peak memory: gm %.0f MB (of which %.1f MB the step's scratch), PyTorch %.0f MB"
          % (gm[-1]["peak_memory_mb"], gm[-1]["scratch_mb"], peer_tail["peak_memory_mb"]))
    if jx:
        js = statistics.median(j["images_per_s"] for j in jx)
        print("JAX %s jit: %.0f images/s (median over epochs), test -ELBO %.2f, first step "
              "(trace and XLA compile) %.2f s: gm/JAX = %.2fx"
              % (jx[0]["jax"], js, jx[-1]["test_neg_elbo"], jx[0]["compile_seconds"], gs / js))
    else:
        print("JAX: not installed for %s (pip install jax)" % sys.executable)


if __name__ == "__main__":
    main()
