#!/usr/bin/env python3
"""The peer: models/dcgan/dcgan.gm written in PyTorch, trained the same way.

G: linear(100 -> 128*7*7), batch norm, ReLU, transposed conv 128 -> 64
(4x4, stride 2, padding 1), batch norm, ReLU, transposed conv 64 -> 1, tanh.
D: conv 1 -> 64 (4x4, stride 2, padding 1), LeakyReLU(0.2), conv 64 -> 128,
batch norm, LeakyReLU(0.2), linear(6272 -> 1). Weights N(0, 0.02), biases
zero; images scaled to [-1, 1]; non-saturating loss; Adam(2e-4, (0.5,
0.999)) per player; per batch one discriminator step, then one generator
step on fresh noise. Prints one JSON line: images/s over --steps steps
after --warm warm-up steps, sampling images/s (G on --sample latents), the
process's peak resident memory and the BLAS it mapped.
With --epochs N it trains N whole epochs instead (reshuffled each epoch, the
last partial batch dropped) and, with --samples-out FILE.npy, writes
--sample images from G (eval mode: batch norm with its running
statistics, as gm samples; values in [-1, 1]) for `gmrun fid --samples`.
"""
import argparse, json, resource, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from peer_util import setup, train_images


def init(m):
    if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0, 0.02)
        nn.init.zeros_(m.bias)


class G(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.bn0 = nn.Linear(100, 6272), nn.BatchNorm1d(6272)
        self.up1, self.bn1 = nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64)
        self.up2 = nn.ConvTranspose2d(64, 1, 4, 2, 1)

    def forward(self, z):
        h = F.relu(self.bn0(self.fc(z))).view(-1, 128, 7, 7)
        return torch.tanh(self.up2(F.relu(self.bn1(self.up1(h)))))


class D(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 64, 4, 2, 1), nn.Conv2d(64, 128, 4, 2, 1)
        self.bn, self.fc = nn.BatchNorm2d(128), nn.Linear(6272, 1)

    def forward(self, x):
        h = F.leaky_relu(self.c1(x), 0.2)
        h = F.leaky_relu(self.bn(self.c2(h)), 0.2)
        return self.fc(h.flatten(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warm", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sample", type=int, default=1000,
                    help="then time G on this many latents at once (train-mode batch norm, as gm)")
    ap.add_argument("--epochs", type=int, default=0, help="train whole epochs (quality runs)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--samples-out", default="", help="write --sample images to this .npy")
    a = ap.parse_args()
    setup(a.threads, a.seed)
    x = train_images(a.data)
    g, d = G(), D()
    g.apply(init)
    d.apply(init)
    og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    def step(real):
        fake = g(torch.randn(len(real), 100))
        ld = F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()
        od.zero_grad()
        ld.backward()
        od.step()
        lg = F.softplus(-d(g(torch.randn(len(real), 100)))).mean()
        og.zero_grad()
        lg.backward()
        og.step()

    if a.epochs:
        t0 = time.perf_counter()
        for epoch in range(a.epochs):
            perm = torch.randperm(len(x))
            for b in range(len(x) // a.batch):
                step(x[perm[b * a.batch:(b + 1) * a.batch]] * 2 - 1)
            print(json.dumps({"epoch": epoch + 1, "seconds": round(time.perf_counter() - t0, 1)}),
                  flush=True)
        if a.samples_out:
            g.eval()  # batch norm with running statistics, as gm samples
            with torch.no_grad():
                s = g(torch.randn(a.sample, 100)).reshape(a.sample, 784).numpy()
            np.save(a.samples_out, s.astype(np.float32))
        return
    perm = torch.randperm(len(x))
    t0 = None
    for i in range(a.warm + a.steps):
        if i == a.warm:
            t0 = time.perf_counter()
        step(x[perm[i * a.batch:(i + 1) * a.batch]] * 2 - 1)
    seconds = time.perf_counter() - t0
    # Sampling: G on a batch of latents, no gradients; the best of 5 after
    # one warm-up call.
    with torch.no_grad():
        g(torch.randn(a.sample, 100))
        best = min(timed(lambda: g(torch.randn(a.sample, 100))) for _ in range(5))
    print(json.dumps({"images_per_s": a.steps * a.batch / seconds, "version": torch.__version__,
                      "sample_images_per_s": a.sample / best,
                      "mkldnn": torch.backends.mkldnn.is_available(),
                      "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "blas": sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l})}))


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
