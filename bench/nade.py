#!/usr/bin/env python3
"""gm against PyTorch on NADE (H = 500, binarised Fashion-MNIST, Adam 1e-3,
batch 100), in one run, on this machine.

    python3 bench/nade.py [--steps N] [--threads T] [--sample N] [--epochs E]

Compiles models/nade/nade.gm (timed), trains it for N steps with gmrun,
then the same NADE in PyTorch (bench/nade_peer.py: the loop over pixels with
the shared pre-activation, the peer's fastest form) with the same threads,
pinned to the same cores, and prints both sides' training images/s (gm: the
difference of two runs, so its first steps are excluded; PyTorch: the steps
after its first) and the ratio; then ancestral sampling images/s at batch
--sample on both sides. With --epochs E it also trains both for E epochs
and prints each side's test NLL per epoch (PyTorch takes minutes per epoch).

Needs: scripts/build.sh gmc gmrun; apt install python3-torch python3-numpy.
"""
import argparse, json, os, re, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")
PEER_PYTHON = "/usr/bin/python3"  # Debian's, with python3-torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sample", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=0)
    a = ap.parse_args()
    cores = ",".join(str(c) for c in range(a.threads))
    work = os.path.join(ROOT, "out", "bench")
    os.makedirs(work, exist_ok=True)
    artifact = os.path.join(work, "nade.gmx")
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads))
    pin = ["taskset", "-c", cores]

    t = time.perf_counter()
    subprocess.run([os.path.join(BIN, "gmc"), os.path.join(ROOT, "models/nade/nade.gm"),
                    "-o", artifact], check=True)
    compile_s = time.perf_counter() - t

    def gmrun(*args):
        out = subprocess.run(pin + [os.path.join(BIN, "gmrun"), *args, "--threads", str(a.threads)],
                             env=env, capture_output=True, text=True)
        if out.returncode:
            sys.exit("gmrun failed:\n" + out.stderr)
        return out

    run_dir = os.path.join(work, "nade-run")

    def gm_seconds(steps):
        out = gmrun("train", artifact, "--steps", str(steps), "--quiet", "--out", run_dir)
        return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")][-1]["train_seconds"]
    warm = 5
    gm_train = a.steps * 100 / (gm_seconds(warm + a.steps) - gm_seconds(warm))
    # As the peer: one call to warm up, then one timed (--repeat 2 reports
    # the second).
    out = gmrun("sample", artifact, "--checkpoint", os.path.join(run_dir, "checkpoint.safetensors"),
                "--n", str(a.sample), "--repeat", "2", "--out", os.path.join(work, "nade-samples.npy"))
    gm_sample = float(re.search(r"\(steady ([0-9.]+) images/s\)", out.stderr).group(1))
    kernel = gmrun("system").stdout.strip().splitlines()

    peer = subprocess.run(pin + [PEER_PYTHON, os.path.join(ROOT, "bench/nade_peer.py"),
                                 "--steps", str(max(10, a.steps // 4)), "--threads", str(a.threads),
                                 "--sample", str(a.sample)],
                          env=env, capture_output=True, text=True)
    if peer.returncode:
        print("PyTorch peer not available:\n" + peer.stderr.strip().splitlines()[-1])
        p = None
    else:
        p = json.loads(peer.stdout.strip().splitlines()[-1])

    print("machine: " + "; ".join(l.strip() for l in kernel[:2]))
    print(f"gmc models/nade/nade.gm: {compile_s:.2f} s")
    if p:
        print(f"peer: {p['peer']}, the loop over pixels (bench/nade_peer.py)")
        print(f"NADE train, batch 100, {a.threads} thread(s): gm {gm_train:.0f} images/s, "
              f"PyTorch {p['train_images_per_s']:.0f} images/s: "
              f"gm/PyTorch = {gm_train / p['train_images_per_s']:.2f}x")
        print(f"NADE ancestral sampling, {a.sample} at once: gm {gm_sample:.0f} images/s, "
              f"PyTorch {p['sample_images_per_s']:.0f} images/s: "
              f"gm/PyTorch = {gm_sample / p['sample_images_per_s']:.2f}x")
    else:
        print(f"NADE train: gm {gm_train:.0f} images/s; sampling: gm {gm_sample:.0f} images/s")
    if a.epochs:
        out = gmrun("train", artifact, "--epochs", str(a.epochs), "--quiet", "--out",
                    os.path.join(work, "nade-epochs"))
        gm_nll = [json.loads(l)["test_nll"] for l in out.stdout.splitlines() if l.startswith("{")]
        print("gm test NLL per epoch (nats): " + ", ".join(f"{v:.2f}" for v in gm_nll))
        peer = subprocess.run(pin + [PEER_PYTHON, os.path.join(ROOT, "bench/nade_peer.py"),
                                     "--epochs", str(a.epochs), "--threads", str(a.threads)],
                              env=env, capture_output=True, text=True)
        if peer.returncode == 0:
            nll = json.loads(peer.stdout.strip().splitlines()[-1])["test_nll_per_epoch"]
            print("PyTorch test NLL per epoch (nats): " + ", ".join(f"{v:.2f}" for v in nll))


if __name__ == "__main__":
    main()
