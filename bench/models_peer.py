#!/usr/bin/env python3
"""The peers of bench/models.py: models/gan/gan.gm and models/beta_vae/beta_vae.gm
written in PyTorch, trained the same way.

    python3 bench/models_peer.py --model gan|beta_vae [--steps N] [--warm N]
                                 [--batch B] [--threads T] [--sample N]

gan: G 64 -> 256 -> 512 -> 784 (ReLU, ReLU, sigmoid), D 784 -> 512 -> 256 -> 1
(LeakyReLU 0.2), images in [0, 1], non-saturating loss, Adam(2e-4, (0.5,
0.999)) per player, per batch one discriminator step, then one generator step
on fresh noise. Sampling: G on --sample latents.

beta_vae: encoder conv 1 -> 32 -> 64 (4x4, stride 2, padding 1, ReLU), linear
3136 -> 256 (ReLU) -> 10 + 10 (mean, log-variance); decoder linear 10 -> 256
-> 3136 (ReLU), transposed conv 64 -> 32 (ReLU) -> 1, Bernoulli logits;
loss = mean over the batch of BCE-with-logits summed over pixels + 4 KL,
one posterior sample, Adam(1e-3). Sampling: the decoder's mean on --sample
prior draws.

PyTorch's default initialisation (uniform, bound 1/sqrt(fan_in), as gm's);
the speed does not depend on it. Prints one JSON line: training images/s over
--steps steps after --warm warm-up steps, sampling images/s (the best of 5
calls after a warm-up), the process's peak resident memory, and the BLAS
library the process mapped.
"""
import argparse, json, resource, time

import torch
import torch.nn as nn
import torch.nn.functional as F

from peer_util import setup, train_images


class GAN:
    def __init__(self):
        self.g = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(),
                               nn.Linear(512, 784), nn.Sigmoid())
        self.d = nn.Sequential(nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256),
                               nn.LeakyReLU(0.2), nn.Linear(256, 1))
        self.og = torch.optim.Adam(self.g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.od = torch.optim.Adam(self.d.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def step(self, x):
        x = x.reshape(len(x), 784)
        fake = self.g(torch.randn(len(x), 64))
        ld = F.softplus(-self.d(x)).mean() + F.softplus(self.d(fake.detach())).mean()
        self.od.zero_grad()
        ld.backward()
        self.od.step()
        lg = F.softplus(-self.d(self.g(torch.randn(len(x), 64)))).mean()
        self.og.zero_grad()
        lg.backward()
        self.og.step()

    def sample(self, n):
        return self.g(torch.randn(n, 64))


class BetaVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 32, 4, 2, 1), nn.Conv2d(32, 64, 4, 2, 1)
        self.e1, self.mu, self.lv = nn.Linear(3136, 256), nn.Linear(256, 10), nn.Linear(256, 10)
        self.d1, self.d2 = nn.Linear(10, 256), nn.Linear(256, 3136)
        self.u1, self.u2 = nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ConvTranspose2d(32, 1, 4, 2, 1)
        self.opt = torch.optim.Adam(self.parameters(), lr=1e-3)

    def decode(self, z):
        h = F.relu(self.d2(F.relu(self.d1(z)))).view(-1, 64, 7, 7)
        return self.u2(F.relu(self.u1(h)))

    def step(self, x):
        h = F.relu(self.c2(F.relu(self.c1(x))))
        h = F.relu(self.e1(h.flatten(1)))
        mu, logvar = self.mu(h), self.lv(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        rec = F.binary_cross_entropy_with_logits(self.decode(z), x, reduction="none")
        kl = 0.5 * (mu * mu + logvar.exp() - 1 - logvar).sum(1)
        loss = (rec.flatten(1).sum(1) + 4 * kl).mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()

    def sample(self, n):
        return torch.sigmoid(self.decode(torch.randn(n, 10)))


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=("gan", "beta_vae"), required=True)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warm", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sample", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    setup(a.threads, a.seed)
    x = train_images(a.data)
    model = GAN() if a.model == "gan" else BetaVAE()
    perm = torch.randperm(len(x))
    t0 = None
    for i in range(a.warm + a.steps):
        if i == a.warm:
            t0 = time.perf_counter()
        model.step(x[perm[i * a.batch:(i + 1) * a.batch]])
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        model.sample(a.sample)
        best = min(timed(lambda: model.sample(a.sample)) for _ in range(5))
    libs = sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l})
    print(json.dumps({"images_per_s": a.steps * a.batch / seconds,
                      "sample_images_per_s": a.sample / best, "version": torch.__version__,
                      "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "blas": libs}))


if __name__ == "__main__":
    main()
