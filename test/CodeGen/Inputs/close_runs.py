"""Compares two `gmrun run` outputs value by value.

    close_runs.py A B TOLERANCE

Each output is blocks of a `NAME:` line followed by one number a line (the
results, or a --print-param tensor). Every value of A must be within
TOLERANCE * max(1, |b|) of B's; prints 'within T: N values, largest
difference D', or the first value that is not and exits 1.
"""
import sys


def blocks(path):
    """A `gmrun run` output as {NAME: [values]} (also mixture_draws.py's)."""
    out, name = {}, None
    for line in open(path):
        line = line.strip()
        if line.endswith(":"):
            name = line[:-1]
            out[name] = []
        elif line and name:
            out[name].append(float(line))
    return out


def main():
    a, b, tolerance = blocks(sys.argv[1]), blocks(sys.argv[2]), float(sys.argv[3])
    if list(a) != list(b) or any(len(a[k]) != len(b[k]) for k in a):
        sys.exit("different blocks: %s against %s" % ({k: len(v) for k, v in a.items()},
                                                      {k: len(v) for k, v in b.items()}))
    worst, count = 0.0, 0
    for name in a:
        for i, (x, y) in enumerate(zip(a[name], b[name])):
            d = abs(x - y)
            if not d <= tolerance * max(1.0, abs(y)):
                sys.exit("%s[%d]: %r against %r" % (name, i, x, y))
            worst, count = max(worst, d), count + 1
    print("within %g: %d values, largest difference %.3g" % (tolerance, count, worst))


if __name__ == "__main__":
    main()
