"""Trains a split student (BottleFit's two stages) from a trained teacher.

Usage: /usr/bin/python3 train_student.py configs/fmnist-b32.yaml [--key=value ...]

Stage 1, head distillation: the teacher is frozen; the shared conv, the encoder, the decoder and
the exit learn to make decoder(quantize(encoder(h1))) reproduce the teacher's stage-1 output h1
(MSE), and the exit learns from the teacher's logits (KD).
Stage 2, fine-tuning: the head is frozen (its bottleneck and exit are what devices run); the
decoder and the teacher's later stages learn from the teacher's logits (KD) and the labels.
Both stages quantize the bottleneck with a bit width drawn per batch from `bits` (one set of
weights for every width) through a straight-through estimator. The checkpoint carries its config.
"""
import copy
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import batched, load_config, resolve, setup  # noqa: E402
from data import to_tensor, train_val_split  # noqa: E402
from model import Student, Teacher, ste_quant  # noqa: E402


def load_teacher(path):
    ck = torch.load(resolve(path))
    t = Teacher(**ck["config"]["model"])
    t.load_state_dict(ck["model"])
    return t.eval(), ck


def kd_loss(student_logits, teacher_logits, temperature):
    t = temperature
    return F.kl_div(F.log_softmax(student_logits / t, 1), F.softmax(teacher_logits / t, 1), reduction="batchmean") * t * t


def split_accuracy(student, h1, y, bits, lo, hi):
    z = batched(lambda h: student.head_from1(h)[0], h1)
    return {b: (batched(lambda zz: student.tail(ste_quant(zz, lo, hi, b)), z).argmax(1) == y).float().mean().item()
            for b in bits}


def run_stage(name, student, params, h1, t_logits, y, val, cfg, stage_cfg, log):
    lo, hi = cfg["range"]
    bits = cfg["bits"]
    opt = torch.optim.AdamW(params, lr=stage_cfg["lr"], weight_decay=stage_cfg.get("weight_decay", 1e-4))
    bs = stage_cfg["batch_size"]
    steps = max(1, stage_cfg["epochs"] * ((len(h1) + bs - 1) // bs))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=stage_cfg["lr"], total_steps=steps, pct_start=0.15)
    temp = cfg.get("kd_temperature", 4.0)
    alpha = cfg.get("kd_alpha", 0.9)
    for epoch in range(stage_cfg["epochs"]):
        t0 = time.time()
        set_modes(student, name, stage_cfg.get("train_head", False))
        perm = torch.randperm(len(h1))
        total = 0.0
        for i in range(0, len(h1), bs):
            idx = perm[i:i + bs]
            b = bits[torch.randint(len(bits), ()).item()]
            z, e = student.head_from1(h1[idx])
            zq = ste_quant(z, lo, hi, b)
            loss_exit = kd_loss(e, t_logits[idx], temp) * alpha + F.cross_entropy(e, y[idx]) * (1 - alpha)
            if name == "head_distill":
                loss = F.mse_loss(student.decoder(zq), h1[idx]) + loss_exit
            else:
                logits = student.tail(zq if stage_cfg.get("train_head") else zq.detach())
                loss = kd_loss(logits, t_logits[idx], temp) * alpha + F.cross_entropy(logits, y[idx]) * (1 - alpha) + loss_exit
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        student.eval()
        vh1, vy = val
        accs = split_accuracy(student, vh1, vy, bits, lo, hi)
        exit_acc = (batched(lambda h: student.head_from1(h)[1], vh1).argmax(1) == vy).float().mean().item()
        rec = {"stage": name, "epoch": epoch, "loss": total / len(h1), "val_split_acc": accs, "val_exit_acc": exit_acc,
               "seconds": round(time.time() - t0, 1)}
        print(json.dumps(rec), flush=True)
        log.write(json.dumps(rec) + "\n")
        log.flush()


def set_modes(student, stage, train_head=False):
    """Frozen parts stay in eval mode so their batch-norm statistics do not drift."""
    student.train()
    student.stage1.eval()
    if stage == "finetune" and not train_head:
        student.shared.eval()


def trainable(student, stage, train_head=False):
    """The parameters a stage trains; everything else gets requires_grad=False. With
    finetune.train_head the encoder keeps learning in stage 2 too (BottleFit freezes it)."""
    modules = ([student.shared, student.encoder, student.exit, student.decoder] if stage == "head_distill"
               else [student.exit, student.decoder, student.stage2, student.stage3, student.classifier]
               + ([student.shared, student.encoder] if train_head else []))
    for p in student.parameters():
        p.requires_grad_(False)
    params = [p for m in modules for p in m.parameters()]
    for p in params:
        p.requires_grad_(True)
    return params


def train(cfg):
    """Trains a student from a config dict; returns the checkpoint path."""
    setup(cfg)
    teacher, _ = load_teacher(cfg["teacher"]["checkpoint"])
    (xtr, ytr), (xva, yva) = train_val_split(cfg["val_size"], cfg["seed"])
    if cfg.get("subset"):
        xtr, ytr = xtr[: cfg["subset"]], ytr[: cfg["subset"]]
        xva, yva = xva[: cfg["subset"]], yva[: cfg["subset"]]
    xtr, xva = to_tensor(xtr), to_tensor(xva)
    ytr, yva = torch.from_numpy(ytr), torch.from_numpy(yva)
    # The student starts from a copy of the teacher's stages: stage1 frozen for good, the rest tuned.
    student = Student(copy.deepcopy(teacher), **cfg["student"])
    # The frozen prefix and the teacher's logits are the same every epoch (no augmentation here):
    # compute them once.
    t0 = time.time()
    with torch.no_grad():
        h1 = batched(teacher.features1, xtr)
        t_logits = batched(teacher, xtr)
        vh1 = batched(teacher.features1, xva)
    print(json.dumps({"cached": len(xtr), "seconds": round(time.time() - t0, 1)}), flush=True)
    out = resolve(cfg["out"])
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "log.jsonl"), "a") as log:
        for stage in ("head_distill", "finetune"):
            if cfg[stage]["epochs"] > 0:
                params = trainable(student, stage, cfg[stage].get("train_head", False))
                run_stage(stage, student, params, h1, t_logits, ytr, (vh1, yva), cfg, cfg[stage], log)
    path = os.path.join(out, "student.pt")
    torch.save({"config": cfg, "model": student.state_dict()}, path)
    return path


def main():
    train(load_config(sys.argv[1:]))


if __name__ == "__main__":
    main()
