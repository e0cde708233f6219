"""Independent checks of gmrun score and gmrun anomaly (no numpy here).

  density.py rows DIR N            N grey 28x28 images (a fixed pattern)
                                   as DIR/rows.npy (f32) and DIR/rows.idx
                                   (IDX bytes 0/255)
  density.py independent CKPT SCORES ROWS
                                   log p(x) of the independent-pixel model
                                   in closed form from the checkpoint's
                                   logits theta, against gmrun's scores
  density.py means CKPT SAMPLES   the pixel frequencies of gmrun sample's
                                   images from the independent-pixel model
                                   against sigmoid(theta): within 6 standard
                                   errors everywhere
  density.py binary OUT D           all 2^D binary vectors of length D
  density.py random OUT N D         N random binary vectors (seeded)
  density.py mlfit CKPT DATA        the independent-pixel model's trained
                                   theta against its closed-form maximum
                                   likelihood fit logit(mean of x_d) on DATA
  density.py total SCORES           sum of exp(log p) over the scored rows:
                                   1 for a normalised density
  density.py levels OUT             all 256^2 pairs of 8-bit values k / 255
  density.py random8 OUT N D        N random vectors of 8-bit values k / 255
                                   (seeded; neighbours correlated)
  density.py histogram SCORES SAMPLES
                                   gmrun sample's 2-value samples against
                                   the scored density of every pair (rows
                                   in `levels` order): the frequency of each
                                   of 4 x 4 blocks of 64 x 64 pairs within
                                   6 standard errors of its probability, and
                                   every sample on the 8-bit grid
  density.py auroc SCORES LABELS CLASS JSON
                                   ROC-AUC of -log p(x) for "label != CLASS"
                                   by brute force over all pairs of a sample,
                                   and exactly by ranks, against the
                                   "auroc" of gmrun anomaly's JSON line
"""
import gzip, json, math, random, struct, sys


def read_npy(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<H", data[8:10])
    header = data[10:10 + n].decode()
    shape = eval(header)["shape"]
    count = 1
    for d in shape:
        count *= d
    return shape, list(struct.unpack("<%df" % count, data[10 + n:10 + n + 4 * count]))


def write_npy(path, shape, values):
    h = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else ""))
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode())
        f.write(struct.pack("<%df" % len(values), *values))


def tensor(path, name):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    a, b = header[name]["data_offsets"]
    body = data[8 + n + a:8 + n + b]
    return list(struct.unpack("<%df" % (len(body) // 4), body))


def rows(out, n):
    rnd = random.Random(7)
    # Grey levels on both sides of 0.5: a model reading "?binary" data sees
    # them as 0 or 1, which the closed form below assumes.
    pix = [rnd.choice([0.0, 0.2, 0.4, 0.6, 0.8, 1.0]) for _ in range(n * 784)]
    write_npy(out + "/rows.npy", (n, 784), pix)
    with open(out + "/rows.idx", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28))
        f.write(bytes(int(round(v * 255)) for v in pix))
    print("wrote %d rows" % n)


def independent(ckpt, scores, rows_path):
    theta = tensor(ckpt, "theta")
    shape, x = read_npy(rows_path)
    _, s = read_npy(scores)
    n, d = shape
    worst = 0.0
    for i in range(n):
        # log p(x) = sum_d x_d log sigmoid(t_d) + (1 - x_d) log sigmoid(-t_d),
    # with x binarised (x > 0.5).
        lp = 0.0
        for j in range(d):
            t = theta[j]
            lp += -math.log1p(math.exp(-t)) if x[i * d + j] > 0.5 else -math.log1p(math.exp(t))
        worst = max(worst, abs(lp - s[i]) / max(1.0, abs(lp)))
    if worst > 1e-5:
        sys.exit("score differs from the closed form by %g (relative)" % worst)
    print("closed form matches %d scores" % n)


def means(ckpt, samples):
    theta = tensor(ckpt, "theta")
    (n, d), x = read_npy(samples)
    assert set(x) <= {0.0, 1.0}, "samples are not binary"
    worst = 0.0
    for j in range(d):
        p = 1 / (1 + math.exp(-theta[j]))
        freq = sum(x[i * d + j] for i in range(n)) / n
        se = math.sqrt(max(p * (1 - p), 1e-4) / n)
        worst = max(worst, abs(freq - p) / se)
    if worst > 6:
        sys.exit("a pixel's frequency is %.1f standard errors from sigmoid(theta)" % worst)
    print("pixel frequencies match sigmoid(theta) in %d samples" % n)


def auroc(scores, labels_path, cls, json_path):
    _, s = read_npy(scores)
    raw = gzip.open(labels_path).read()
    labels = list(raw[8:])
    assert len(labels) == len(s)
    anomaly = [-v for v in s]
    pos = [a for a, l in zip(anomaly, labels) if l != cls]
    neg = [a for a, l in zip(anomaly, labels) if l == cls]
    # Exactly: ranks with ties averaged.
    order = sorted(range(len(anomaly)), key=lambda i: anomaly[i])
    rank = [0.0] * len(anomaly)
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and anomaly[order[j]] == anomaly[order[i]]:
            j += 1
        for t in range(i, j):
            rank[order[t]] = (i + j + 1) / 2.0
        i = j
    rsum = sum(r for r, l in zip(rank, labels) if l != cls)
    exact = (rsum - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg))
    # By definition, on a sample of pairs: P(positive above negative).
    rnd = random.Random(3)
    pairs = [(rnd.choice(pos), rnd.choice(neg)) for _ in range(20000)]
    sampled = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p, q in pairs) / len(pairs)
    if abs(sampled - exact) > 0.02:
        sys.exit("rank AUROC %f disagrees with the pair sample %f" % (exact, sampled))
    got = [json.loads(l) for l in open(json_path) if '"class"' in l]
    got = [g for g in got if g["class"] == cls][0]["auroc"]
    if abs(got - exact) > 1e-5:
        sys.exit("gmrun anomaly says %f, the ranks give %f" % (got, exact))
    print("auroc matches: %.4f" % exact)


