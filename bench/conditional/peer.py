#!/usr/bin/env python3
"""The PyTorch 1.13 peer of bench/conditional/cgan.gm (a label-conditioned MLP
GAN) and, with --aux, of acgan.gm (the same G, a D with an auxiliary
classifier head on the image only): same nets, PyTorch's default init (gm's
uniform(1/sqrt(fan_in))), Adam 2e-4 / beta1 0.5, batch 128, one thread.
Writes 10,000 samples, 1,000 per class in class order, for

    gmrun fid --samples OUT.npy --classifier ... --classifier-checkpoint ...

    /usr/bin/python3 bench/conditional/peer.py OUT.npy [--aux] [--epochs N]

gm's side: gmc bench/conditional/cgan.gm -o cgan.gmx; gmrun train cgan.gmx
--epochs 5; gmrun fid cgan.gmx --checkpoint ... (models/text2image/README.md
has both sides' numbers).
"""
import argparse, gzip, os, struct, time
import numpy as np, torch, torch.nn as nn

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--aux", action="store_true")
ap.add_argument("--epochs", type=int, default=5)
a = ap.parse_args()
torch.set_num_threads(1); torch.manual_seed(1); np.random.seed(1)
d = "/usr/share/datasets/fashion-mnist/"
def idx(p):
    b = gzip.open(p).read() if p.endswith(".gz") else open(p, "rb").read()
    nd = b[3]; dims = struct.unpack(">" + "I" * nd, b[4:4 + 4 * nd])
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)
f = lambda s: [os.path.join(d, x) for x in os.listdir(d) if x.startswith(s)][0]
X = torch.tensor(idx(f("train-images")).reshape(-1, 784) / 255.0, dtype=torch.float32)
Y = torch.nn.functional.one_hot(torch.tensor(idx(f("train-labels")).astype(np.int64)), 10).float()
G = nn.Sequential(nn.Linear(74, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 784), nn.Sigmoid())
class DD(nn.Module):
    """cgan: D(x, y); acgan: D(x) with a real/fake and a class head."""
    def __init__(s):
        super().__init__()
        s.t = nn.Sequential(nn.Linear(784 if a.aux else 794, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256), nn.LeakyReLU(0.2))
        s.a = nn.Linear(256, 1); s.c = nn.Linear(256, 10)
    def forward(s, x, y):
        h = s.t(x if a.aux else torch.cat([x, y], 1)); return s.a(h), s.c(h)
D = DD()
ce = lambda logits, y: -(torch.log_softmax(logits, 1) * y).sum(1).mean()
og = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999)); od = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
bce = nn.BCEWithLogitsLoss(); B = 128
for ep in range(a.epochs):
    perm = torch.randperm(60000); t = time.time()
    for i in range(0, 60000 - B + 1, B):
        x, y = X[perm[i:i + B]], Y[perm[i:i + B]]
        fake = G(torch.cat([torch.randn(B, 64), y], 1))
        rs, rc = D(x, y); fs, _ = D(fake.detach(), y)
        ld = bce(rs, torch.ones(B, 1)) + bce(fs, torch.zeros(B, 1)) + (ce(rc, y) if a.aux else 0)
        od.zero_grad(); ld.backward(); od.step()
        fs, fc = D(fake, y)
        lg = bce(fs, torch.ones(B, 1)) + (ce(fc, y) if a.aux else 0)
        og.zero_grad(); lg.backward(); og.step()
    print(ep + 1, round(ld.item(), 4), round(lg.item(), 4), round(time.time() - t, 1), flush=True)
with torch.no_grad():
    y = torch.nn.functional.one_hot(torch.arange(10000) // 1000, 10).float()
    s = G(torch.cat([torch.randn(10000, 64), y], 1)).numpy()
np.save(a.out, s.astype(np.float32))
