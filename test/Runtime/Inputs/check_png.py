"""Checks that a file is a valid 8-bit grayscale PNG; prints its size."""
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
assert depth == 8 and colour == 0, "not 8-bit grayscale"
raw = zlib.decompress(chunks[b"IDAT"])
assert len(raw) == h * (w + 1), "IDAT inflates to %d bytes" % len(raw)
assert b"IEND" in chunks
print("valid PNG %dx%d grayscale" % (w, h))
