"""Compares rows of two float32 .npy files of images: `same_rows.py A.npy
I,J B.npy K,L [TOL]` prints, for each pair of rows (A's I with B's K, A's J
with B's L), 'same' when they are bitwise equal (or, given TOL, no value
differs by more than TOL), else 'differ' and the largest difference."""
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
    a, ia, b, ib = sys.argv[1:5]
    tol = float(sys.argv[5]) if len(sys.argv) > 5 else None
    ra, rb = rows(a), rows(b)
    for i, j in zip(map(int, ia.split(",")), map(int, ib.split(","))):
        x = struct.unpack("<%df" % (len(ra[i]) // 4), ra[i])
        y = struct.unpack("<%df" % (len(rb[j]) // 4), rb[j])
        worst = max(abs(p - q) for p, q in zip(x, y))
        same = ra[i] == rb[j] if tol is None else worst <= tol
        print("same" if same else "differ %g" % worst)


if __name__ == "__main__":
    main()
