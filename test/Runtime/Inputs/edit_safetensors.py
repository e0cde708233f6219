"""Rewrites a safetensors file's header, keeping its data.

    edit_safetensors.py IN OUT --drop-crc TENSOR   drop one tensor's gm.crc32
    edit_safetensors.py IN OUT --drop-crc all      drop every checksum (a file
                                                   as gm wrote them before)
"""
import json, struct, sys

src, dst, flag, which = sys.argv[1:5]
assert flag == "--drop-crc"
d = open(src, "rb").read()
n = struct.unpack("<Q", d[:8])[0]
header = json.loads(d[8:8 + n])
meta = header.get("__metadata__", {})
for key in list(meta):
    if key.startswith("gm.crc32.") and (which == "all" or key == "gm.crc32." + which):
        del meta[key]
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * ((8 - len(text) % 8) % 8)
open(dst, "wb").write(struct.pack("<Q", len(text)) + text + d[8 + n:])
