"""What the bench scripts share: compiling a model, timing gmrun's training
step and sampling, and running a PyTorch peer on each BLAS it can use."""
import json, os, re, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")
WORK = os.path.join(ROOT, "out", "bench")
# Debian's OpenMP OpenBLAS: python3-torch otherwise loads whatever
# libblas.so.3 the alternatives name (the netlib reference BLAS on a fresh
# machine, 23x slower on the VAE's products).
OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-openmp"


def cpu_model():
    return next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                 if l.startswith("model name")), "unknown CPU")


def thread_env(threads):
    e = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    e.pop("OPENBLAS_CORETYPE", None)
    e.pop("OPENBLAS_L2_SIZE", None)
    return e


def compile_model(name, out_name=None):
    """gmc models/NAME/NAME.gm -> out/bench/OUT_NAME.gmx; (path, seconds)."""
    os.makedirs(WORK, exist_ok=True)
    artifact = os.path.join(WORK, (out_name or name) + ".gmx")
    t = time.perf_counter()
    subprocess.run([os.path.join(BIN, "gmc"), os.path.join(ROOT, "models", name, name + ".gm"),
                    "-o", artifact], check=True)
    return artifact, time.perf_counter() - t


def gm_train(artifact, run_dir, steps, batch, threads, warm=5):
    """gm's steady training: two runs of `warm` and `warm + steps` steps,
    pinned to the first `threads` cores; the difference of their training
    times is that of `steps` steps, the first (allocating) ones excluded.
    Returns (images/s, the longer run's last metrics line)."""
    cores = ",".join(str(c) for c in range(threads))

    def once(n):
        out = subprocess.run(["taskset", "-c", cores, os.path.join(BIN, "gmrun"), "train",
                              artifact, "--steps", str(n), "--batch", str(batch), "--quiet",
                              "--threads", str(threads), "--out", run_dir],
                             env=thread_env(threads), capture_output=True, text=True)
        if out.returncode:
            sys.exit("gmrun failed:\n" + out.stderr)
        return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")][-1]
    short, full = once(warm), once(warm + steps)
    return steps * batch / (full["train_seconds"] - short["train_seconds"]), full


def gm_sample(artifact, checkpoint, n, threads, out_png):
    """gmrun sample's steady images/s on n draws at once (the fastest of 5
    calls after a first), the best of 3 runs."""
    cores = ",".join(str(c) for c in range(threads))

    def once():
        out = subprocess.run(["taskset", "-c", cores, os.path.join(BIN, "gmrun"), "sample",
                              artifact, "--checkpoint", checkpoint, "--n", str(n), "--repeat", "6",
                              "--threads", str(threads), "--out", out_png],
                             env=thread_env(threads), capture_output=True, text=True)
        if out.returncode:
            sys.exit("gmrun sample failed:\n" + out.stderr)
        return float(re.search(r"\(steady ([0-9.]+) images/s\)", out.stderr).group(1))
    return max(once() for _ in range(3))


def best_peer(script, args, threads):
    """Runs a PyTorch peer (its last stdout line is JSON with images_per_s)
    under Debian's python3 with its default BLAS and with OpenBLAS forced,
    pinned like gm; returns the faster run's JSON, with "blas_choice"."""
    cores = ",".join(str(c) for c in range(threads))
    runs = []
    for choice, path in (("default BLAS", None), ("OpenBLAS forced", OPENBLAS)):
        e = thread_env(threads)
        if path:
            if not os.path.isdir(path):
                continue
            e["LD_LIBRARY_PATH"] = path
        out = subprocess.run(["taskset", "-c", cores, "/usr/bin/python3",
                              os.path.join(ROOT, "bench", script)] + args
                             + ["--threads", str(threads)], env=e, capture_output=True, text=True)
        if out.returncode:
            sys.exit("the peer failed:\n" + out.stderr)
        r = json.loads(out.stdout.splitlines()[-1])
        r["blas_choice"] = choice
        runs.append(r)
    return max(runs, key=lambda r: r["images_per_s"])


def peer_desc(p):
    """'PyTorch 1.13.0a0, OpenBLAS forced (openblas-openmp/libopenblasp-r0.3.21.so)'
    for best_peer's run: the BLAS library the peer's process mapped."""
    libs = [l for l in p.get("blas", []) if "lapack" not in l]
    libs = [l for l in libs if "openblas" in os.path.basename(l)] or libs
    return "PyTorch %s, %s (%s)" % (p["version"], p["blas_choice"], ", ".join(
        os.path.join(os.path.basename(os.path.dirname(l)), os.path.basename(l)) for l in libs)
        or "no BLAS mapped")
