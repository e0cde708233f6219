"""Writes .npy files by hand (no numpy here) for npy.test."""
import struct
import sys


def npy(path, descr, shape, fortran, payload):
    shape_text = "(" + "".join("%d, " % d for d in shape).rstrip(" ") + ")"
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", shape_text)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
        f.write(header.encode() + payload)


out = sys.argv[1]
npy(out + "/u8.npy", "|u1", [4], False, bytes([1, 2, 3, 4]))
npy(out + "/fortran.npy", "<f4", [2, 2], True, struct.pack("<4f", 1, 2, 3, 4))
npy(out + "/f64.npy", "<f8", [2], False, struct.pack("<2d", 1, 2))
npy(out + "/short.npy", "<f4", [2, 3], False, struct.pack("<2f", 1, 2))
