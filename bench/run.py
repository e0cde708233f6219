#!/usr/bin/env python3
"""Every gm benchmark in one run, on this machine, as one table.

    python3 bench/run.py [--threads 1,2] [--epochs N] [--steps N] [--quick] [--compile]

Runs bench/vae.py (VAE training against PyTorch 1.13 on OpenBLAS, and
JAX's jit where this Python has jax),
bench/dcgan.py (DCGAN training at batch 64 and sampling at 1000 latents
against PyTorch 1.13 with oneDNN), bench/models.py (the MLP GAN and the
beta-VAE, training at batch 64 and sampling 1000) and bench/nade.py (NADE training at batch
100 and ancestral sampling of 1000 images against PyTorch's loop over
pixels) at each thread count, each pinned to the
same cores as its peer, and times gmc on every model in models/. Prints one
table (gm, the peers, the ratio to the faster, the issue's target), each
process's peak memory, the VAE
step's GFLOP/s against the FMA peak and its GEMM-only floor, each side's speed-up
from 1 thread to the most threads asked for, and which peers are not
installed here. --quick: 1 epoch / 30 steps, threads 1 only. --compile: only
the gmc table (every model at -j 1 and at gmc's default, a thread per core).

Needs: scripts/build.sh gmc gmrun (and gm-bench-gemm for the VAE's GEMM
floor); apt install python3-torch python3-numpy libopenblas0-openmp.
"""
import argparse, glob, os, re, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")


