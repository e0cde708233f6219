#!/usr/bin/env python3
"""Compiled code against the reference evaluator, entry by entry.

Usage: conform.py MODEL.gm ARTIFACT TRAIN_MLIR BATCH STEPS ENTRY...

For each entry, runs `gmrun run` on the artifact and `gm-eval` on the
training-pipeline IR (the same parameters: both initialise every state tensor
from the seed, with the optimizer slots), with the same seeded inputs, and
compares every result and, for training steps run STEPS times, every
parameter. f32 against long double: |a - r| <= 2e-4 * max(1, |r|) after one
step, 2e-3 after several (Adam divides by sqrt(v), which amplifies f32
rounding of tiny gradients). Prints one line per entry and "all entries
match" at the end; exits 1 on the first mismatch.
"""
import subprocess, sys


def values(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("FAILED: %s\n%s" % (" ".join(cmd), out.stderr))
    blocks, name = {}, None
    for line in out.stdout.splitlines():
        if line.startswith("result ") or line.startswith("param "):
            name = line.split(":")[0].replace("result ", "result")
            blocks[name] = []
        elif name:
            blocks[name].append(float(line))
    return blocks


def main():
    model, artifact, mlir, batch, steps = sys.argv[1:6]
    info = subprocess.run(["gmrun", "info", artifact], capture_output=True, text=True).stdout
    params = [l.split()[1] for l in info.splitlines() if l.startswith("param ")]
    kinds = {l.split()[1].split("(")[0]: l.split()[0] for l in info.splitlines()
             if l.split()[0] in ("train", "eval", "encode", "decode")}
    for entry in sys.argv[6:]:
        n = steps if kinds.get(entry) == "train" else "1"
        extra = []
        if kinds.get(entry) == "train":
            for p in params:
                extra += ["--print-param", p]
        got = values(["gmrun", "run", artifact, "--entry", entry, "--batch", batch,
                      "--steps", n] + extra)
        want = values(["gm-eval", mlir, "--function=" + entry, "--batch=" + batch,
                       "--steps=" + n] + extra)
        tol = 2e-4 if n == "1" else 2e-3
        worst = 0.0
        for key, ref in want.items():
            mine = got.get(key)
            if mine is None or len(mine) != len(ref):
                sys.exit("FAIL %s: %s has %s values, expected %d" %
                         (entry, key, None if mine is None else len(mine), len(ref)))
            for a, r in zip(mine, ref):
                err = abs(a - r) / max(1.0, abs(r))
                worst = max(worst, err)
                if err > tol:
                    sys.exit("FAIL %s: %s: %.9g vs reference %.9g" % (entry, key, a, r))
        print("ok %s (%d values, worst %.1e)" % (entry, sum(len(v) for v in want.values()), worst))
    print("all entries match")


if __name__ == "__main__":
    main()
