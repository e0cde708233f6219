#!/usr/bin/env python3
"""Compiled code against the reference evaluator, entry by entry.

Usage: conform.py [--mcpu CPU,...] [--out DIR] [--artifact FILE] [--mutate NAME]
                  [--alpha A] MODEL.gm TRAIN_MLIR BATCH STEPS ENTRY...

--alpha A sets every fade-in weight of a progressive schedule to A (gm-eval
--alpha; each entry's alpha.R hyper-parameters in gmrun run).

Compiles MODEL.gm for each CPU (gmc -mcpu; default native) into DIR/<model
stem>-<cpu>.gmx (reused when there: one compile per test, not per call), or
takes the given artifact, and for each entry runs `gmrun run` on the artifact (f32) and
`gm-eval` once on the training-pipeline IR (long double), on the same seeded
parameters, optimizer slots and inputs, and compares. The suite passes every
x86-64 level this machine can execute (lit's %cpus), so a developer sees on
their own machine what another CPU's vector widths and contractions do.
Prints one line per target and entry and "all entries match" at the end;
exits 1 on the first mismatch.

What is compared, and why it holds on any CPU and -mcpu target yet fails
on a wrong rule. f32 code cannot match long double to a fixed relative
error everywhere: where a result cancels (a bias before batch norm has an
exact gradient of 0; f32 leaves 4e-5 of the step's largest gradient) its
rounding is all there is. So gm-eval-f32 evaluates the same IR naively in
f32 too, and |f32 - long double| per tensor, its NOISE, measures how much
rounding an honest f32 implementation carries there. Compiled code may
differ from long double by its own rounding within K = 10 times that noise,
plus a fixed relative error:

* Results (losses, samples, means), and every optimizer slot after ONE
  training step (Adam's m and v, momentum: linear or quadratic in the
  gradient; v is compared on its square root): |a - r| <= 2e-4 *
  max(1, |r|) for results, 2e-4 * max|r| (the tensor's scale) for slots,
  plus K * noise.
* Parameters after one step: |a - r| <= 2e-4 * max(1, |r|), except where
  the reference gradient is within noise of zero (|m| <= K * noise of the
  slot that follows the gradient). Adam's first update is lr * g / (|g| +
  eps), about lr * sign(g), so there a flipped sign moves the weight by two
  whole steps; the gradient itself was compared through the slot.
* After SEVERAL steps those flips compound (the failure this replaces: 30
  Adam steps of the VAE off by 7e-3 in one weight on one CPU), so single
  elements measure rounding luck. Each state tensor is compared as a whole,
  ||a - r|| <= 1e-3 ||r|| + K ||f32 - r|| (L2), and the loss after every
  step (the trajectory) within 1e-3 * max(1, |r|) + K * noise.

--mutate NAME alters the reference IR first (Inputs/mutate.py): the suite
uses it to prove that a wrong gradient rule fails these checks.
"""
import atexit
import math
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mutate  # noqa: E402

ONE_STEP = 2e-4    # relative, after one step and for results
MANY_STEPS = 1e-3  # relative (L2 per tensor, and per step of the trajectory)
K = 10             # how many times the naive f32 evaluation's rounding


def values(cmd, env_extra=None):
    env = dict(os.environ, **env_extra) if env_extra else None
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit("FAILED: %s\n%s" % (" ".join(cmd), out.stderr))
    blocks, name = {}, None
    for line in out.stdout.splitlines():
        if line.startswith("result ") or line.startswith("param ") or line == "trajectory:":
            name = line.split(":")[0].replace("result ", "result")
            blocks[name] = []
        elif name:
            blocks[name].append(float(line))
    return blocks


def fail(entry, key, i, a, r, rule):
    sys.exit("FAIL %s: %s[%d]: %.9g vs reference %.9g (%s)" % (entry, key, i, a, r, rule))


