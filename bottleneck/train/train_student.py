"""Trains an entropic student (student.py) from a trained teacher, in up to three stages:

0. pretrain (when `pretrain.epochs` > 0): the encoder and the exit alone learn to classify from
   the teacher's logits (no latent, tail or rate), cached under cache_dir and shared by every rate
   point with the same encoder, so each rate point starts from a trained head;
1. joint: everything (encoder, entropy model, exit, decoder, the teacher's copied stage 3 and
   classifier) learns from the teacher's logits (KD), its stage-2 features and the labels, plus
   lambda * rate;
2. finetune: the encoder and the entropy model are frozen (the rate is fixed); the decoder, the
   tail and the exit adapt to the exact rounded latent at a lower learning rate.

(A first design distilled the features alone before any task loss, BottleFit style: at 30 B the
feature error stayed above 0.5 and split accuracy at chance for epochs; see EXPERIMENTS.md.)

The rate is steered, not tuned by hand: lambda follows a dual ascent step after every batch so
the estimated bytes per sample of the rounded latent settle on `rate.target_bytes`. The teacher's
stage-2 features and logits for the training images are computed once and cached on disk
(runs/cache/), shared by every rate point. The checkpoint carries its config.

Usage: /usr/bin/python3 train_student.py configs/fmnist-b32.yaml [--key=value ...]
"""
import hashlib
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from config import as_dict, load_student, resolve  # noqa: E402
from data import to_tensor, train_val_split  # noqa: E402
from losses import classification_loss, feature_loss, rate_bytes  # noqa: E402
from model import Teacher  # noqa: E402
from student import EntropicStudent, ste_round  # noqa: E402


def setup(seed, threads):
    torch.manual_seed(seed)
    torch.set_num_threads(threads)


def load_teacher(path):
    ck = torch.load(resolve(path))
    t = Teacher(**ck["config"]["model"])
    t.load_state_dict(ck["model"])
    return t.eval(), ck


@torch.no_grad()
def batched(fn, x, bs=256):
    """fn over x in batches (eval mode is the caller's job), concatenated."""
    return torch.cat([fn(x[i:i + bs]) for i in range(0, len(x), bs)])


@torch.no_grad()
def teacher_targets(teacher, x, cache_path, split_at="stage2"):
    """(features at the split as float16, logits) of the teacher for x, from the cache when present."""
    if cache_path and os.path.exists(cache_path):
        c = torch.load(cache_path)
        if c["n"] == len(x):
            return c["features"], c["logits"]
    feats = batched(lambda b: (teacher.features1(b) if split_at == "stage1" else teacher.stage2(teacher.features1(b))).half(), x)
    logits = batched(teacher, x)
    if cache_path:
        os.makedirs(os.path.dirname(cache_path), exist_ok=True)
        torch.save({"n": len(x), "features": feats, "logits": logits}, cache_path + ".tmp")
        os.replace(cache_path + ".tmp", cache_path)
    return feats, logits


