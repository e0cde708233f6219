#!/usr/bin/env python3
"""Feeds gmc broken inputs and checks that it always fails cleanly.

Usage: fuzz_gmc.py GMC MODELS_DIR WORK_DIR

For every model in MODELS_DIR it runs gmc on
  - the file cut at every token boundary (must exit 1 with a diagnostic),
  - the file with one token deleted, for every token (must exit 0, or exit 1
    with a diagnostic),
and on hand-made garbage: random bytes, NULs, deep nesting, huge numbers,
huge shapes (must exit 1 with a diagnostic) and long names and strings (may
also compile). "A diagnostic" is a
first stderr line `FILE:LINE:COL: error: ...`. A signal, a crash report
("Stack dump", "PLEASE submit"), another exit status or a missing diagnostic
fails the test, naming the input that caused it; so does a sanitizer report
(AddressSanitizer, LeakSanitizer, UBSan's "runtime error:") when GMC is a
sanitized build.
"""
import concurrent.futures
import os
import random
import re
import subprocess
import sys

TOKEN = re.compile(rb"""
    \#[^\n]*                      # comment (skipped, not a token)
  | \s+                           # space (skipped)
  | "[^"\n]*"                     # string
  | [A-Za-z_][A-Za-z0-9_]*        # identifier or keyword
  | (?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?   # number
  | \|\|                          # two-character operator
  | .                             # any other single character
""", re.VERBOSE | re.DOTALL)
DIAG = re.compile(rb"^[^\n]*:\d+:\d+: error: ")


def tokens(data):
    """(start, end) of every token, comments and space excluded."""
    spans = []
    for m in TOKEN.finditer(data):
        text = m.group(0)
        if text.startswith(b"#") or text.isspace():
            continue
        spans.append((m.start(), m.end()))
    return spans


def garbage():
    rng = random.Random(20261121)
    cases = {
        "random_%d" % i: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        for i in range(24)
    }
    cases.update({
        "nul_only": b"\0" * 64,
        "nul_in_model": b"model m {\n  data x: f32[4]\0\n}\n",
        "deep_parens": b"model m { const c = " + b"(" * 100000 + b"1" + b")" * 100000 + b" }",
        "deep_calls": b"model m { data x: f32[4] objective o = " + b"relu(" * 50000 + b"x" + b")" * 50000 + b" }",
        "deep_negation": b"model m { const c = " + b"-" * 100000 + b"1 }",
        "deep_lists": b"model m { const c = " + b"[" * 100000 + b"]" * 100000 + b" }",
        "huge_number": b"model m { const c = 1" + b"0" * 400 + b" }",
        "huge_float": b"model m { const c = 1e99999 }",
        "huge_dim": b"model m { data x: f32[18446744073709551617] }",
        "huge_shape": b"model m { data x: f32[65536, 65536, 65536] }",
        "huge_reshape": b"model m { data x: f32[4] objective o = sum(reshape(x, [1073741824, 1073741824])) }",
        "huge_linear": b"model m { data x: f32[4] net f(a) { return linear(a, 1e300) } objective o = sum(f(x)) }",
        "huge_k": b"model m { minimax g { k = 99999999999999999999 } }",
        "long_name": b"model " + b"m" * 1000000 + b" { }",
        "long_string": b'model m { data x: f32[4] from "' + b"s" * 1000000 + b'" }',
        "utf8": "model m { data x: f32[4] # 한국어 주석\n objective 목적 = sum(x) }".encode(),
        "only_comment": b"# nothing here\n",
        "crlf": b"model m {\r\n  data x: f32[4]\r\n  objective o = sum(x) $\r\n}\r\n",
    })
    return cases


def run(gmc, path, kind):
    try:
        proc = subprocess.run([gmc, path, "-emit=gm", "-o", os.devnull],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=60)
    except subprocess.TimeoutExpired:
        return "%s: timed out" % path
    err = proc.stderr
    if proc.returncode < 0:
        return "%s: killed by signal %d" % (path, -proc.returncode)
    if (b"Stack dump" in err or b"PLEASE submit" in err or b"Sanitizer" in err
            or b"runtime error:" in err):
        return "%s: crashed:\n%s" % (path, err.decode(errors="replace")[:2000])
    if proc.returncode == 0 and kind == "deletion":
        return None
    if proc.returncode != 1:
        return "%s: exit status %d" % (path, proc.returncode)
    if not DIAG.match(err):
        return "%s: no 'file:line:col: error:' diagnostic, got %r" % (path, err[:300])
    return None


def main():
    gmc, models, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    jobs = []  # (path, kind)

    def add(name, data, kind):
        path = os.path.join(work, name)
        with open(path, "wb") as f:
            f.write(data)
        jobs.append((path, kind))

    names = sorted(os.listdir(models))
    for name in names:
        src = os.path.join(models, name, name + ".gm")
        if not os.path.exists(src):
            continue
        data = open(src, "rb").read()
        spans = tokens(data)
        cuts = sorted({0} | {end for _, end in spans[:-1]})
        for cut in cuts:
            add("%s.cut%d.gm" % (name, cut), data[:cut], "prefix")
        for i, (start, end) in enumerate(spans):
            add("%s.del%d.gm" % (name, i), data[:start] + data[end:], "deletion")
    # Long names and strings are legal, just large: they may compile.
    legal = {"long_name", "long_string"}
    for name, data in garbage().items():
        add(name + ".gm", data, "deletion" if name in legal else "garbage")

    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=(os.cpu_count() or 2) * 2) as pool:
        for result in pool.map(lambda job: run(gmc, *job), jobs):
            if result:
                failures.append(result)
    kinds = {k: sum(1 for _, kk in jobs if kk == k) for k in ("prefix", "deletion", "garbage")}
    print("checked %d inputs: %d prefixes, %d deletions, %d garbage"
          % (len(jobs), kinds["prefix"], kinds["deletion"], kinds["garbage"]))
    for f in failures[:20]:
        print("FAIL:", f)
    if failures:
        print("%d of %d inputs failed" % (len(failures), len(jobs)))
        return 1
    # Inputs that passed leave nothing behind worth keeping.
    for path, _ in jobs:
        os.remove(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
