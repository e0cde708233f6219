"""Checks that each CUDA kernel's host launch passes what its PTX takes.

    ptx_params.py EMULATED.gmx CHIP

An artifact built with `gmc --target=cuda -cuda-emulate` holds the PTX
(gm_cuda_ptx_CHIP) and, per kernel, gm_emu_<kernel>_kinds: one letter per
parameter of the host side's launch (p pointer, i integer, f float), from
the same arguments gm-host-launch packs into slots. Every `.entry` must take
as many `.param`s, a pointer or integer as .u64/.b64/.s64 and a float as
.f32/.f64. Prints 'N kernels, M parameters: the launches match the PTX', or
the first kernel that does not and exits 1.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from symbols import strings  # noqa: E402

path, chip = sys.argv[1], sys.argv[2]
texts = strings(path)
ptx = texts.get("gm_cuda_ptx_" + chip)
if ptx is None:
    sys.exit("no gm_cuda_ptx_%s in %s" % (chip, path))
kernels = params = 0
for m in re.finditer(r"\.entry (\w+)\(([^)]*)\)", ptx.decode()):
    name, types = m.group(1), re.findall(r"\.param \.(\w+)", m.group(2))
    kinds = texts.get("gm_emu_%s_kinds" % name)
    if kinds is None:
        sys.exit("%s: no gm_emu_%s_kinds" % (name, name))
    kinds = kinds.decode()
    want = ["f" if t.startswith("f") else "pi" for t in types]
    if len(kinds) != len(types) or any(k not in w for k, w in zip(kinds, want)):
        sys.exit("%s: the host launches %s, the PTX takes %s" % (name, kinds, " ".join(types)))
    kernels += 1
    params += len(types)
print("%d kernels, %d parameters: the launches match the PTX" % (kernels, params))
