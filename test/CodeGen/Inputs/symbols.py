"""Prints the start of each named string symbol of a shared library.

    symbols.py LIB NAME...

For each NAME: `NAME: <its first 40 bytes, up to a NUL, newlines as \\n>`,
or `NAME: missing`.
The address comes from llvm-nm -D; the file offset from the ELF's PT_LOAD
program headers (read here, 64-bit little-endian only).
"""
import struct
import subprocess
import sys

path, names = sys.argv[1], sys.argv[2:]
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
for name in names:
    if name not in addresses:
        print("%s: missing" % name)
        continue
    addr = addresses[name]
    offset = next(o + addr - v for v, o, n in loads if v <= addr < v + n)
    text = data[offset:offset + 40].split(b"\0")[0]
    print("%s: %s" % (name, text.decode("latin-1").replace("\n", "\\n")))
