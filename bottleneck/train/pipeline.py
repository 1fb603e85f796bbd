"""`offramp train`: teacher (when its checkpoint is missing) -> student -> bundle, from one config.

Usage: /usr/bin/python3 pipeline.py configs/fmnist-b32.yaml [--smoke] [--key=value ...]
--smoke trains everything on 2,000 images for one epoch per stage, into runs/smoke/ and a bundle
folder under runs/smoke/ (unless --export_dir is given): an end-to-end check, not a model.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import load_config, resolve  # noqa: E402
import export  # noqa: E402
import train_student  # noqa: E402
import train_teacher  # noqa: E402

SMOKE = {"subset": 2000, "head_distill": {"epochs": 1}, "finetune": {"epochs": 1}}


def main():
    argv = sys.argv[1:]
    smoke = "--smoke" in argv or "--smoke=true" in argv
    cfg = load_config([a for a in argv if not a.startswith("--smoke")])
    tcfg = load_config([resolve(cfg["teacher"]["config"])])
    if smoke:
        name = cfg["bundle"]["id"]
        cfg["subset"] = SMOKE["subset"]
        for stage in ("head_distill", "finetune"):
            cfg[stage] = {**cfg[stage], **SMOKE[stage]}
        cfg["out"] = f"runs/smoke/{name}"
        cfg.setdefault("export_dir_smoke", f"runs/smoke/{name}-bundle")
        cfg["export_dir"] = cfg["export_dir_smoke"]
        cfg["teacher"] = {**cfg["teacher"], "checkpoint": "runs/smoke/teacher/teacher.pt"}
        tcfg.update({"epochs": 1, "subset": SMOKE["subset"], "out": "runs/smoke/teacher"})
    t0 = time.time()
    if not os.path.exists(resolve(cfg["teacher"]["checkpoint"])):
        print(json.dumps({"step": "teacher", "config": cfg["teacher"]["config"]}), flush=True)
        path = train_teacher.train(tcfg)
        if not smoke:
            os.makedirs(os.path.dirname(resolve(cfg["teacher"]["checkpoint"])), exist_ok=True)
            os.replace(path, resolve(cfg["teacher"]["checkpoint"]))
    print(json.dumps({"step": "student", "out": cfg["out"]}), flush=True)
    train_student.train(cfg)
    print(json.dumps({"step": "export", "export_dir": cfg["export_dir"]}), flush=True)
    summary = export.export(cfg)
    print(json.dumps({"step": "done", "seconds": round(time.time() - t0, 1), "bundle": summary["bundle"]}), flush=True)


if __name__ == "__main__":
    main()
