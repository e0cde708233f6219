#!/usr/bin/env python3
"""The PyTorch peer of models/nade/nade.gm: NADE with H hidden units on
binarised Fashion-MNIST (x > 0.5), Adam, the same initialisation scales.

    python3 bench/nade_peer.py [--steps N | --epochs E] [--batch B] [--threads T]
                               [--sample N] [--data DIR]

The conditionals run as the usual loop over the D pixels with the shared
pre-activation a (Larochelle & Murray's O(DH) recurrence): the fastest form
in PyTorch, since the vectorised (B, D, H) form is 7x slower and takes
157 MB at batch 100. Prints one JSON line: training images/s over the
steps after the first (--steps), or the test NLL in nats after each epoch
(--epochs); and ancestral sampling images/s at batch --sample.
"""
import argparse, gzip, json, os, struct, time

import numpy as np
import torch


def load(path, split):
    prefix = "train" if split == "train" else "t10k"
    for name in (f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-images-idx3-ubyte"):
        p = os.path.join(path, name)
        if os.path.exists(p):
            raw = (gzip.open if p.endswith(".gz") else open)(p, "rb").read()
            n, rows, cols = struct.unpack(">III", raw[4:16])
            x = np.frombuffer(raw, np.uint8, offset=16).reshape(n, rows * cols)
            return torch.from_numpy((x > 127.5).astype(np.float32))  # x / 255 > 0.5
    raise SystemExit(f"no Fashion-MNIST {split} images under {path}")


class NADE(torch.nn.Module):
    def __init__(self, d=784, h=500):
        super().__init__()
        # gmc's initialisers: uniform(+-1/sqrt(fan_in)) for W (fan-in D) and
        # V (fan-in H), zeros for the biases.
        self.W = torch.nn.Parameter(torch.empty(h, d).uniform_(-d ** -0.5, d ** -0.5))
        self.c = torch.nn.Parameter(torch.zeros(h))
        self.V = torch.nn.Parameter(torch.empty(d, h).uniform_(-h ** -0.5, h ** -0.5))
        self.b = torch.nn.Parameter(torch.zeros(d))

    def forward(self, x):
        a = self.c.expand(x.shape[0], -1)
        logits = []
        for i in range(x.shape[1]):
            h = torch.sigmoid(a)
            logits.append(h @ self.V[i] + self.b[i])
            a = a + x[:, i:i + 1] * self.W[:, i]
        return torch.stack(logits, 1)

    def log_prob(self, x):
        l = self.forward(x)
        return (x * l - torch.nn.functional.softplus(l)).sum(1)

    @torch.no_grad()
    def sample(self, n):
        a = self.c.expand(n, -1)
        x = torch.zeros(n, self.W.shape[1])
        for i in range(x.shape[1]):
            p = torch.sigmoid(torch.sigmoid(a) @ self.V[i] + self.b[i])
            x[:, i] = torch.bernoulli(p)
            a = a + x[:, i:i + 1] * self.W[:, i]
        return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sample", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train = load(a.data, "train")
    model = NADE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    out = {"peer": "pytorch " + torch.__version__, "threads": a.threads, "batch": a.batch}

    def step(x):
        opt.zero_grad()
        loss = -model.log_prob(x).mean()
        loss.backward()
        opt.step()
        return loss.item()

    if a.steps:
        step(train[:a.batch])  # the dispatcher's first call, not timed
        t = time.perf_counter()
        for s in range(a.steps):
            i = (s * a.batch) % (len(train) - a.batch)
            step(train[i:i + a.batch])
        out["train_images_per_s"] = a.steps * a.batch / (time.perf_counter() - t)
    if a.epochs:
        test = load(a.data, "t10k")
        nll = []
        for e in range(a.epochs):
            perm = torch.randperm(len(train))
            for i in range(0, len(train) - a.batch + 1, a.batch):
                step(train[perm[i:i + a.batch]])
            with torch.no_grad():
                nll.append(-sum(model.log_prob(test[i:i + 1000]).sum().item()
                                for i in range(0, len(test), 1000)) / len(test))
        out["test_nll_per_epoch"] = nll
    if a.sample:
        model.sample(10)
        t = time.perf_counter()
        model.sample(a.sample)
        out["sample_images_per_s"] = a.sample / (time.perf_counter() - t)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
