"""Prints the start of each named string symbol of a shared library.

    symbols.py LIB NAME...

For each NAME: `NAME: <its first 40 bytes, up to a NUL, newlines as \\n>`,
or `NAME: missing`.
The address comes from llvm-nm -D; the file offset from the ELF's PT_LOAD
program headers (read here, 64-bit little-endian only). strings(LIB) gives
every exported NUL-terminated symbol's text, for other scripts.
"""
import struct
import subprocess
import sys


def strings(path, names=None):
    """{name: bytes up to the NUL} for |names| (default: every defined
    dynamic symbol), None for a name that is not there."""
    data = open(path, "rb").read()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "not a 64-bit LE ELF"
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    loads = []
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 1:  # PT_LOAD
            loads.append((p_vaddr, p_offset, p_filesz))
    nm = subprocess.run(["llvm-nm", "-D", "--defined-only", path], capture_output=True, text=True,
                        check=True).stdout
    addresses = {f[2]: int(f[0], 16) for f in (l.split() for l in nm.splitlines()) if len(f) == 3}
    out = {}
    for name in names if names is not None else addresses:
        if name not in addresses:
            out[name] = None
            continue
        addr = addresses[name]
        offsets = [o + addr - v for v, o, n in loads if v <= addr < v + n]
        out[name] = data[offsets[0]:].split(b"\0")[0] if offsets else None
    return out


if __name__ == "__main__":
    path, names = sys.argv[1], sys.argv[2:]
    for name, text in strings(path, names).items():
        if text is None:
            print("%s: missing" % name)
        else:
            print("%s: %s" % (name, text[:40].decode("latin-1").replace("\n", "\\n")))
