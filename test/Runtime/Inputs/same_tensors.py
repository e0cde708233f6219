"""Compares the tensors of two safetensors checkpoints byte for byte (the
metadata, which records timings, may differ). Prints 'identical N tensors'
or the first tensor that differs, and exits 1 then. --only TEXT compares the
tensors whose names start with TEXT. --tolerance T compares f32 values
instead of bytes: |a - b| <= T * max(1, |b|) for every element, and prints
'within T: N tensors, largest difference D (NAME)'."""
import array, json, struct, sys


def tensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    return {k: body[v["data_offsets"][0]:v["data_offsets"][1]]
            for k, v in header.items() if k != "__metadata__"}



def main():
    args = sys.argv[1:]
    only, tolerance = "", None
    while args[0] in ("--only", "--tolerance"):
        if args[0] == "--only":
            only = args[1]
        else:
            tolerance = float(args[1])
        args = args[2:]
    a, b = tensors(args[0]), tensors(args[1])
    a = {k: v for k, v in a.items() if k.startswith(only)}
    b = {k: v for k, v in b.items() if k.startswith(only)}
    if sorted(a) != sorted(b):
        sys.exit("different tensor names")
    if tolerance is not None:
        worst, worst_name = 0.0, ""
        for name in sorted(a):
            x, y = array.array("f", a[name]), array.array("f", b[name])
            for u, v in zip(x, y):
                d = abs(u - v)
                if not d <= tolerance * max(1.0, abs(v)):
                    print("differ: %s (%r against %r)" % (name, u, v))
                    sys.exit(1)
                if d > worst:
                    worst, worst_name = d, name
        print("within %g: %d tensors, largest difference %.3g%s" %
              (tolerance, len(a), worst, " (%s)" % worst_name if worst_name else ""))
        return
    for name in sorted(a):
        if a[name] != b[name]:
            print("differ: " + name)
            sys.exit(1)
    print("identical %d tensors" % len(a))


if __name__ == "__main__":
    main()
