"""Compares rows of two float32 .npy files of images: `same_rows.py A.npy
I,J B.npy K,L` prints, for each pair of rows (A's I with B's K, A's J with
B's L), 'same' when they are bitwise equal, else 'differ'."""
import ast, struct, sys


def rows(path):
    data = open(path, "rb").read()
    assert data[:6] == b"\x93NUMPY", path
    major = data[6]
    (n,) = struct.unpack("<H" if major == 1 else "<I", data[8:10] if major == 1 else data[8:12])
    start = (10 if major == 1 else 12)
    header = ast.literal_eval(data[start:start + n].decode())
    assert header["descr"] == "<f4" and not header["fortran_order"], header
    count, width = header["shape"]
    body = data[start + n:]
    return [body[r * width * 4:(r + 1) * width * 4] for r in range(count)]


def main():
    a, ia, b, ib = sys.argv[1:]
    ra, rb = rows(a), rows(b)
    for i, j in zip(map(int, ia.split(",")), map(int, ib.split(","))):
        print("same" if ra[i] == rb[j] else "differ")


main()