def elementwise(entry, key, mine, ref, noise, scale=None, skip=()):
    """Worst |a - r| as a fraction of its bound; fails past the bound."""
    worst = 0.0
    for i, (a, r) in enumerate(zip(mine, ref)):
        if i in skip:
            continue
        bound = ONE_STEP * (scale if scale is not None else max(1.0, abs(r))) + K * noise
        if abs(a - r) > bound:
            fail(entry, key, i, a, r, "elementwise, one step; noise %.2g" % noise)
        if bound > 0:
            worst = max(worst, abs(a - r) / bound)
    return worst


def compare(entry, n, got, want, f32, slot_of, first_slot, second_slots):
    """The worst difference of |got| from |want|, as a fraction of its bound,
    and where; exits on a failure."""
    for key, ref in want.items():
        for what, vals in (("compiled", got), ("f32 evaluator", f32)):
            mine = vals.get(key)
            if mine is None or len(mine) != len(ref):
                sys.exit("FAIL %s: %s has %s values from the %s, expected %d" %
                         (entry, key, None if mine is None else len(mine), what, len(ref)))
    # A parameter's second slot, Adam's v = (1 - beta2) g^2 after a step, is
    # compared on its square root, which is linear in |g| like the rest: its
    # rounding noise would otherwise be squared, compiled against f32 alike.
    for key in list(want):
        if key.startswith("param ") and key[6:] in second_slots:
            for vals in (want, got, f32):
                vals[key] = [math.sqrt(max(x, 0.0)) for x in vals[key]]
    noise = {key: max((abs(x - r) for x, r in zip(f32[key], ref)), default=0.0)
             for key, ref in want.items()}
    worst = (0.0, "")
    if n == "1":
        for key, ref in want.items():
            name = key[len("param "):] if key.startswith("param ") else None
            if name is None:
                worst = max(worst, (elementwise(entry, key, got[key], ref, noise[key]), key))
            elif name in slot_of:
                scale = max(abs(r) for r in ref)
                worst = max(worst, (elementwise(entry, key, got[key], ref, noise[key], scale), key))
            else:
                m = "param " + first_slot[name] if name in first_slot else None
                skip = set()
                if m:
                    floor = K * noise[m]
                    skip = {i for i, x in enumerate(want[m]) if abs(x) <= floor}
                worst = max(worst, (elementwise(entry, key, got[key], ref, 0.0, skip=skip), key))
        return worst
    for key, ref in want.items():
        mine = got[key]
        if key.startswith("param "):
            def dist(xs):
                return math.sqrt(sum((x - r) ** 2 for x, r in zip(xs, ref)))
            norm = math.sqrt(sum(r * r for r in ref))
            bound = MANY_STEPS * norm + K * dist(f32[key])
            err = dist(mine)
            worst = max(worst, (err / max(bound, 1e-30), key))
            if err > bound:
                sys.exit("FAIL %s: %s: L2 difference %.3g > %.3g after %s steps (tensor, "
                         "several steps; |r| %.3g, f32 noise %.3g)" %
                         (entry, key, err, bound, n, norm, dist(f32[key])))
        else:
            for i, (a, r) in enumerate(zip(mine, ref)):
                bound = MANY_STEPS * max(1.0, abs(r)) + K * abs(f32[key][i] - r)
                worst = max(worst, (abs(a - r) / bound, key))  # bound >= 1e-3
                if abs(a - r) > bound:
                    fail(entry, key, i, a, r, "after step %d of %s" % (i + 1, n)
                         if key == "trajectory" else "several steps")
    return worst


