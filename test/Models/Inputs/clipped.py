"""clipped.py CHECKPOINT PREFIX CLIP: every tensor of the safetensors
CHECKPOINT whose name starts with PREFIX has |w| <= CLIP (f32 rounding of
the clip allowed), and at least one weight sits at the clip (a clip that
never binds proves nothing); prints how many tensors and the largest |w|.
Exits 1 otherwise."""
import json
import struct
import sys


def main(path, prefix, clip):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    count, largest = 0, 0.0
    for name, info in header.items():
        if name == "__metadata__" or not name.startswith(prefix):
            continue
        a, b = info["data_offsets"]
        body = data[8 + n + a:8 + n + b]
        values = struct.unpack("<%df" % (len(body) // 4), body)
        top = max(abs(v) for v in values)
        if top > clip * (1 + 1e-6):
            sys.exit("%s has |w| = %g > %g" % (name, top, clip))
        largest = max(largest, top)
        count += 1
    if count == 0:
        sys.exit("no tensor named %s*" % prefix)
    if largest < clip * (1 - 1e-6):
        sys.exit("no weight reaches the clip %g (largest %g)" % (clip, largest))
    print("%d critic tensors within %g (largest %g)" % (count, clip, largest))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