def mlfit(ckpt, data):
    theta = tensor(ckpt, "theta")
    (n, d), x = read_npy(data)
    worst, nll_fit, nll_ml = 0.0, 0.0, 0.0
    for j in range(d):
        m = sum(x[i * d + j] for i in range(n)) / n
        ml = math.log(m / (1 - m))
        worst = max(worst, abs(theta[j] - ml))
        # per-example NLL of pixel j under theta and under the ML fit
        p, q = 1 / (1 + math.exp(-theta[j])), m
        nll_fit -= m * math.log(p) + (1 - m) * math.log(1 - p)
        nll_ml -= m * math.log(q) + (1 - m) * math.log(1 - q)
    if worst > 0.1 or nll_fit - nll_ml > 1e-3 * nll_ml:
        sys.exit("trained theta is %.3f from logit(mean) somewhere; NLL %.4f against the "
                 "ML fit's %.4f" % (worst, nll_fit, nll_ml))
    print("training reaches the closed-form ML fit: NLL %.3f against %.3f nats" % (nll_fit, nll_ml))


def total(scores):
    _, s = read_npy(scores)
    z = sum(math.exp(v) for v in s)
    if abs(z - 1) > 1e-4:
        sys.exit("p(x) sums to %.6f over %d vectors, not 1" % (z, len(s)))
    print("p(x) sums to 1 over %d vectors" % len(s))


def histogram(scores, samples):
    _, s = read_npy(scores)
    (n, d), x = read_npy(samples)
    if d != 2 or len(s) != 256 * 256:
        sys.exit("expected 2-value samples and 65536 scores")
    prob = [[0.0] * 4 for _ in range(4)]
    for k, v in enumerate(s):
        prob[(k // 256) // 64][(k % 256) // 64] += math.exp(v)
    count = [[0] * 4 for _ in range(4)]
    for i in range(n):
        a, b = x[2 * i] * 255, x[2 * i + 1] * 255
        if abs(a - round(a)) > 1e-3 or abs(b - round(b)) > 1e-3 or not (0 <= a <= 255 and 0 <= b <= 255):
            sys.exit("sample %d (%g, %g) is not on the 8-bit grid" % (i, x[2 * i], x[2 * i + 1]))
        count[int(round(a)) // 64][int(round(b)) // 64] += 1
    worst = 0.0
    for i in range(4):
        for j in range(4):
            p, f = prob[i][j], count[i][j] / n
            se = math.sqrt(max(p * (1 - p), 1e-6) / n)
            worst = max(worst, abs(f - p) / se)
            if abs(f - p) > 6 * se:
                sys.exit("block (%d, %d): frequency %.4f, probability %.4f (%.1f standard errors)"
                         % (i, j, f, p, abs(f - p) / se))
    print("%d samples match the density within 6 standard errors" % n)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "binary":
        d = int(sys.argv[3])
        write_npy(sys.argv[2], (2 ** d, d),
                  [float((k >> (d - 1 - j)) & 1) for k in range(2 ** d) for j in range(d)])
    elif cmd == "random":
        n, d = int(sys.argv[3]), int(sys.argv[4])
        rnd = random.Random(5)
        write_npy(sys.argv[2], (n, d), [float(rnd.random() < 0.4) for _ in range(n * d)])
    elif cmd == "levels":
        write_npy(sys.argv[2], (65536, 2), [k / 255.0 for a in range(256) for b in range(256) for k in (a, b)])
    elif cmd == "random8":
        n, d = int(sys.argv[3]), int(sys.argv[4])
        rnd = random.Random(5)
        vals = []
        for _ in range(n):
            k = rnd.randrange(256)
            for _ in range(d):
                vals.append(k / 255.0)
                k = min(255, max(0, k + rnd.randrange(-20, 21)))
        write_npy(sys.argv[2], (n, d), vals)
    elif cmd == "histogram":
        histogram(sys.argv[2], sys.argv[3])
    elif cmd == "mlfit":
        mlfit(sys.argv[2], sys.argv[3])
    elif cmd == "total":
        total(sys.argv[2])
    elif cmd == "rows":
        rows(sys.argv[2], int(sys.argv[3]))
    elif cmd == "independent":
        independent(*sys.argv[2:5])
    elif cmd == "means":
        means(sys.argv[2], sys.argv[3])
    elif cmd == "auroc":
        auroc(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
