"""Shape and values of a float32 .npy of samples: '2 x 784, binary, 1568 values'."""
import ast, struct, sys

data = open(sys.argv[1], "rb").read()
assert data[:6] == b"\x93NUMPY", "not an .npy file"
size = struct.unpack("<H", data[8:10])[0]
header = ast.literal_eval(data[10:10 + size].decode())
assert header["descr"] == "<f4" and not header["fortran_order"], header
values = struct.unpack("<%df" % (len(data[10 + size:]) // 4), data[10 + size:])
kind = "binary" if all(v in (0.0, 1.0) for v in values) else "not binary"
print("%s, %s, %d values" % (" x ".join(map(str, header["shape"])), kind, len(values)))
