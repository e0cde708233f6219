"""Edits an artifact's bytes and writes it with a valid checksum trailer
(abi.h), as if gmc had written the edited file: so the tests reach the
checks after the checksum (the manifest's, the version's).

    edit_artifact.py IN OUT OLD NEW [COUNT]

replaces the bytes OLD by NEW (Python bytes literals, COUNT times; all by
default) in the ELF part of IN and writes OUT."""
import ast
import struct
import sys
import zlib

TRAILER, SIZE = b"gm-crc32", 16

src, dst, old, new = sys.argv[1:5]
count = int(sys.argv[5]) if len(sys.argv) > 5 else -1
data = open(src, "rb").read()
if data[-SIZE:-SIZE + 8] == TRAILER:
    data = data[:-SIZE]
data = data.replace(ast.literal_eval(old), ast.literal_eval(new), count)
open(dst, "wb").write(data + TRAILER + struct.pack("<I", zlib.crc32(data)) + bytes(4))
