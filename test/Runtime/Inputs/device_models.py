"""Trains every model in models/ on the fake CUDA device against the CPU.

    device_models.py MODELS_DIR FAKE_LIBRARY TOLERANCE

For each models/NAME/NAME.gm: `gmc --target=cuda -cuda-emulate`, then for
each of its training entries (`gmrun info`'s `train` lines) two steps of
`gmrun run --batch 16 --steps 2` on the CPU path and with `--device cuda`
on the fake driver, cuBLAS and cuDNN (FAKE_LIBRARY, runtime/tests/
fake-cuda.c). Every printed value must be within TOLERANCE * max(1, |cpu|)
of the CPU's, and gmrun's closing line must say that no product or
convolution ran on the CPU. Prints one line per model; exits 1 after the
last model if any failed.
"""
import os
import re
import subprocess
import sys
import tempfile

models_dir, fake, tolerance = sys.argv[1], sys.argv[2], float(sys.argv[3])
env = dict(os.environ, GMRT_CUDA_DRIVER=fake, GMRT_CUBLAS=fake, GMRT_CUDNN=fake)
names = sorted(n for n in os.listdir(models_dir)
               if os.path.exists(os.path.join(models_dir, n, n + ".gm")))


def values(text):
    return [float(line) for line in text.splitlines() if re.fullmatch(r"\s*-?[\d.eE+-]+\s*", line)]


failed = []
with tempfile.TemporaryDirectory() as tmp:
    for name in names:
        artifact = os.path.join(tmp, name + ".gmx")
        run = subprocess.run(["gmc", os.path.join(models_dir, name, name + ".gm"), "--target=cuda",
                              "-cuda-emulate", "-o", artifact], capture_output=True, text=True)
        if run.returncode != 0:
            failed.append(name)
            print("%s: FAILED: gmc: %s" % (name, run.stderr.strip()[:2000]))
            continue
        info = subprocess.run(["gmrun", "info", artifact], capture_output=True, text=True).stdout
        entries = re.findall(r"^train (\S+)\(", info, flags=re.M)
        problems, worst, launches = [], 0.0, 0
        for entry in entries:
            args = ["gmrun", "run", artifact, "--entry", entry, "--batch", "16", "--steps", "2"]
            cpu = subprocess.run(args, capture_output=True, text=True)
            dev = subprocess.run(args + ["--device", "cuda"], capture_output=True, text=True,
                                 env=env)
            if cpu.returncode or dev.returncode:
                problems.append("%s: %s" % (entry, (cpu.stderr + dev.stderr).strip()[-500:]))
                continue
            a, b = values(dev.stdout), values(cpu.stdout)
            if len(a) != len(b) or not a:
                problems.append("%s: %d values against %d" % (entry, len(a), len(b)))
                continue
            for x, y in zip(a, b):
                worst = max(worst, abs(x - y) / max(1.0, abs(y)))
            where = re.search(r"on the CUDA device: (\d+) kernel launches, (\d+) products "
                              r"\((\d+) on the CPU\), (\d+) convolutions \((\d+) on the CPU\)",
                              dev.stderr)
            if not where:
                problems.append("%s: no summary line" % entry)
            elif where.group(3) != "0" or where.group(5) != "0":
                problems.append("%s: %s" % (entry, where.group(0)))
            else:
                launches += int(where.group(1))
        if worst > tolerance:
            problems.append("values differ by %.3g relative" % worst)
        if problems or not entries:
            failed.append(name)
            print("%s: FAILED: %s" % (name, "; ".join(problems) or "no training entry"))
        else:
            print("%s: %d entries, %d launches, within %g" % (name, len(entries), launches,
                                                              tolerance))
print("%d models, %d failed%s" % (len(names), len(failed),
                                  (": " + ", ".join(failed)) if failed else ""))
sys.exit(1 if failed else 0)
