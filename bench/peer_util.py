"""What the PyTorch peers share: the same threads, denormal flushing and seed
as gmrun, and Fashion-MNIST's training images as floats in [0, 1]."""
import gzip, os

import numpy as np
import torch


def setup(threads, seed):
    """Threads and seed as asked; denormals flushed to zero, as gmrun does."""
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)


def train_images(data_dir):
    """The training images, [60000, 1, 28, 28] float32 in [0, 1]."""
    with gzip.open(os.path.join(data_dir, "train-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    return torch.from_numpy(x.astype(np.float32) / 255.0)
