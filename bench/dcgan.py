#!/usr/bin/env python3
"""gm against PyTorch on the DCGAN training step, in one run, on this machine.

    python3 bench/dcgan.py [--steps N] [--threads T] [--batch B] [--sample N]

Compiles models/dcgan/dcgan.gm (timed), trains it for N steps with gmrun at
batch B (default 64, as the issue's peer), then trains the same networks in
PyTorch (bench/dcgan_peer.py: same layers, initialisation N(0, 0.02),
non-saturating loss, Adam(2e-4, beta1 0.5), one discriminator and one
generator step per batch) with the same threads, pinned to the same cores.
Prints both sides' training images/s (the first steps excluded on both
sides: gm's first step allocates, PyTorch's first runs its dispatcher), the
GEMM and convolution kernels gm used, and the ratio; then both sides'
sampling images/s (the generator on --sample latents in one call, after a
warm-up call, on both sides).

Needs: scripts/build.sh gmc gmrun; apt install python3-torch python3-numpy.
"""
import argparse, json, os, re, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--sample", type=int, default=1000)
    a = ap.parse_args()
    cores = ",".join(str(c) for c in range(a.threads))
    work = os.path.join(ROOT, "out", "bench")
    os.makedirs(work, exist_ok=True)
    artifact = os.path.join(work, "dcgan.gmx")
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads))

    t = time.perf_counter()
    subprocess.run([os.path.join(BIN, "gmc"), os.path.join(ROOT, "models/dcgan/dcgan.gm"),
                    "-o", artifact], check=True)
    compile_s = time.perf_counter() - t

    # gm: two runs, `warm` steps and `warm + steps`; the difference is the
    # steady-state time of `steps` steps.
    def gm_seconds(steps):
        out = subprocess.run(["taskset", "-c", cores, os.path.join(BIN, "gmrun"), "train", artifact,
                              "--steps", str(steps), "--batch", str(a.batch), "--quiet",
                              "--threads", str(a.threads), "--out", os.path.join(work, "dcgan-run")],
                             env=env, capture_output=True, text=True)
        if out.returncode:
            sys.exit("gmrun failed:\n" + out.stderr)
        line = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")][-1]
        return line["train_seconds"]
    warm = 5
    gm_s = gm_seconds(warm + a.steps) - gm_seconds(warm)
    # Sampling: G on --sample latents in one call (gmrun prints the time of
    # the generate entry alone). As the peer: a call to warm up, then the
    # best of 5 (--repeat 6); the best of 3 such runs.
    def gm_sample():
        out = subprocess.run(["taskset", "-c", cores, os.path.join(BIN, "gmrun"), "sample", artifact,
                              "--checkpoint", os.path.join(work, "dcgan-run", "checkpoint.safetensors"),
                              "--n", str(a.sample), "--repeat", "6", "--threads", str(a.threads),
                              "--out", os.path.join(work, "dcgan-samples.png")],
                             env=env, capture_output=True, text=True)
        if out.returncode:
            sys.exit("gmrun sample failed:\n" + out.stderr)
        return float(re.search(r"\(steady ([0-9.]+) images/s\)", out.stderr).group(1))
    gm_sample_ips = max(gm_sample() for _ in range(3))
    system = subprocess.run([os.path.join(BIN, "gmrun"), "system"], capture_output=True,
                            text=True).stdout
    gemm = next((l for l in system.splitlines() if l.startswith("gemm:")), "gemm: ?")
    conv = next((l for l in system.splitlines() if l.startswith("conv:")), "conv: ?")

    peer = subprocess.run(["taskset", "-c", cores, "/usr/bin/python3",
                           os.path.join(ROOT, "bench/dcgan_peer.py"), "--steps", str(a.steps),
                           "--warm", str(warm), "--batch", str(a.batch), "--threads",
                           str(a.threads), "--sample", str(a.sample)], env=env,
                          capture_output=True, text=True)
    if peer.returncode:
        sys.exit("the peer failed:\n" + peer.stderr)
    p = json.loads(peer.stdout.splitlines()[-1])

    gm_ips = a.steps * a.batch / gm_s
    print("machine: %s, %d thread(s) pinned to core(s) %s" % (
        next(l.split(":")[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
        a.threads, cores))
    print("gm %s" % gemm)
    print("gm %s" % conv)
    print("PyTorch %s, mkldnn %s" % (p["version"], p["mkldnn"]))
    print("gmc compile (dcgan.gm -> artifact): %.2f s" % compile_s)
    print("DCGAN train, batch %d, %d steps after %d warm-up: gm %.0f images/s, PyTorch %.0f "
          "images/s: gm/PyTorch = %.2fx" % (a.batch, a.steps, warm, gm_ips, p["images_per_s"],
                                            gm_ips / p["images_per_s"]))
    print("DCGAN sampling, %d latents at once: gm %.0f images/s, PyTorch %.0f images/s: "
          "gm/PyTorch = %.2fx" % (a.sample, gm_sample_ips, p["sample_images_per_s"],
                                  gm_sample_ips / p["sample_images_per_s"]))


if __name__ == "__main__":
    main()
