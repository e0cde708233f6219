#!/usr/bin/env python3
"""PyTorch on a GPU: the peer of scripts/gpu-check.sh's `gmrun --device cuda`.

The training steps of bench/vae_peer.py (the MLP VAE, batch 128) and
bench/dcgan_peer.py (both players of the DCGAN, batch 64), on random data of
the same shapes (the lent GPU machines have no data set), timed over --steps
after --warm steps with the device synchronised, eagerly and under
torch.compile. Prints one line per model and mode:

    vae eager: 41234 img/s (PyTorch 2.11.0+cu130, NVIDIA H100 80GB HBM3)

so the gm and PyTorch numbers of one gpu-check run come from one machine.
"""
import argparse, os, sys, time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dcgan_peer import D, G, init  # noqa: E402
from vae_peer import VAE  # noqa: E402


def timed(step, steps, warm, device):
    for _ in range(warm):
        step()
    torch.cuda.synchronize(device) if device.type == "cuda" else None
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize(device) if device.type == "cuda" else None
    return (time.perf_counter() - t0) / steps


def vae_step(device, compiled):
    model = VAE().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    loss = torch.compile(model.neg_elbo) if compiled else model.neg_elbo
    x = torch.rand(128, 784, device=device)

    def step():
        opt.zero_grad()
        loss(x).backward()
        opt.step()
    return step, 128


def dcgan_step(device, compiled):
    g, d = G().to(device), D().to(device)
    g.apply(init)
    d.apply(init)
    og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    gf, df = (torch.compile(g), torch.compile(d)) if compiled else (g, d)
    real = torch.rand(64, 1, 28, 28, device=device) * 2 - 1

    def step():
        fake = gf(torch.randn(64, 100, device=device))
        ld = F.softplus(-df(real)).mean() + F.softplus(df(fake.detach())).mean()
        od.zero_grad()
        ld.backward()
        od.step()
        lg = F.softplus(-df(gf(torch.randn(64, 100, device=device)))).mean()
        og.zero_grad()
        lg.backward()
        og.step()
    return step, 64


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warm", type=int, default=20)
    ap.add_argument("--modes", default="eager,compiled")
    a = ap.parse_args()
    device = torch.device(a.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    torch.manual_seed(1)
    for model, make in (("vae", vae_step), ("dcgan", dcgan_step)):
        for mode in a.modes.split(","):
            try:
                step, batch = make(device, mode == "compiled")
                seconds = timed(step, a.steps, a.warm, device)
                print("%s %s: %.0f img/s (PyTorch %s, %s)" % (model, mode, batch / seconds,
                                                             torch.__version__, name), flush=True)
            except Exception as e:  # a peer that cannot run says why, and the rest go on
                print("%s %s: failed: %s" % (model, mode, str(e).splitlines()[0][:200]), flush=True)


if __name__ == "__main__":
    main()
