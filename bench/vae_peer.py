#!/usr/bin/env python3
"""The peer: models/vae/vae.gm written in PyTorch, trained the same way.

MLP VAE 784-400-20, Bernoulli decoder over pixel intensities in [0, 1]
(BCE with logits summed over the 784 pixels), one posterior sample per image,
Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8), batch 128 with the last partial
batch dropped, loss = mean over the batch of -ELBO (nats per image), PyTorch's
default initialisation (uniform with bound 1/sqrt(fan_in), as gm's). Prints
one JSON line per epoch like `gmrun train`.

Run it with OpenBLAS, not the reference BLAS (see TOOLCHAIN.md and
bench/vae.py, which sets the environment and checks the process maps).
"""
import argparse, gzip, json, os, resource, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load(dir, split):
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(os.path.join(dir, prefix + "-images-idx3-ubyte.gz")) as f:
        data = np.frombuffer(f.read(), np.uint8, offset=16)
    return torch.from_numpy(data.reshape(-1, 784).astype(np.float32) / 255.0)


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
        self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

    def neg_elbo(self, x):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = self.fc4(F.relu(self.fc3(z)))
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        kl = 0.5 * (mu * mu + logvar.exp() - 1 - logvar).sum(1)
        return (rec + kl).mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--steps", type=int, default=0, help="stop after this many steps")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep-denormals", action="store_true",
                    help="do not flush denormals to zero (gmrun flushes them by default)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(not a.keep_denormals)
    torch.manual_seed(a.seed)
    train, test = load(a.data, "train"), load(a.data, "test")
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    batch, step = 128, 0
    for epoch in range(a.epochs):
        order = torch.randperm(len(train))
        total, count, seconds = 0.0, 0, 0.0
        for b in range(len(train) // batch):
            if a.steps and step >= a.steps:
                break
            x = train[order[b * batch:(b + 1) * batch]]
            t0 = time.perf_counter()
            loss = model.neg_elbo(x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seconds += time.perf_counter() - t0
            total += loss.item()
            count += 1
            step += 1
        with torch.no_grad():
            test_loss = sum(model.neg_elbo(test[i:i + 500]).item() * len(test[i:i + 500])
                            for i in range(0, len(test), 500)) / len(test)
        print(json.dumps({"epoch": epoch + 1, "step": step, "train_loss": round(total / count, 4),
                          "test_neg_elbo": round(test_loss, 4),
                          "images_per_s": round(count * batch / seconds, 1),
                          "train_seconds": round(seconds, 3)}), flush=True)
    libs = sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l})
    print(json.dumps({"blas": libs, "peak_memory_mb":
                      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)


if __name__ == "__main__":
    main()