def cache_file(cfg, n, flipped=False):
    with open(resolve(cfg.teacher.checkpoint), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    at = "" if cfg.student.split_at == "stage2" else f"-{cfg.student.split_at}"
    return os.path.join(resolve(cfg.cache_dir), f"teacher-{digest}-val{cfg.val_size}-seed{cfg.seed}-n{n}{at}{'-flip' if flipped else ''}.pt")


STAGE_MODULES = {
    "pretrain": ("encoder", "exit"),
    "joint": ("encoder", "latent", "exit", "prior", "decoder", "rest", "classifier", "shortcut"),
    "finetune": ("exit", "decoder", "rest", "classifier", "shortcut"),
}


def scale_grad(y, k):
    """y in the forward pass; its gradient multiplied by k in the backward pass."""
    return y.detach() + (y - y.detach()) * k


@torch.no_grad()
def validate(student, x, y, steps):
    """Split accuracy at each quantization step, estimated bytes at step 1, exit accuracy."""
    student.eval()
    lat, ex = [], []
    for i in range(0, len(x), 256):
        a, b = student.head(x[i:i + 256])
        lat.append(a)
        ex.append(b)
    lat, ex = torch.cat(lat), torch.cat(ex)
    acc = {str(s): (batched(lambda v: student.tail(torch.round(v / s) * s), lat).argmax(1) == y).float().mean().item()
           for s in steps}
    est = batched(lambda v: student.prior.bits(torch.round(v)), lat).mean().item() / 8
    return {"val_split_acc": acc, "val_bytes": est, "val_exit_acc": (ex.argmax(1) == y).float().mean().item()}


@torch.no_grad()
def validate_exit(student, x, y):
    student.eval()
    ex = batched(lambda b: student.head(b)[1], x)
    return {"val_exit_acc": (ex.argmax(1) == y).float().mean().item()}


def head_cache(cfg, n):
    """(path, key) of the cached stage-0 head. The key holds only what stage 0 reads: the latent,
    decoder, tail and the other loss weights may change between experiments and still share it."""
    st, lc = cfg.student, cfg.loss
    encoder = {"encoder": st.encoder, "encoder_widths": list(st.encoder_widths), "exit_hidden": st.exit_hidden,
               "split_at": "stage2" if st.decoder_upsample else st.split_at}
    loss = {"kd_temperature": lc.kd_temperature, "kd_alpha": lc.kd_alpha, "exit_weight": lc.exit_weight}
    key = json.dumps({"teacher": cache_file(cfg, n), "encoder": encoder, "pretrain": as_dict(cfg.pretrain),
                      "loss": loss, "flip": cfg.augment_flip, "seed": cfg.seed, "subset": cfg.subset}, sort_keys=True)
    return os.path.join(resolve(cfg.cache_dir), f"head-{hashlib.sha256(key.encode()).hexdigest()[:12]}.pt"), key


def pretrained_head(student, data, val, cfg, log):
    """Stage 0: trains the encoder and the exit alone (cached: every rate point with the same
    teacher, encoder, seed and pretrain stage shares one run)."""
    path, key = head_cache(cfg, len(data[0]))
    if os.path.exists(path):
        state = torch.load(path)
        student.encoder.load_state_dict(state["encoder"])
        student.exit.load_state_dict(state["exit"])
        print(json.dumps({"pretrained_head": path}), flush=True)
        return
    run_stage("pretrain", student, data, val, cfg, 0.0, log)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save({"encoder": student.encoder.state_dict(), "exit": student.exit.state_dict(), "key": key}, path + ".tmp")
    os.replace(path + ".tmp", path)


def run_stage(name, student, data, val, cfg, lam, log):
    """One stage; returns the final lambda."""
    stage = getattr(cfg, name)
    x, feats, t_logits, labels, mirrored = data
    for p in student.parameters():
        p.requires_grad_(False)
    # (A module the student does not have, e.g. no shortcut, is None and adds nothing.)
    params = [p for m in STAGE_MODULES[name] if m not in ("prior", "encoder") and getattr(student, m) is not None
              for p in getattr(student, m).parameters()]
    enc = list(student.encoder.parameters()) if "encoder" in STAGE_MODULES[name] else []
    prior = list(student.prior.parameters()) if "prior" in STAGE_MODULES[name] else []
    for p in params + enc + prior:
        p.requires_grad_(True)
    groups = [{"params": params, "lr": stage.lr, "weight_decay": stage.weight_decay}]
    if enc:
        groups.append({"params": enc, "lr": stage.lr * stage.encoder_lr_scale, "weight_decay": stage.weight_decay})
    # The prior starts wide and must narrow fast (a few epochs, not hundreds): a higher step size.
    if prior:
        groups.append({"params": prior, "lr": stage.lr * cfg.rate.prior_lr_scale, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups)
    bs = stage.batch_size
    steps = max(1, stage.epochs * ((len(x) + bs - 1) // bs))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g["lr"] for g in groups], total_steps=steps, pct_start=0.15)
    lc, rc = cfg.loss, cfg.rate

    def step(loss):
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()

    step_no = 0
    hard = rc.target_bytes
    smooth = None  # EWMA of the rounded latent's bytes: the controller reacts to the trend, not to one batch
    for epoch in range(stage.epochs):
        t0 = time.time()
        student.train()
        if not enc:
            student.encoder.eval()  # frozen: its batch-norm statistics stay as the rate was set
        perm = torch.randperm(len(x))
        sums = {"loss": 0.0, "bytes": 0.0, "feature": 0.0}
        for i in range(0, len(x), bs):
            idx = perm[i:i + bs]
            xb, fb, tb = x[idx], feats[idx], t_logits[idx]
            if mirrored is not None:  # half the batch mirrored, with the teacher's targets for the mirrored images
                m = torch.rand(len(idx)) < 0.5
                xb, fb, tb = (torch.where(m.view(-1, *[1] * (a.dim() - 1)), b[idx], a) for a, b in zip((xb, fb, tb), mirrored))
            y, exit_logits = student.head(xb)
            loss = lc.exit_weight * classification_loss(exit_logits, tb, labels[idx], lc.kd_temperature, lc.kd_alpha)
            if name == "pretrain":  # the head alone: no latent, tail or rate yet
                step(loss)
                sums["loss"] += loss.item() * len(idx)
                continue
            if prior:
                # One likelihood pass serves two terms: the encoder pays lambda * rate, and the
                # prior also fits the latent on its own (weight 1), so the rate lambda reacts to
                # is the latent's, not a wide prior's. The prior's gradient is (lambda + 1) dR,
                # the encoder's lambda dR.
                noisy = scale_grad(y, lam / (lam + 1)) + torch.rand_like(y) - 0.5
                rate = rate_bytes(student.prior, noisy)
                loss = loss + (lam + 1) * rate
            yhat = ste_round(y)
            decoded = student.decode(yhat)
            feat = feature_loss(decoded, fb.float())
            logits = student.finish(decoded, yhat)
            loss = loss + lc.feature_weight * feat + classification_loss(logits, tb, labels[idx], lc.kd_temperature, lc.kd_alpha)
            step(loss)
            step_no += 1
            if prior and step_no % 4 == 1:
                with torch.no_grad():
                    hard = student.prior.bits(torch.round(y.detach())).mean().item() / 8
                smooth = hard if smooth is None else smooth + 0.1 * (hard - smooth)
            # Dual ascent: lambda grows while the rounded latent costs more than the target (not
            # during the first steps, while the prior still settles).
            if prior and step_no > rc.warmup_steps and smooth is not None:
                lam = min(100.0, max(1e-5, lam * math.exp(rc.lambda_lr * max(-1.0, min(1.0, (smooth - rc.target_bytes) / rc.target_bytes)))))
            sums["loss"] += loss.item() * len(idx)
            sums["bytes"] += hard * len(idx)
            sums["feature"] += feat.item() * len(idx)
        checks = validate_exit(student, *val) if name == "pretrain" else validate(student, *val, rc.steps)
        rec = {"stage": name, "epoch": epoch, **{k: v / len(x) for k, v in sums.items()}, "lambda": lam,
               **checks, "seconds": round(time.time() - t0, 1)}
        print(json.dumps(rec), flush=True)
        log.write(json.dumps(rec) + "\n")
        log.flush()
    return lam


def train(cfg):
    """Trains a student from a StudentExperiment; returns the checkpoint path."""
    setup(cfg.seed, cfg.threads)
    teacher, _ = load_teacher(cfg.teacher.checkpoint)
    (xtr, ytr), (xva, yva) = train_val_split(cfg.val_size, cfg.seed)
    if cfg.subset:
        xtr, ytr, xva, yva = xtr[:cfg.subset], ytr[:cfg.subset], xva[:cfg.subset], yva[:cfg.subset]
    xtr, xva = to_tensor(xtr), to_tensor(xva)
    ytr, yva = torch.from_numpy(ytr), torch.from_numpy(yva)
    t0 = time.time()
    feats, t_logits = teacher_targets(teacher, xtr, None if cfg.subset else cache_file(cfg, len(xtr)), cfg.student.split_at)
    mirrored = None
    if cfg.augment_flip:
        xfl = torch.flip(xtr, dims=[3])
        mirrored = (xfl, *teacher_targets(teacher, xfl, None if cfg.subset else cache_file(cfg, len(xtr), flipped=True), cfg.student.split_at))
    print(json.dumps({"teacher_targets": len(xtr) * (2 if mirrored else 1), "seconds": round(time.time() - t0, 1)}), flush=True)
    student = EntropicStudent(teacher, **as_dict(cfg.student))
    out = resolve(cfg.out)
    os.makedirs(out, exist_ok=True)
    lam = cfg.rate.lambda_init
    with open(os.path.join(out, "log.jsonl"), "a") as log:
        if cfg.pretrain.epochs > 0:
            pretrained_head(student, (xtr, feats, t_logits, ytr, mirrored), (xva, yva), cfg, log)
        for stage in ("joint", "finetune"):
            if getattr(cfg, stage).epochs > 0:
                lam = run_stage(stage, student, (xtr, feats, t_logits, ytr, mirrored), (xva, yva), cfg, lam, log)
    path = os.path.join(out, "student.pt")
    torch.save({"config": as_dict(cfg), "model": student.state_dict(), "lambda": lam}, path)
    return path


def main():
    train(load_student(sys.argv[1:]))


if __name__ == "__main__":
    main()
