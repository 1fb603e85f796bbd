"""Exports a trained entropic student as an Offramp bundle: head.onnx, tail.onnx, full.onnx (the
teacher), the entropy tables of each rate point, manifest.json (exit thresholds calibrated on the
validation split, accuracy and payload sizes on the test split) and golden.json (fixtures the
TypeScript tests compare against, payload bytes from the reference coder included).

Usage: /usr/bin/python3 export.py configs/fmnist-b32.yaml [--key=value ...]
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rangecoder  # noqa: E402
from bundle import AtomicBundleDir, calibrate_exit, count_macs, export_onnx, write_json_file, write_manifest  # noqa: E402
from config import as_dict, load_student, resolve  # noqa: E402
from data import DATASET, LABELS, load_split, manifest_input, to_tensor, train_val_split  # noqa: E402
from entropy import CDF_PRECISION, quantize_symbols, table_bits  # noqa: E402
from model import Teacher  # noqa: E402
from student import EntropicStudent, HeadGraph, TailGraph  # noqa: E402
from train_student import batched  # noqa: E402


def load_models(cfg):
    ck = torch.load(os.path.join(resolve(cfg.out), "student.pt"))
    tck = torch.load(resolve(cfg.teacher.checkpoint))
    teacher = Teacher(**tck["config"]["model"])
    teacher.load_state_dict(tck["model"])
    student = EntropicStudent(Teacher(**tck["config"]["model"]), **ck["config"]["student"])
    # Checkpoints from before the tail was generalised named the teacher's stage 3 `stage3`.
    state = {("rest.0." + k[len("stage3."):] if k.startswith("stage3.") else k): v for k, v in ck["model"].items()}
    student.load_state_dict(state)
    return student.eval(), teacher.eval(), tck["config"]


@torch.no_grad()
def head_outputs(student, x):
    lat = batched(lambda b: student.head(b)[0], x)
    ex = batched(lambda b: student.head(b)[1], x)
    return lat, ex


def rate_id(step):
    return f"s{step:g}".replace(".", "p")


@torch.no_grad()
def split_logits(student, symbols, step):
    return batched(lambda s: student.tail(s.float() * step), symbols)


def payload_sizes(symbols, tables):
    """Bytes of every sample's payload, from the reference coder (the TS coder writes the same bytes)."""
    flat = symbols.flatten(1).tolist()
    return [len(rangecoder.encode_tensor(s, tables)) for s in flat]


