"""Writes Offramp bundles: ONNX export of head / tail / full, golden fixtures, and manifest.json
(schema: protocol/manifest.ts). Shared by the training pipeline and the test-bundle script."""
import datetime
import hashlib
import json
import os
import subprocess

import onnx
import torch

ONNX_DTYPES = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.UINT8: "uint8", onnx.TensorProto.INT64: "int64"}
FMNIST_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def export_onnx(module, example, path, input_names, output_names, opset=13):
    """Exports `module` with a dynamic batch dimension named 'batch' on every port."""
    module.eval()
    axes = {name: {0: "batch"} for name in input_names + output_names}
    torch.onnx.export(module, example, path, input_names=input_names, output_names=output_names,
                      dynamic_axes=axes, opset_version=opset, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def _ports(values):
    out = []
    for v in values:
        t = v.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
        out.append({"name": v.name, "shape": dims, "dtype": ONNX_DTYPES[t.elem_type]})
    return out


def graph_spec(path):
    """The manifest's description of one ONNX file: name, sha256, ports as the file declares them."""
    model = onnx.load(path)
    init = {i.name for i in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in init]
    return {"file": os.path.basename(path), "sha256": sha256_file(path),
            "inputs": _ports(inputs), "outputs": _ports(model.graph.output)}


def git_commit():
    try:
        return subprocess.check_output(["git", "rev-parse", "HEAD"], stderr=subprocess.DEVNULL, text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def count_macs(module, example):
    """Multiply-accumulates of one forward pass per sample (Conv2d and Linear layers)."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, torch.nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
            total[0] += out[0].numel() * k
        elif isinstance(m, torch.nn.ConvTranspose2d):  # every input pixel scatters a k x k x out block
            k = m.kernel_size[0] * m.kernel_size[1] * (m.out_channels // m.groups)
            total[0] += inp[0][0].numel() * k
        elif isinstance(m, torch.nn.Linear):
            total[0] += m.in_features * m.out_features

    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear))]
    with torch.no_grad():
        module.eval()
        module(example[:1])
    for h in handles:
        h.remove()
    return total[0]


def calibrate_exit(exit_probs, exit_pred, split_pred, labels, thresholds, max_loss=0.005):
    """Threshold table for one exit (computed on the validation split) and the recommended
    threshold: the lowest one whose overall accuracy stays within `max_loss` of the split model."""
    split_acc = (split_pred == labels).float().mean().item()
    conf = exit_probs.max(1).values
    rows = []
    for t in thresholds:
        take = conf >= t
        final = torch.where(take, exit_pred, split_pred)
        n = int(take.sum())
        rows.append({
            "threshold": t,
            "exitRate": n / len(labels),
            "exitAccuracy": (exit_pred[take] == labels[take]).float().mean().item() if n else 1.0,
            "overallAccuracy": (final == labels).float().mean().item(),
        })
    ok = [r["threshold"] for r in rows if r["overallAccuracy"] >= split_acc - max_loss]
    return rows, (min(ok) if ok else thresholds[-1])


def write_manifest(out_dir, manifest):
    """Adds hashes and ports of the three graphs and writes manifest.json."""
    manifest["graphs"] = {g: graph_spec(os.path.join(out_dir, f"{g}.onnx")) for g in ("head", "tail", "full")}
    manifest.setdefault("provenance", {})
    manifest["provenance"].setdefault("commit", git_commit())
    manifest["provenance"].setdefault("createdAt", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


def fmnist_manifest(bundle_id, version, **rest):
    """A Fashion-MNIST manifest: the fixed task, labels and input description (the graphs take
    raw / 255 and normalise themselves), plus the bundle-specific `rest` (bottleneck, exits,
    accuracy, macs, provenance)."""
    return {
        "schemaVersion": 1, "id": bundle_id, "version": version, "task": "classification",
        "labels": FMNIST_LABELS, "timingOnly": False,
        "input": {"shape": [1, 28, 28], "layout": "NCHW",
                  "normalization": {"scale": 1 / 255, "mean": [0.0], "std": [1.0]},
                  "raw": {"dtype": "uint8", "shape": [28, 28]}},
        **rest,
    }


@torch.no_grad()
def write_golden(out_dir, head, tail, full, x, y, lo, hi, bits, split_predictions):
    """golden.json: the images `x` through every graph and through the split at each bit width
    with PyTorch's simulated quantization, plus PyTorch's split prediction for every test image
    (the TS evaluator must agree on >= 99.9%). `head(x)` returns (features, exit logits)."""
    from model import fake_quant  # model.py owns the codec-exact quantization
    z, e = head(x)
    golden = {
        "images": (x * 255).round().to(torch.uint8).flatten(1).tolist(),
        "labels": y.tolist(),
        "features": z.flatten(1).tolist(),
        "exit0Logits": e.tolist(),
        "tailLogits": tail(z).tolist(),
        "fullLogits": full(x).tolist(),
        "splitLogitsByBits": {str(b): tail(fake_quant(z, lo, hi, b)).tolist() for b in bits},
        "splitPredictionsByBits": {str(b): p.tolist() for b, p in split_predictions.items()},
    }
    with open(os.path.join(out_dir, "golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")
