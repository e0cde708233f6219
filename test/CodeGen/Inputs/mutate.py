#!/usr/bin/env python3
"""Deliberate bugs in gm IR, to prove the conformance checks catch them.

Usage: mutate.py NAME < IN.mlir > OUT.mlir (conform.py --mutate NAME uses it)

Each mutation finds its site by the IR's meaning, not by SSA numbers, and
stops with an error when the site is missing, so that a changed compiler
makes the proof fail loudly instead of passing vacuously.

  relu-grad-mask   relu's derivative taken as sign(pre-activation) instead
                   of sign(relu output): -1 instead of 0 where the unit is
                   off, a classic wrong vector-Jacobian rule.
  reparam-half     the reparameterised std = exp(0.5 * logvar) differentiated
                   without its 0.5: d std / d logvar = std instead of
                   0.5 * std (a gradient rule dropping a chain factor).
"""
import re
import sys


def relu_grad_mask(text):
    relus = dict(re.findall(r"(%\d+) = gm\.relu (%\d+) ", text))
    count = 0

    def swap(m):
        nonlocal count
        if m.group(2) not in relus:
            return m.group(0)
        count += 1
        return "%s = gm.sign %s " % (m.group(1), relus[m.group(2)])

    out = re.sub(r"(%\d+) = gm\.sign (%\d+) ", swap, text)
    return out, count


def reparam_half(text):
    # In a gradient function: %h = broadcast of a 0.5 constant, %s = gm.mul
    # %h, %lv, gm.exp %s is the std; backward, `%d = gm.mul %x, %h` applies
    # the 0.5. The mutation deletes that line and uses %x for %d.
    out, count = [], 0
    for func in re.split(r"(?=\n    gm\.func )", text):
        header = func.strip().split("\n", 1)[0]
        if ".grad." not in header:
            out.append(func)
            continue
        consts = set(re.findall(r"(%\d+) = gm\.constant dense<5\.000000e-01>", func))
        halves = {b for b, c in re.findall(r"(%\d+) = gm\.broadcast (%\d+)\[", func)
                  if c in consts}
        scaled = {s: h for s, h in re.findall(r"(%\d+) = gm\.mul (%\d+), %\d+ ", func)
                  if h in halves}
        used = {scaled[s] for s in re.findall(r"= gm\.exp (%\d+) ", func) if s in scaled}
        for d, x, h in re.findall(r"(%\d+) = gm\.mul (%\d+), (%\d+) ", func):
            if h in used:
                func = re.sub(r"\n *%s = gm\.mul %s, %s [^\n]*" % (d, x, h), "", func)
                func = re.sub(r"%s\b" % d, x, func)
                count += 1
        out.append(func)
    return "".join(out), count


MUTATIONS = {"relu-grad-mask": relu_grad_mask, "reparam-half": reparam_half}


def apply(name, text):
    if name not in MUTATIONS:
        sys.exit("mutate.py: unknown mutation '%s' (%s)" % (name, ", ".join(MUTATIONS)))
    out, count = MUTATIONS[name](text)
    if count == 0:
        sys.exit("mutate.py: no site for mutation '%s' in this IR" % name)
    return out


if __name__ == "__main__":
    sys.stdout.write(apply(sys.argv[1], sys.stdin.read()))