def run(args):
    out = subprocess.run([sys.executable] + args, capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        sys.exit("failed: %s\n%s%s" % (" ".join(args), out.stdout, out.stderr))
    return out.stdout


def ratio(line):
    """(gm, peer) images/s from a '... gm X images/s, PyTorch Y images/s ...' line."""
    m = re.search(r"gm ([0-9.]+) images/s, PyTorch ([0-9.]+) images/s", line)
    return float(m.group(1)), float(m.group(2))


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def peer_versions():
    """Which peers this machine has, by interpreter."""
    found, missing = [], []
    for py, what in (("/usr/bin/python3", "Debian's"), (sys.executable, "this Python's")):
        for mod in ("torch", "jax"):
            out = subprocess.run([py, "-c", "import %s; print(%s.__version__)" % (mod, mod)],
                                 capture_output=True, text=True)
            (found if out.returncode == 0 else missing).append(
                "%s %s %s" % (what, mod, out.stdout.strip() if out.returncode == 0 else ""))
    return found, missing


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--compile", action="store_true", help="only the gmc table")
    a = ap.parse_args()
    if a.quick:
        a.threads, a.epochs, a.steps = "1", 1, 30
    rows, header, memory = [], [], []
    for t in ([] if a.compile else [int(x) for x in a.threads.split(",")]):
        vae = run(["bench/vae.py", "--epochs", str(a.epochs), "--threads", str(t)])
        gm, peer = ratio(next(l for l in vae.splitlines() if l.startswith("training speed")))
        jax = [float(m.group(1)) for m in (re.match(r"JAX \S+ jit: ([0-9.]+) images/s", l)
                                           for l in vae.splitlines()) if m]
        rows.append(("VAE train, batch 128, %d thread(s)" % t, gm, peer, "2x", jax[0] if jax else None))
        dc = run(["bench/dcgan.py", "--steps", str(a.steps), "--threads", str(t)])
        lines = dc.splitlines()
        gm, peer = ratio(next(l for l in lines if l.startswith("DCGAN train")))
        rows.append(("DCGAN train, batch 64, %d thread(s)" % t, gm, peer, "2x", None))
        gm, peer = ratio(next(l for l in lines if l.startswith("DCGAN sampling")))
        rows.append(("DCGAN sampling, 1000 latents, %d thread(s)" % t, gm, peer, "2x", None))
        if not header:
            header = [l for l in lines if l.startswith(("machine", "gm gemm", "gm conv", "PyTorch"))]
        memory += [l for l in vae.splitlines() + lines if " peak memory: " in l] if t == 1 else []
        ms = run(["bench/models.py", "--steps", str(a.steps), "--threads", str(t)]).splitlines()
        for title in ("MLP GAN", "beta-VAE"):
            gm, peer = ratio(next(l for l in ms if l.startswith(title + " train")))
            rows.append(("%s train, batch 64, %d thread(s)" % (title, t), gm, peer, ">1x", None))
            gm, peer = ratio(next(l for l in ms if l.startswith(title + " sampling")))
            rows.append(("%s sampling, 1000, %d thread(s)" % (title, t), gm, peer, ">1x", None))
        memory += [l for l in ms if " peak memory: " in l] if t == 1 else []
        nd = run(["bench/nade.py", "--steps", str(a.steps), "--threads", str(t)])
        lines = nd.splitlines()
        gm, peer = ratio(next(l for l in lines if l.startswith("NADE train")))
        rows.append(("NADE train, batch 100, %d thread(s)" % t, gm, peer, "10x", None))
        gm, peer = ratio(next(l for l in lines if l.startswith("NADE ancestral")))
        rows.append(("NADE sampling, 1000 images, %d thread(s)" % t, gm, peer, "5x", None))
    # gmc on one thread (-j 1) and on its default, one per core it may use.
    compile_rows = []
    for model in sorted(glob.glob(os.path.join(ROOT, "models", "*", "*.gm"))):
        out = os.path.join(ROOT, "out", "bench", os.path.basename(model) + "x")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        seconds = []
        for jobs in (["-j", "1"], []):
            t0 = time.perf_counter()
            r = subprocess.run([os.path.join(BIN, "gmc"), model, "-o", out] + jobs,
                               capture_output=True, text=True)
            seconds.append(time.perf_counter() - t0)
        size = os.path.getsize(out) if r.returncode == 0 and os.path.exists(out) else None
        compile_rows.append((os.path.basename(model), seconds, size))

    for l in header:
        print(l)
    if rows:
        print()
        print("%-44s %12s %12s %10s %10s %8s" % ("workload (images/s)", "gm", "PyTorch 1.13",
                                                  "JAX jit", "gm/best", "target"))
    # The ratio is against the fastest peer measured for the workload.
    for name, gm, peer, target, jax in rows:
        print("%-44s %12.0f %12.0f %10s %9.2fx %8s" % (
            name, gm, peer, "%.0f" % jax if jax else "-", gm / max(peer, jax or 0), target))
    # Peak resident memory of each process at one thread: both sides hold
    # Fashion-MNIST's images as floats; gm's scratch is what its step's
    # arena holds at most.
    if memory:
        print()
        for l in memory:
            print(l)
    # The VAE step against the machine: its products alone, back to back on
    # one thread with oneDNN (gm-bench-gemm --vae-step), bound every
    # implementation on the same kernels; the FMA peak bounds everything.
    floor_bin = os.path.join(BIN, "gm-bench-gemm")
    vae1 = [r for r in rows if r[0] == "VAE train, batch 128, 1 thread(s)"]
    if vae1 and os.path.exists(floor_bin):
        out = subprocess.run(["taskset", "-c", "0", floor_bin, "--vae-step", "--reps", "50"],
                             capture_output=True, text=True).stdout
        m = re.search(r"([0-9.]+) MFLOP, ([0-9.]+) GFLOP/s, floor ([0-9]+) images/s; "
                      r"FMA peak ([0-9.]+) GFLOP/s", out)
        mflop, gemm_gflops, floor, peak = (float(x) for x in m.groups())
        _, gm, peer, _, jax = vae1[0]
        print()
        print("VAE step, 1 thread: %.0f MFLOP per batch of 128 (its products); FMA peak %.1f "
              "GFLOP/s; oneDNN runs the products alone at %.1f GFLOP/s, a floor of %.0f "
              "images/s" % (mflop, peak, gemm_gflops, floor))
        for who, ips in (("gm", gm), ("PyTorch 1.13", peer), ("JAX jit", jax)):
            if ips:
                gflops = ips / 128 * mflop / 1e3
                print("  %-13s %6.1f GFLOP/s = %3.0f%% of FMA peak, %3.0f%% of the GEMM floor%s"
                      % (who, gflops, 100 * gflops / peak, 100 * ips / floor,
                         " (target: 85%)" if who == "gm" else ""))
    elif vae1:
        print("\n(no GEMM floor: scripts/build.sh gm-bench-gemm builds it)")
    # Each workload at its largest thread count against one thread, on both
    # sides (issue 10's target for gm: 1.6x at 2 threads).
    counts = sorted(int(x) for x in a.threads.split(","))
    if rows and len(counts) > 1 and counts[0] == 1:
        print()
        print("%-44s %12s %12s %8s" % ("%d threads / 1 thread" % counts[-1], "gm",
                                       "PyTorch 1.13", "target"))
        by = {name: (gm, peer) for name, gm, peer, _, _ in rows}
        for name, gm1, peer1, _, _ in rows:
            if not name.endswith(", 1 thread(s)"):
                continue
            base = name[:-len(", 1 thread(s)")]
            gmn, peern = by[base + ", %d thread(s)" % counts[-1]]
            print("%-44s %11.2fx %11.2fx %8s" % (base, gmn / gm1, peern / peer1, "1.6x"))
    print()
    print("%s, %d cores for gmc" % (cpu_name(), len(os.sched_getaffinity(0))))
    print("%-20s %10s %10s %12s   (target: < 1 s)" % ("gmc MODEL.gm -o X", "-j 1 (s)",
                                                      "default (s)", "artifact"))
    for name, (one, default), size in compile_rows:
        print("%-20s %10.2f %10.2f %12s" % (name, one, default,
                                             "%d B" % size if size else "(no native code)"))
    if a.compile:
        return
    found, missing = peer_versions()
    print()
    print("peers found: " + ("; ".join(found) or "none"))
    print("peers not installed here (not measured): " + "; ".join(m.strip() for m in missing))


if __name__ == "__main__":
    main()