def main():
    args = sys.argv[1:]
    cpus, artifact, mutation, out_dir, alpha = ["native"], None, None, None, None
    while args and args[0].startswith("--"):
        if args[0] == "--alpha":
            alpha = args[1]
        elif args[0] == "--mcpu":
            cpus = [c for c in args[1].split(",") if c]
        elif args[0] == "--artifact":
            artifact = args[1]
        elif args[0] == "--mutate":
            mutation = args[1]
        elif args[0] == "--out":
            out_dir = args[1]
        else:
            sys.exit("conform.py: unknown option %s" % args[0])
        args = args[2:]
    model, mlir, batch, steps = args[:4]
    entries = args[4:]
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="conform-")
    atexit.register(shutil.rmtree, tmp, True)
    if mutation:
        path = os.path.join(tmp, "mutated.mlir")
        with open(path, "w") as f, open(mlir) as src:
            f.write(mutate.apply(mutation, src.read()))
        mlir = path
    artifacts = []
    if artifact:
        artifacts.append(("given", artifact))
    else:
        stem = os.path.splitext(os.path.basename(model))[0]
        for cpu in cpus:
            path = os.path.join(out_dir or tmp, "%s-%s.gmx" % (stem, cpu))
            if not (out_dir and os.path.exists(path)):
                out = subprocess.run(["gmc", model, "-mcpu=" + cpu, "-o", path],
                                     capture_output=True, text=True)
                if out.returncode != 0:
                    sys.exit("FAILED: gmc %s -mcpu=%s\n%s" % (model, cpu, out.stderr))
            artifacts.append((cpu, path))

    info = subprocess.run(["gmrun", "info", artifacts[0][1]], capture_output=True, text=True)
    if info.returncode != 0:
        sys.exit("FAILED: gmrun info %s\n%s" % (artifacts[0][1], info.stderr))
    state, slot_of, kinds, fades = [], {}, {}, {}
    for line in info.stdout.splitlines():
        f = line.split()
        if f[0] in ("param", "slot"):
            state.append(f[1])
            if f[0] == "slot":
                slot_of[f[1]] = f[4]
        elif f[0] in ("train", "eval", "encode", "decode"):
            kinds[f[1].split("(")[0]] = f[0]
            # name(arg, arg, ...): a progressive schedule's fade weights.
            fades[f[1].split("(")[0]] = [a.strip(",)") for a in line.split("(", 1)[1].split()
                                         if a.startswith("alpha.")]
    # The first slot of each parameter follows its gradient (Adam's m,
    # momentum's velocity: a positive multiple of g after one step).
    first_slot, second_slots, seen = {}, set(), {}
    for s, p in slot_of.items():
        first_slot.setdefault(p, s)
        seen[p] = seen.get(p, 0) + 1
        if seen[p] == 2:
            second_slots.add(s)

    for entry in entries:
        train = kinds.get(entry) == "train"
        n = steps if train else "1"
        extra = []
        if train:
            for p in state:
                extra += ["--print-param", p]
        cmd = [mlir, "--function=" + entry, "--batch=" + batch, "--steps=" + n] + extra
        run_extra = []
        if alpha is not None:
            cmd.append("--alpha=" + alpha)
            for name in fades.get(entry, []):
                run_extra += ["--hparam", "%s=%s" % (name, alpha)]
        want = values(["gm-eval"] + cmd)
        f32 = values(["gm-eval-f32"] + cmd)
        count = sum(len(v) for v in want.values())
        for cpu, path in artifacts:
            # An x86-64 level runs as a CPU of that level: gmrun keeps its
            # GEMM kernels to the level too (oneDNN's AVX2 or SSE4.1 code).
            level = {"GMRUN_MAX_CPU_ISA": cpu} if cpu.startswith("x86-64") else {}
            got = values(["gmrun", "run", path, "--entry", entry, "--batch", batch,
                          "--steps", n] + extra + run_extra, level)
            worst = compare("%s (%s)" % (entry, cpu), n, got, dict(want), dict(f32), slot_of,
                            first_slot, second_slots)
            print("ok %s %s (%d values, worst at %.0f%% of its bound, %s)" %
                  (cpu, entry, count, 100 * worst[0], worst[1]))
    print("all entries match")


if __name__ == "__main__":
    main()
