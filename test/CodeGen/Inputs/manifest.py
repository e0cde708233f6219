"""Prints the manifest in gmc's output one record a line, for FileCheck.

Reads MLIR text on stdin (gmc -emit=linalg, whose module holds the manifest
as the `gm.manifest` attribute, or -emit=llvm, where it is the `gm_manifest`
global), or, with a path argument, an artifact (the NUL-terminated JSON
after its start in the file). Checks that the text is JSON (Python's own
reader, independent of gm's) and prints each top-level key with its value,
arrays one element a line:

    format "gm-manifest"
    state {"name": "w", "shape": [3, 4], "init": "uniform", "scale": 0.5}

With --raw first, prints the manifest text as it is instead.
"""
import json
import re
import sys


def mlir_string(text):
    """Decodes an MLIR string literal's body: \\XX hex escapes and \\\\."""
    return re.sub(rb"\\([0-9A-Fa-f]{2}|\\)",
                  lambda m: b"\\" if m.group(1) == b"\\" else bytes([int(m.group(1), 16)]),
                  text.encode()).decode()


args = sys.argv[1:]
raw = args[:1] == ["--raw"]
if raw:
    args = args[1:]
if args:
    data = open(args[0], "rb").read()
    start = data.index(b'{"format":"gm-manifest"')
    text = data[start:data.index(b"\0", start)].decode()
else:
    ir = sys.stdin.read()
    m = re.search(r'gm\.manifest = "((?:[^"\\]|\\.)*)"', ir) or \
        re.search(r'@gm_manifest\("((?:[^"\\]|\\.)*)"\)', ir)
    if not m:
        sys.exit("manifest.py: no gm.manifest or @gm_manifest in the input")
    text = mlir_string(m.group(1)).rstrip("\0")

if raw:
    sys.stdout.write(text)
    sys.exit(0)
manifest = json.loads(text)
# The writer's layout: compact, no spaces (the fingerprint hashes the bytes).
assert json.dumps(manifest, separators=(",", ":"), ensure_ascii=False) == text, \
    "not in gm's compact layout"
for key, value in manifest.items():
    for item in value if isinstance(value, list) else [value]:
        print(key, json.dumps(item))
