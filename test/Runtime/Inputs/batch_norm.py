"""For batch-norm.test (no numpy here).

data OUT.npy: 5 examples of shape (2, 3), float32.
check CKPT DATA.npy MOMENTUM STEPS: compares the running statistics in a
  checkpoint with PyTorch's rule after STEPS steps on the whole array:
  mean_k = (1 - (1-m)^k) mu, var_k = (1-m)^k + (1 - (1-m)^k) s2, with s2
  the unbiased per-channel variance. Prints 'running statistics match' or
  the first mismatch (and exits 1).
same-first A.npy B.npy: the first rows of two sample files agree within
  1e-5 ('first image identical'), else exits 1 with the largest difference.
"""
import json, struct, sys


def read_npy(path):
    d = open(path, "rb").read()
    n = struct.unpack("<H", d[8:10])[0]
    body = d[10 + n:]
    return list(struct.unpack("<%df" % (len(body) // 4), body))


def tensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = list(struct.unpack("<%df" % ((b - a) // 4), body[a:b]))
    return out


def main():
    cmd = sys.argv[1]
    if cmd == "data":
        vals = [((i * 37) % 11) / 3.0 - 1.5 + 0.1 * i for i in range(5 * 6)]
        header = "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 2, 3), }"
        header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
        with open(sys.argv[2], "wb") as f:
            f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
            f.write(header.encode() + struct.pack("<%df" % len(vals), *vals))
    elif cmd == "check":
        t = tensors(sys.argv[2])
        x = read_npy(sys.argv[3])
        m, k = float(sys.argv[4]), int(sys.argv[5])
        keep = (1 - m) ** k
        for c in range(2):
            vals = [x[(n * 2 + c) * 3 + i] for n in range(5) for i in range(3)]
            mu = sum(vals) / len(vals)
            s2 = sum((v - mu) ** 2 for v in vals) / (len(vals) - 1)
            want = {"mean": (1 - keep) * mu, "var": keep + (1 - keep) * s2}
            for stat in ("mean", "var"):
                got = t["f.batch_norm0.running_" + stat][c]
                if abs(got - want[stat]) > 1e-5 * max(1.0, abs(want[stat])):
                    print("channel %d running_%s: %r, expected %r" % (c, stat, got, want[stat]))
                    sys.exit(1)
        print("running statistics match")
    elif cmd == "same-first":
        a, b = read_npy(sys.argv[2]), read_npy(sys.argv[3])
        w = len(a)
        diff = max(abs(a[i] - b[i]) for i in range(w))
        if diff > 1e-5:
            print("first images differ by up to %g" % diff)
            sys.exit(1)
        print("first image identical")


if __name__ == "__main__":
    main()
