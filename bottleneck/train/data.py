"""Fashion-MNIST from IDX files (Debian's dataset-fashion-mnist or the committed test set)."""
import gzip
import os

import numpy as np
import torch
import torch.nn as nn

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST training-set pixel statistics
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
INPUT_SHAPE = [1, 28, 28]


def manifest_input():
    """The bundle manifest's input description: the graphs take raw / 255 and normalise themselves."""
    return {"shape": INPUT_SHAPE, "layout": "NCHW", "normalization": {"scale": 1 / 255, "mean": [0.0], "std": [1.0]},
            "raw": {"dtype": "uint8", "shape": [28, 28], "layout": "plain"}}


DATASET = "fashion-mnist (Debian dataset-fashion-mnist)"


class Normalize(nn.Module):
    """Input [N,1,28,28] in [0,1] -> standardised; part of every graph so the runtime feeds x/255."""

    def forward(self, x):
        return (x - MEAN) / STD


def read_idx(path):
    """Reads an IDX file (optionally gzipped) into a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {np.prod(dims)} values, found {arr.size}")
    return arr.reshape(dims)


def load_split(split, root=DEBIAN_DIR):
    """Returns (images uint8 [N,28,28], labels int64 [N]) for 'train' or 't10k'."""
    x = read_idx(os.path.join(root, f"{split}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(root, f"{split}-labels-idx1-ubyte.gz")).astype(np.int64)
    return x, y


def train_val_split(val_size, seed, root=DEBIAN_DIR):
    """Holds out `val_size` training images (fixed by `seed`) for calibration and model choice."""
    x, y = load_split("train", root)
    perm = np.random.RandomState(seed).permutation(len(x))
    val, tr = perm[:val_size], perm[val_size:]
    return (x[tr], y[tr]), (x[val], y[val])


def to_tensor(x):
    """uint8 [N,28,28] -> float32 [N,1,28,28] in [0,1]; normalisation is the model's first op."""
    return torch.from_numpy(x).float().div_(255.0).unsqueeze(1)


def augment(xb):
    """Random crop with 2-pixel padding and horizontal flip, on a float batch [N,1,28,28]."""
    n = xb.shape[0]
    padded = torch.nn.functional.pad(xb, (2, 2, 2, 2))
    out = torch.empty_like(xb)
    ox = torch.randint(0, 5, (n,))
    oy = torch.randint(0, 5, (n,))
    flip = torch.rand(n) < 0.5
    for i in range(n):
        img = padded[i, :, oy[i]:oy[i] + 28, ox[i]:ox[i] + 28]
        out[i] = img.flip(-1) if flip[i] else img
    return out
