#!/usr/bin/env python3
"""The JAX peer: models/vae/vae.gm (and bench/vae_peer.py) in JAX, the whole
training step (forward, gradient, Adam update) one `jax.jit` function.

MLP VAE 784-400-20, Bernoulli decoder over pixel intensities (BCE with
logits summed over the 784 pixels), one posterior sample per image,
Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8), batch 128 with the last partial
batch dropped, loss = mean over the batch of -ELBO, weights and biases
uniform with bound 1/sqrt(fan_in) (PyTorch's and gm's). Prints one JSON line
per epoch like `gmrun train` and bench/vae_peer.py. The first step
(tracing and XLA compilation) is timed apart, as "compile_seconds".

Threads: XLA's CPU client runs a step's ops on an Eigen pool; --threads 1
turns it off (--xla_cpu_multi_thread_eigen=false) and the caller pins the
process to as many cores as it asks for (bench/vae.py uses taskset).

Needs: pip install jax (CPU). Not a dependency of gm.
"""
import argparse, gzip, json, os, sys, time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    flags = os.environ.get("XLA_FLAGS", "")
    if a.threads == 1:
        flags += " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    os.environ["XLA_FLAGS"] = flags.strip()

    import numpy as np
    import jax
    import jax.numpy as jnp

    def load(split):
        prefix = "train" if split == "train" else "t10k"
        with gzip.open(os.path.join(a.data, prefix + "-images-idx3-ubyte.gz")) as f:
            data = np.frombuffer(f.read(), np.uint8, offset=16)
        return data.reshape(-1, 784).astype(np.float32) / 255.0

    sizes = {"fc1": (784, 400), "fc21": (400, 20), "fc22": (400, 20), "fc3": (20, 400),
             "fc4": (400, 784)}
    key = jax.random.PRNGKey(a.seed)
    params = {}
    for name, (fan_in, fan_out) in sizes.items():
        key, kw, kb = jax.random.split(key, 3)
        bound = 1.0 / np.sqrt(fan_in)
        params[name] = (jax.random.uniform(kw, (fan_in, fan_out), jnp.float32, -bound, bound),
                        jax.random.uniform(kb, (fan_out,), jnp.float32, -bound, bound))

    def linear(p, x):
        return x @ p[0] + p[1]

    def neg_elbo(params, x, key):
        h = jax.nn.relu(linear(params["fc1"], x))
        mu, logvar = linear(params["fc21"], h), linear(params["fc22"], h)
        z = mu + jnp.exp(0.5 * logvar) * jax.random.normal(key, mu.shape)
        logits = linear(params["fc4"], jax.nn.relu(linear(params["fc3"], z)))
        # BCE with logits, summed over pixels: softplus(l) - x l.
        rec = (jax.nn.softplus(logits) - x * logits).sum(1)
        kl = 0.5 * (mu * mu + jnp.exp(logvar) - 1 - logvar).sum(1)
        return (rec + kl).mean()

    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8

    @jax.jit
    def step(params, m, v, t, x, key):
        loss, g = jax.value_and_grad(neg_elbo)(params, x, key)
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), params, m, v)
        return params, m, v, t, loss

    evaluate = jax.jit(neg_elbo)
    train, test = load("train"), load("test")
    m = jax.tree_util.tree_map(jnp.zeros_like, params)
    v = jax.tree_util.tree_map(jnp.zeros_like, params)
    t = jnp.zeros((), jnp.float32)
    batch, rng = 128, np.random.default_rng(a.seed)
    t0 = time.perf_counter()
    key, sub = jax.random.split(key)
    jax.block_until_ready(step(params, m, v, t, jnp.asarray(train[:batch]), sub))
    compile_seconds = time.perf_counter() - t0
    for epoch in range(a.epochs):
        order = rng.permutation(len(train))
        total, count, seconds = 0.0, 0, 0.0
        for b in range(len(train) // batch):
            x = jnp.asarray(train[order[b * batch:(b + 1) * batch]])
            key, sub = jax.random.split(key)
            t0 = time.perf_counter()
            params, m, v, t, loss = step(params, m, v, t, x, sub)
            loss = float(loss)  # waits for the step
            seconds += time.perf_counter() - t0
            total += loss
            count += 1
        test_loss = 0.0
        for i in range(0, len(test), 500):
            key, sub = jax.random.split(key)
            test_loss += float(evaluate(params, jnp.asarray(test[i:i + 500]), sub)) * len(test[i:i + 500])
        print(json.dumps({"epoch": epoch + 1, "train_loss": round(total / count, 4),
                          "test_neg_elbo": round(test_loss / len(test), 4),
                          "images_per_s": round(count * batch / seconds, 1),
                          "train_seconds": round(seconds, 3),
                          "compile_seconds": round(compile_seconds, 3),
                          "jax": jax.__version__}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
