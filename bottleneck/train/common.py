"""Config loading and small helpers shared by the training scripts (nanoGPT style: defaults in
the YAML, overridden by --key=value; nested keys with dots, e.g. --finetune.epochs=2)."""
import os

import torch
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def load_config(argv):
    """YAML files and --key=value overrides, applied left to right."""
    cfg = {}
    for arg in argv:
        if arg.startswith("--"):
            key, _, val = arg[2:].partition("=")
            node = cfg
            *parents, leaf = key.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = yaml.safe_load(val) if val != "" else True
        else:
            with open(arg) as f:
                cfg.update(yaml.safe_load(f))
    return cfg


def resolve(path):
    """Relative paths in configs are relative to bottleneck/train/."""
    return path if os.path.isabs(path) else os.path.join(HERE, path)


def setup(cfg):
    torch.manual_seed(cfg.get("seed", 1))
    if "threads" in cfg:
        torch.set_num_threads(int(cfg["threads"]))


@torch.no_grad()
def batched(fn, x, bs=1000):
    """fn over x in batches (eval mode is the caller's job), concatenated."""
    return torch.cat([fn(x[i:i + bs]) for i in range(0, len(x), bs)])
