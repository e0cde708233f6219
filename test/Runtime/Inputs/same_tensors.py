"""Compares the tensors of two safetensors checkpoints byte for byte (the
metadata, which records timings, may differ). Prints 'identical N tensors'
or the first tensor that differs, and exits 1 then. --only TEXT compares the
tensors whose names start with TEXT."""
import json, struct, sys


def tensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    return {k: body[v["data_offsets"][0]:v["data_offsets"][1]]
            for k, v in header.items() if k != "__metadata__"}



def main():
    args = sys.argv[1:]
    only = ""
    if args[0] == "--only":
        only, args = args[1], args[2:]
    a, b = tensors(args[0]), tensors(args[1])
    a = {k: v for k, v in a.items() if k.startswith(only)}
    b = {k: v for k, v in b.items() if k.startswith(only)}
    if sorted(a) != sorted(b):
        sys.exit("different tensor names")
    for name in sorted(a):
        if a[name] != b[name]:
            print("differ: " + name)
            sys.exit(1)
    print("identical %d tensors" % len(a))


if __name__ == "__main__":
    main()
