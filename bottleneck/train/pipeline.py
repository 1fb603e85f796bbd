"""`offramp train`: teacher (when its checkpoint is missing) -> student -> bundle, from one config.

Usage: /usr/bin/python3 pipeline.py configs/fmnist-b32.yaml [--smoke] [--key=value ...]
--smoke trains everything on 2,000 images for one epoch per stage, into runs/smoke/ and a bundle
folder under runs/smoke/ (unless --export_dir is given): an end-to-end check, not a model.
"""
import dataclasses
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402
import train_student  # noqa: E402
import train_teacher  # noqa: E402
from config import load_student, load_teacher, resolve  # noqa: E402


def smoke(cfg, tcfg):
    """The same pipeline on 2,000 images, one epoch per stage, everything under runs/smoke/."""
    name = cfg.bundle.id
    cfg = dataclasses.replace(
        cfg, subset=2000, out=f"runs/smoke/{name}", export_dir=f"runs/smoke/{name}-bundle",
        pretrain=dataclasses.replace(cfg.pretrain, epochs=min(cfg.pretrain.epochs, 1)),
        joint=dataclasses.replace(cfg.joint, epochs=1), finetune=dataclasses.replace(cfg.finetune, epochs=1),
        teacher=dataclasses.replace(cfg.teacher, checkpoint="runs/smoke/teacher/teacher.pt"))
    tcfg = dataclasses.replace(tcfg, epochs=1, subset=2000, out="runs/smoke/teacher")
    return cfg, tcfg


def main():
    argv = sys.argv[1:]
    smoke_run = "--smoke" in argv or "--smoke=true" in argv
    argv = [a for a in argv if not a.startswith("--smoke")]
    cfg = load_student(argv)
    tcfg = load_teacher([resolve(cfg.teacher.config)])
    if smoke_run:
        cfg, tcfg = smoke(cfg, tcfg)
    t0 = time.time()
    if not os.path.exists(resolve(cfg.teacher.checkpoint)):
        print(json.dumps({"step": "teacher", "config": cfg.teacher.config}), flush=True)
        path = train_teacher.train(tcfg)
        if not smoke_run:
            os.makedirs(os.path.dirname(resolve(cfg.teacher.checkpoint)), exist_ok=True)
            os.replace(path, resolve(cfg.teacher.checkpoint))
    print(json.dumps({"step": "student", "out": cfg.out}), flush=True)
    train_student.train(cfg)
    print(json.dumps({"step": "export", "export_dir": cfg.export_dir}), flush=True)
    summary = export.export(cfg)
    print(json.dumps({"step": "done", "seconds": round(time.time() - t0, 1), "bundle": summary["bundle"]}), flush=True)


if __name__ == "__main__":
    main()
