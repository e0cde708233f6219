"""Compiles every model in models/ with gmc --target=cuda and checks its PTX.

    ptx_models.py MODELS_DIR PTXAS

For each models/NAME/NAME.gm: `gmc --target=cuda -emit=ptx` (sm_80 and
sm_90), then, for each chip's module: it declares no function it does not
define (`.extern .func`: the driver would refuse the module on a GPU), its
kernels are there (one `.visible .entry` per kernel, the same for both
chips), and `ptxas -arch=CHIP` assembles it. Prints one line per model;
exits 1 after the last model if any failed.
"""
import os
import re
import subprocess
import sys
import tempfile

models_dir, ptxas = sys.argv[1], sys.argv[2]
failed = []
names = sorted(n for n in os.listdir(models_dir)
               if os.path.exists(os.path.join(models_dir, n, n + ".gm")))
with tempfile.TemporaryDirectory() as tmp:
    for name in names:
        run = subprocess.run(["gmc", os.path.join(models_dir, name, name + ".gm"),
                              "--target=cuda", "-emit=ptx"], capture_output=True, text=True)
        if run.returncode != 0:
            failed.append(name)
            print("%s: FAILED: gmc: %s" % (name, run.stderr.strip()[:2000]))
            continue
        # gmc writes "// gm kernels for sm_XX" before each chip's module.
        parts = re.split(r"^// gm kernels for (sm_\d+)\n", run.stdout, flags=re.M)[1:]
        modules = dict(zip(parts[0::2], parts[1::2]))
        problems = []
        if sorted(modules) != ["sm_80", "sm_90"]:
            problems.append("modules for %s, expected sm_80 and sm_90" % sorted(modules))
        entries = {}
        for chip, ptx in sorted(modules.items()):
            if re.search(r"\.target %s\b" % chip, ptx) is None:
                problems.append("%s: no .target %s line" % (chip, chip))
            extern = re.findall(r"\.extern \.func[^;(]*", ptx)
            if extern:
                problems.append("%s: undefined %s" % (chip, ", ".join(extern)))
            entries[chip] = sorted(re.findall(r"^\.visible \.entry (\w+)\(", ptx, flags=re.M))
            path = os.path.join(tmp, "%s_%s.ptx" % (name, chip))
            with open(path, "w") as f:
                f.write(ptx)
            asm = subprocess.run([ptxas, "-arch=" + chip, path, "-o", os.devnull],
                                 capture_output=True, text=True)
            if asm.returncode != 0:
                problems.append("%s: ptxas: %s" % (chip, asm.stderr.strip()[:2000]))
        counts = {len(e) for e in entries.values()}
        if counts == {0} or len(counts) != 1:
            problems.append("kernels per chip: %s" % {c: len(e) for c, e in entries.items()})
        if problems:
            failed.append(name)
            print("%s: FAILED: %s" % (name, "; ".join(problems)))
        else:
            print("%s: %d kernels, sm_80 and sm_90 assemble" % (name, counts.pop()))
print("%d models, %d failed%s" % (len(names), len(failed),
                                  (": " + ", ".join(failed)) if failed else ""))
sys.exit(1 if failed else 0)