@torch.no_grad()
def export(cfg):
    student, teacher, teacher_cfg = load_models(cfg)
    _, (xva, yva) = train_val_split(cfg.val_size, cfg.seed)
    xte, yte = load_split("t10k")
    if cfg.subset:
        xva, yva, xte, yte = xva[:cfg.subset], yva[:cfg.subset], xte[:cfg.subset], yte[:cfg.subset]
    xva, yva, xte, yte = to_tensor(xva), torch.from_numpy(yva), to_tensor(xte), torch.from_numpy(yte)
    lat_va, ex_va = head_outputs(student, xva)
    lat_te, _ = head_outputs(student, xte)
    shape = list(lat_te.shape[1:])

    points, tables_by_id, val_preds, test_preds, stats = [], {}, {}, {}, {}
    for step in cfg.rate.steps:
        rid = rate_id(step)
        tables = student.prior.tables(step)
        tables_by_id[rid] = tables
        sv, st = quantize_symbols(lat_va, step, tables), quantize_symbols(lat_te, step, tables)
        val_preds[rid] = split_logits(student, sv, step).argmax(1)
        test_preds[rid] = split_logits(student, st, step).argmax(1)
        sizes = payload_sizes(st, tables)
        est = table_bits(st, tables) / 8
        stats[rid] = {"mean": float(np.mean(sizes)), "p99": float(np.percentile(sizes, 99, method="higher")), "max": float(max(sizes)),
                      "estimated": float(est.mean()), "over": f"test ({len(sizes)})"}
        points.append({"id": rid, "codec": "entropy", "step": step,
                       "accuracy": (val_preds[rid] == yva).float().mean().item(), "bytes": stats[rid]})
    default = rate_id(cfg.rate.steps[0])
    rows, rec = calibrate_exit(F.softmax(ex_va, 1), ex_va.argmax(1), val_preds[default], yva, cfg.thresholds)
    test_acc = {rid: (p == yte).float().mean().item() for rid, p in test_preds.items()}
    teacher_acc = (batched(teacher, xte).argmax(1) == yte).float().mean().item()
    ex_te = head_outputs(student, xte)[1]
    take = F.softmax(ex_te, 1).max(1).values >= rec
    with_exits = (torch.where(take, ex_te.argmax(1), test_preds[default]) == yte).float().mean().item()

    example = xte[:2]
    head_graph, tail_graph = HeadGraph(student), TailGraph(student)
    macs_head = count_macs(torch.nn.Sequential(student.norm, student.encoder, student.latent), example)
    macs_exits = count_macs(student.exit, student.encoder(student.norm(example)))
    with AtomicBundleDir(resolve(cfg.export_dir)) as out:
        export_onnx(head_graph, example, os.path.join(out, "head.onnx"), ["input"], ["latent", "exit0_logits"])
        export_onnx(tail_graph, lat_te[:2].round(), os.path.join(out, "tail.onnx"), ["latent"], ["logits"])
        export_onnx(teacher, example, os.path.join(out, "full.onnx"), ["input"], ["logits"])
        for p in points:
            p["tables"] = write_json_file(out, f"entropy-{p['id']}.json", {"precision": CDF_PRECISION, "channels": tables_by_id[p["id"]]})
        manifest = {
            "schemaVersion": 2, "id": cfg.bundle.id, "version": cfg.bundle.version, "task": "classification",
            "labels": LABELS, "timingOnly": False, "input": manifest_input(),
            "bottleneck": {"headOutput": "latent", "tailInput": "latent", "shape": shape, "ratePoints": points, "defaultRatePoint": 0},
            "exits": [{"output": "exit0_logits", "confidence": "max-prob", "thresholds": rows, "recommendedThreshold": rec}],
            "outputs": [{"name": "logits", "kind": "class-logits"}],
            "accuracy": {"split": "test", "samples": len(yte), "teacher": teacher_acc, "splitByRate": test_acc, "withExits": with_exits},
            "macs": {"head": macs_head, "exits": macs_exits, "tail": count_macs(tail_graph, lat_te[:2].round()), "full": count_macs(teacher, example)},
            "provenance": {"tool": "bottleneck/train (offramp train)", "dataset": f"{DATASET}, val split {cfg.val_size} of train seed {cfg.seed}",
                           "weights": "trained", "seed": cfg.seed, "config": {"student": as_dict(cfg), "teacher": teacher_cfg}},
        }
        write_manifest(out, manifest)
        write_golden(out, student, teacher, xte[:8], yte[:8], tables_by_id, cfg.rate.steps, test_preds)
    summary = {"bundle": resolve(cfg.export_dir), "teacher": teacher_acc, "splitByRate": test_acc, "withExits": with_exits,
               "recommendedThreshold": rec, "exitRate": take.float().mean().item(), "bytes": stats, "macs": manifest["macs"]}
    print(json.dumps(summary), flush=True)
    return summary


@torch.no_grad()
def write_golden(out_dir, student, teacher, x, y, tables_by_id, steps, split_predictions):
    """golden.json: the images `x` through every graph, their symbols and payload bytes (reference
    coder) at each rate point, and PyTorch's split prediction for every test image per rate point
    (the TS evaluator must agree on >= 99.9%)."""
    lat, ex = student.head(x)
    golden = {
        "images": (x * 255).round().to(torch.uint8).flatten(1).tolist(),
        "labels": y.tolist(),
        "latent": lat.flatten(1).tolist(),
        "exit0Logits": ex.tolist(),
        "fullLogits": teacher(x).tolist(),
        "rates": {},
        "splitPredictions": {rid: p.tolist() for rid, p in split_predictions.items()},
    }
    for step in steps:
        rid = rate_id(step)
        sym = quantize_symbols(lat, step, tables_by_id[rid])
        golden["rates"][rid] = {
            "step": step,
            "symbols": sym.flatten(1).tolist(),
            "payloads": [rangecoder.encode_tensor(s, tables_by_id[rid]).hex() for s in sym.flatten(1).tolist()],
            "tailLogits": student.tail(sym.float() * step).tolist(),
        }
    with open(os.path.join(out_dir, "golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")


def main():
    export(load_student(sys.argv[1:]))


if __name__ == "__main__":
    main()
