"""Trains the teacher. Usage: /usr/bin/python3 train_teacher.py configs/teacher.yaml [--key=value ...]
The checkpoint carries its config; the best epoch on the validation split is kept (teacher.pt).
Every epoch also writes last.pt (model, optimizer, schedule, RNG state): run again with
--resume=true to continue an interrupted run where it stopped."""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import augment, to_tensor, train_val_split  # noqa: E402
from config import as_dict, load_teacher, resolve  # noqa: E402
from model import Teacher  # noqa: E402


@torch.no_grad()
def evaluate(model, x, y, bs=1000):
    model.eval()
    correct = 0
    for i in range(0, len(x), bs):
        correct += (model(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum().item()
    return correct / len(x)


def main():
    train(load_teacher(sys.argv[1:]))


def train(c):
    """Trains a teacher from a TeacherExperiment; returns the path of its best checkpoint."""
    torch.manual_seed(c.seed)
    torch.set_num_threads(c.threads)
    np.random.seed(c.seed)
    cfg = as_dict(c)  # the checkpoint carries its config as a plain dict
    (xtr, ytr), (xva, yva) = train_val_split(cfg["val_size"], cfg["seed"])
    if cfg.get("subset"):
        xtr, ytr = xtr[: cfg["subset"]], ytr[: cfg["subset"]]
    xtr, xva = to_tensor(xtr), to_tensor(xva)
    ytr, yva = torch.from_numpy(ytr), torch.from_numpy(yva)
    model = Teacher(**cfg["model"])
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"],
                          weight_decay=cfg["weight_decay"], nesterov=True)
    steps = cfg["epochs"] * ((len(xtr) + cfg["batch_size"] - 1) // cfg["batch_size"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=steps, pct_start=0.2)
    cfg["out"] = resolve(cfg["out"])
    os.makedirs(cfg["out"], exist_ok=True)
    best = -1.0
    start = 0
    last_path = os.path.join(cfg["out"], "last.pt")
    if cfg.get("resume") and os.path.exists(last_path):
        state = torch.load(last_path)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        torch.set_rng_state(state["rng"])
        start, best = state["epoch"] + 1, state["best"]
        print(json.dumps({"resumed_at_epoch": start, "best_val_acc": best}), flush=True)
    log = open(os.path.join(cfg["out"], "log.jsonl"), "a")
    for epoch in range(start, cfg["epochs"]):
        model.train()
        t0 = time.time()
        perm = torch.randperm(len(xtr))
        total = 0.0
        for i in range(0, len(xtr), cfg["batch_size"]):
            idx = perm[i:i + cfg["batch_size"]]
            xb = augment(xtr[idx]) if cfg.get("augment", True) else xtr[idx]
            loss = F.cross_entropy(model(xb), ytr[idx], label_smoothing=cfg.get("label_smoothing", 0.0))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        acc = evaluate(model, xva, yva)
        rec = {"epoch": epoch, "loss": total / len(xtr), "val_acc": acc, "seconds": time.time() - t0}
        print(json.dumps(rec), flush=True)
        log.write(json.dumps(rec) + "\n")
        log.flush()
        if acc >= best:
            best = acc
            torch.save({"config": cfg, "model": model.state_dict(), "epoch": epoch, "val_acc": acc},
                       os.path.join(cfg["out"], "teacher.pt"))
        torch.save({"config": cfg, "model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "rng": torch.get_rng_state(), "epoch": epoch, "best": best}, last_path + ".tmp")
        os.replace(last_path + ".tmp", last_path)
    print(json.dumps({"best_val_acc": best}))
    return os.path.join(cfg["out"], "teacher.pt")


if __name__ == "__main__":
    main()
