"""Checks that a file is a valid 8-bit grayscale or RGB PNG; prints its size
and kind. --colour R,G,B (repeatable) also prints how many pixels have that
exact colour (RGB only), e.g. to see that a plot drew each curve."""
import struct
import sys
import zlib

data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "bad signature"
at, chunks = 8, {}
while at < len(data):
    (length,) = struct.unpack(">I", data[at:at + 4])
    kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
    (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
    assert zlib.crc32(kind + body) == crc, "bad CRC in %r" % kind
    chunks[kind] = body
    at += 12 + length
w, h, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
assert depth == 8 and colour in (0, 2), "not 8-bit grayscale or RGB"
channels = 3 if colour == 2 else 1
raw = zlib.decompress(chunks[b"IDAT"])
assert len(raw) == h * (w * channels + 1), "IDAT inflates to %d bytes" % len(raw)
assert b"IEND" in chunks
print("valid PNG %dx%d %s" % (w, h, "rgb" if channels == 3 else "grayscale"))
args = sys.argv[2:]
while args:
    assert args[0] == "--colour" and channels == 3, "usage: check_png.py FILE [--colour R,G,B]..."
    want = bytes(int(v) for v in args[1].split(","))
    n = 0
    for row in range(h):
        line = raw[row * (w * 3 + 1) + 1:(row + 1) * (w * 3 + 1)]
        n += sum(1 for i in range(0, w * 3, 3) if line[i:i + 3] == want)
    print("colour %s: %d pixels" % (args[1], n))
    args = args[2:]
