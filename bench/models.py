#!/usr/bin/env python3
"""gm against PyTorch on the MLP GAN and the beta-VAE, in one run, on this machine.

    python3 bench/models.py [--model gan,beta_vae] [--steps N] [--threads T] [--sample N]

For each model: compiles models/NAME/NAME.gm (timed), trains it with gmrun
for N steps at the model's batch (64 for both) after 5 warm-up steps, samples
--sample images at once, then does the same in PyTorch (bench/models_peer.py:
the same layers, loss, optimizer and batch) with its default BLAS and with
Debian's OpenBLAS forced, and keeps the faster. Both sides run the same
threads, pinned to the same cores, flushing denormals to zero. Prints each
side's training and sampling images/s, their ratio, and each process's peak
resident memory (both hold Fashion-MNIST's training images as floats).

Needs: scripts/build.sh gmc gmrun; apt install python3-torch python3-numpy
libopenblas0-openmp.
"""
import argparse, os

from common import WORK, best_peer, compile_model, cpu_model, gm_sample, gm_train, peer_desc

TITLES = {"gan": "MLP GAN", "beta_vae": "beta-VAE"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="gan,beta_vae")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sample", type=int, default=1000)
    a = ap.parse_args()
    batch = 64
    print("machine: %s, %d thread(s) pinned to core(s) 0-%d" % (cpu_model(), a.threads,
                                                              a.threads - 1))
    for name in a.model.split(","):
        title = TITLES[name]
        artifact, compile_s = compile_model(name)
        run_dir = os.path.join(WORK, name + "-run")
        gm_ips, metrics = gm_train(artifact, run_dir, a.steps, batch, a.threads)
        gm_sample_ips = gm_sample(artifact, os.path.join(run_dir, "checkpoint.safetensors"),
                                  a.sample, a.threads, os.path.join(WORK, name + "-samples.png"))
        p = best_peer("models_peer.py", ["--model", name, "--steps", str(a.steps), "--batch",
                                         str(batch), "--sample", str(a.sample)], a.threads)
        print("gmc compile (%s.gm -> artifact): %.2f s" % (name, compile_s))
        print("%s train, batch %d, %d steps after 5 warm-up: gm %.0f images/s, PyTorch %.0f "
              "images/s: gm/PyTorch = %.2fx (%s)"
              % (title, batch, a.steps, gm_ips, p["images_per_s"], gm_ips / p["images_per_s"],
                 peer_desc(p)))
        print("%s sampling, %d at once: gm %.0f images/s, PyTorch %.0f images/s: "
              "gm/PyTorch = %.2fx" % (title, a.sample, gm_sample_ips, p["sample_images_per_s"],
                                      gm_sample_ips / p["sample_images_per_s"]))
        print("%s peak memory: gm %.0f MB (of which %.1f MB the step's scratch), PyTorch %.0f MB"
              % (title, metrics["peak_memory_mb"], metrics["scratch_mb"], p["peak_memory_mb"]))


if __name__ == "__main__":
    main()
