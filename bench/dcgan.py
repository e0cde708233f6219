#!/usr/bin/env python3
"""gm against PyTorch on the DCGAN training step, in one run, on this machine.

    python3 bench/dcgan.py [--steps N] [--threads T] [--batch B] [--sample N]

Compiles models/dcgan/dcgan.gm (timed), trains it for N steps with gmrun at
batch B (default 64, as the issue's peer), then trains the same networks in
PyTorch (bench/dcgan_peer.py: same layers, initialisation N(0, 0.02),
non-saturating loss, Adam(2e-4, beta1 0.5), one discriminator and one
generator step per batch) with the same threads, pinned to the same cores,
with its default BLAS and with Debian's OpenBLAS forced (the faster kept).
Prints both sides' training images/s (the first steps excluded on both
sides: gm's first step allocates, PyTorch's first runs its dispatcher), the
GEMM and convolution kernels gm used, and the ratio; then both sides'
sampling images/s (the generator on --sample latents in one call, after a
warm-up call, on both sides), and each process's peak resident memory.

Needs: scripts/build.sh gmc gmrun; apt install python3-torch python3-numpy.
"""
import argparse, os, subprocess

from common import (BIN, WORK, best_peer, compile_model, cpu_model, gm_sample, gm_train,
                    peer_desc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--sample", type=int, default=1000)
    a = ap.parse_args()
    artifact, compile_s = compile_model("dcgan")
    run_dir = os.path.join(WORK, "dcgan-run")
    gm_ips, metrics = gm_train(artifact, run_dir, a.steps, a.batch, a.threads)
    # Sampling: G on --sample latents in one call (gmrun prints the time of
    # the generate entry alone), as the peer: the fastest of 5 calls after a
    # first.
    gm_sample_ips = gm_sample(artifact, os.path.join(run_dir, "checkpoint.safetensors"),
                              a.sample, a.threads, os.path.join(WORK, "dcgan-samples.png"))
    system = subprocess.run([os.path.join(BIN, "gmrun"), "system"], capture_output=True,
                            text=True).stdout
    gemm = next((l for l in system.splitlines() if l.startswith("gemm:")), "gemm: ?")
    conv = next((l for l in system.splitlines() if l.startswith("conv:")), "conv: ?")
    p = best_peer("dcgan_peer.py", ["--steps", str(a.steps), "--warm", "5", "--batch",
                                    str(a.batch), "--sample", str(a.sample)], a.threads)

    print("machine: %s, %d thread(s) pinned to core(s) 0-%d" % (cpu_model(), a.threads,
                                                              a.threads - 1))
    print("gm %s" % gemm)
    print("gm %s" % conv)
    print("%s; mkldnn %s" % (peer_desc(p), p["mkldnn"]))
    print("gmc compile (dcgan.gm -> artifact): %.2f s" % compile_s)
    print("DCGAN train, batch %d, %d steps after 5 warm-up: gm %.0f images/s, PyTorch %.0f "
          "images/s: gm/PyTorch = %.2fx" % (a.batch, a.steps, gm_ips, p["images_per_s"],
                                            gm_ips / p["images_per_s"]))
    print("DCGAN sampling, %d latents at once: gm %.0f images/s, PyTorch %.0f images/s: "
          "gm/PyTorch = %.2fx" % (a.sample, gm_sample_ips, p["sample_images_per_s"],
                                  gm_sample_ips / p["sample_images_per_s"]))
    print("DCGAN peak memory: gm %.0f MB (of which %.1f MB the step's scratch), PyTorch %.0f MB"
          % (metrics["peak_memory_mb"], metrics["scratch_mb"], p["peak_memory_mb"]))


if __name__ == "__main__":
    main()
