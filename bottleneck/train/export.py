"""Exports a trained student as an Offramp bundle: head.onnx, tail.onnx, full.onnx (the teacher),
manifest.json (exit thresholds calibrated on the validation split, accuracy on the test split) and
golden.json (fixtures the TypeScript tests compare against).

Usage: /usr/bin/python3 export.py configs/fmnist-b32.yaml [--key=value ...]
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bundle import calibrate_exit, count_macs, export_onnx, fmnist_manifest, write_golden, write_manifest  # noqa: E402
from common import batched, load_config, resolve  # noqa: E402
from data import load_split, to_tensor, train_val_split  # noqa: E402
from model import HeadGraph, Student, TailGraph, Teacher, fake_quant  # noqa: E402


def load_student(cfg):
    ck = torch.load(os.path.join(resolve(cfg["out"]), "student.pt"))
    tck = torch.load(resolve(cfg["teacher"]["checkpoint"]))
    teacher = Teacher(**tck["config"]["model"])
    teacher.load_state_dict(tck["model"])
    student = Student(Teacher(**tck["config"]["model"]), **ck["config"]["student"])
    student.load_state_dict(ck["model"])
    return student.eval(), teacher.eval(), tck["config"]


def packed_bytes(values, bits):
    return (values * bits + 7) // 8


def budget_bits(cfg, values):
    """The largest trained bit width whose payload fits the bundle's byte budget."""
    fits = [b for b in cfg["bits"] if packed_bytes(values, b) <= cfg["bundle"]["budget_bytes"]]
    if not fits:
        raise SystemExit(f"no bit width of {cfg['bits']} fits {cfg['bundle']['budget_bytes']} B with {values} values")
    return max(fits)


@torch.no_grad()
def split_logits(student, z, lo, hi, bits):
    return batched(lambda zz: student.tail(fake_quant(zz, lo, hi, bits)), z)


@torch.no_grad()
def export(cfg):
    student, teacher, teacher_cfg = load_student(cfg)
    lo, hi = cfg["range"]
    out = resolve(cfg["export_dir"])
    os.makedirs(out, exist_ok=True)
    values = cfg["student"]["channels"] * cfg["student"]["size"] ** 2
    bits_for_budget = budget_bits(cfg, values)

    _, (xva, yva) = train_val_split(cfg["val_size"], cfg["seed"])
    if cfg.get("subset"):
        xva, yva = xva[: cfg["subset"]], yva[: cfg["subset"]]
    xva, yva = to_tensor(xva), torch.from_numpy(yva)
    xte, yte = load_split("t10k")
    if cfg.get("subset"):
        xte, yte = xte[: cfg["subset"]], yte[: cfg["subset"]]
    xte, yte = to_tensor(xte), torch.from_numpy(yte)

    zv = batched(lambda x: student.head(x)[0], xva)
    ev = batched(lambda x: student.head(x)[1], xva)
    val_acc = {str(b): (split_logits(student, zv, lo, hi, b).argmax(1) == yva).float().mean().item() for b in cfg["bits"]}
    rows, rec = calibrate_exit(F.softmax(ev, 1), ev.argmax(1), split_logits(student, zv, lo, hi, bits_for_budget).argmax(1),
                               yva, cfg["thresholds"])
    zt = batched(lambda x: student.head(x)[0], xte)
    test_preds = {str(b): split_logits(student, zt, lo, hi, b).argmax(1) for b in cfg["bits"]}
    test_acc = {b: (p == yte).float().mean().item() for b, p in test_preds.items()}
    teacher_acc = (batched(teacher, xte).argmax(1) == yte).float().mean().item()

    example = xte[:2]
    head_graph, tail_graph = HeadGraph(student), TailGraph(student)
    export_onnx(head_graph, example, os.path.join(out, "head.onnx"), ["input"], ["features", "exit0_logits"])
    export_onnx(tail_graph, zt[:2], os.path.join(out, "tail.onnx"), ["features"], ["logits"])
    export_onnx(teacher, example, os.path.join(out, "full.onnx"), ["input"], ["logits"])

    size, ch = cfg["student"]["size"], cfg["student"]["channels"]
    manifest = fmnist_manifest(
        cfg["bundle"]["id"], cfg["bundle"]["version"],
        bottleneck={"headOutput": "features", "tailInput": "features", "shape": [ch, size, size],
                    "range": {"min": lo, "max": hi}, "bits": cfg["bits"], "budgetBytes": cfg["bundle"]["budget_bytes"],
                    "accuracy": val_acc, "payloadBytes": {str(b): packed_bytes(values, b) for b in cfg["bits"]}},
        exits=[{"output": "exit0_logits", "confidence": "max-prob", "thresholds": rows, "recommendedThreshold": rec}],
        accuracy={"split": "test", "samples": len(yte), "teacher": teacher_acc, "splitByBits": test_acc},
        macs={"head": count_macs(head_graph, example), "tail": count_macs(tail_graph, zt[:2]), "full": count_macs(teacher, example)},
        provenance={"tool": "bottleneck/train (offramp train)", "dataset": "fashion-mnist (Debian dataset-fashion-mnist), val split "
                    f"{cfg['val_size']} of train seed {cfg['seed']}", "seed": cfg["seed"],
                    "config": {"student": cfg, "teacher": teacher_cfg}},
    )
    write_manifest(out, manifest)

    write_golden(out, student.head, student.tail, teacher, xte[:8], yte[:8], lo, hi, cfg["bits"], test_preds)
    summary = {"bundle": out, "bitsForBudget": bits_for_budget, "teacher": teacher_acc, "splitByBits": test_acc,
               "recommendedThreshold": rec, "macs": manifest["macs"]}
    print(json.dumps(summary), flush=True)
    return summary


def main():
    export(load_config(sys.argv[1:]))


if __name__ == "__main__":
    main()
