"""Inputs for test/Runtime/fid.test (no numpy here).

  yardstick.py images IDX_GZ OUT N      the first N images of an IDX file
                                        (gzip) as an (N, 784) .npy in [0, 1]
  yardstick.py constant IDX_GZ OUT N    image 0 of the file, N times: a
                                        generator that lost every mode
  yardstick.py sorted IDX_GZ OUT N      the first N images in the order of
                                        their labels (the labels-idx1 file
                                        beside it): a conditional
                                        generator's class blocks
"""
import gzip
import struct
import sys


def read_images(path, n):
    data = gzip.open(path, "rb").read()
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 2051:
        sys.exit("%s is not an IDX image file" % path)
    n = min(n, count)
    w = rows * cols
    body = data[16:16 + n * w]
    return n, w, [b / 255.0 for b in body]


def write_npy(path, shape, values):
    h = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % ", ".join(str(d) for d in shape)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode())
        f.write(struct.pack("<%df" % len(values), *values))


if __name__ == "__main__":
    cmd, idx, out, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if cmd == "images":
        n, w, v = read_images(idx, n)
        write_npy(out, (n, w), v)
    elif cmd == "sorted":
        n, w, v = read_images(idx, n)
        labels = gzip.open(idx.replace("images-idx3", "labels-idx1"), "rb").read()[8:8 + n]
        order = sorted(range(n), key=lambda i: labels[i])
        write_npy(out, (n, w), [x for i in order for x in v[i * w:(i + 1) * w]])
    elif cmd == "constant":
        _, w, v = read_images(idx, 1)
        write_npy(out, (n, w), v * n)
    else:
        sys.exit("unknown mode " + cmd)
