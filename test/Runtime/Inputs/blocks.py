"""Whether float32 .npy images (rows of S*S values) are made of constant
B x B blocks: `blocks.py FILE.npy B...` prints, per B, 'blocks of B:
constant' when every block of every image holds one value, else 'blocks of
B: vary'. An image upsampled from S/B x S/B is constant in B x B blocks."""
import sys

from same_rows import rows
import struct


def main():
    images = [struct.unpack("<%df" % (len(r) // 4), r) for r in rows(sys.argv[1])]
    side = int(round(len(images[0]) ** 0.5))
    for b in map(int, sys.argv[2:]):
        const = all(img[(y0 + dy) * side + x0 + dx] == img[y0 * side + x0]
                    for img in images
                    for y0 in range(0, side, b) for x0 in range(0, side, b)
                    for dy in range(b) for dx in range(b))
        print("blocks of %d: %s" % (b, "constant" if const else "vary"))


main()
