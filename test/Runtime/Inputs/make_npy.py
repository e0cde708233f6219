"""Writes .npy files by hand (no numpy here) for npy.test."""
import struct
import sys


def raw(path, header, payload):
    """A .npy file whose header dict is the text |header|."""
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
        f.write(header.encode() + payload)


def npy(path, descr, shape, fortran, payload):
    """As numpy writes it: "(4,)" for a 1-tuple, "(2, 2)" otherwise."""
    shape_text = "(" + "".join("%d, " % d for d in shape).rstrip(" ") + ")"
    if len(shape) > 1:
        shape_text = shape_text.replace(",)", ")")
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", shape_text)
    raw(path, header, payload)


out = sys.argv[1]
npy(out + "/u8.npy", "|u1", [4], False, bytes([1, 2, 3, 4]))
npy(out + "/fortran.npy", "<f4", [2, 2], True, struct.pack("<4f", 1, 2, 3, 4))
npy(out + "/f64.npy", "<f8", [2], False, struct.pack("<2d", 1, 2))
npy(out + "/short.npy", "<f4", [2, 3], False, struct.pack("<2f", 1, 2))
npy(out + "/one.npy", "<f4", [5], False, struct.pack("<5f", 1, 2, 3, 4, 5.5))
# Dict literals other writers produce: keys in another order with double
# quotes and no trailing comma, Python 2's long integers, a scalar.
raw(out + "/order.npy", '{"shape": (2,3), "fortran_order": False, "descr": "<f4"}',
    struct.pack("<6f", 1, 1, 1, 1, 1, 1.5))
raw(out + "/long.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (3L, 2L), }",
    bytes([1, 2, 3, 4, 5, 6]))
raw(out + "/scalar.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
    struct.pack("<f", 7))
# Headers gm rejects: not a dict, a fortran_order that is not a bool, no
# shape, a negative dimension.
raw(out + "/garbage.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3}",
    bytes(24))
raw(out + "/notbool.npy", "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", bytes(8))
raw(out + "/noshape.npy", "{'descr': '<f4', 'fortran_order': False, }", bytes(8))
raw(out + "/negative.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }",
    bytes(8))
