"""A timing-only bundle with ImageNet shapes, for realistic compute and byte figures (no accuracy
claims): torchvision ResNet-50 with random weights (no download), 3x224x224 input, split after
layer2 with a 12-channel bottleneck (BottleFit's setting: 12x28x28), marked timingOnly in its
manifest (schema v2). Written atomically to a git-ignored folder (the graphs are ~100 MB):
models-timing/resnet50-b12/.

There is no trained entropy model, so the rate points are uniform: u2, u4, u8 (the v1 bundle's
bit widths), each over the sigmoid's range [0, 1] for the whole tensor, with their exact payload
sizes; the default is u8. No accuracy, no exits.

Usage: /usr/bin/python3 bottleneck/train/make_timing_bundle.py [OUT_DIR]
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bundle import AtomicBundleDir, count_macs, export_onnx, write_manifest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = 0
CHANNELS = 12
INPUT_SHAPE = [3, 224, 224]
BOTTLENECK_SHAPE = [CHANNELS, 28, 28]
BITS = [2, 4, 8]
DEFAULT_BITS = 8
CLASSES = 1000
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


class Head(nn.Module):
    def __init__(self, r):
        super().__init__()
        self.mean = nn.Parameter(torch.tensor(MEAN).view(1, 3, 1, 1), requires_grad=False)
        self.std = nn.Parameter(torch.tensor(STD).view(1, 3, 1, 1), requires_grad=False)
        self.trunk = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2)      # -> 512x28x28
        self.encoder = nn.Sequential(nn.Conv2d(512, 64, 3, 1, 1), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                                     nn.Conv2d(64, CHANNELS, 1))

    def forward(self, x):
        return torch.sigmoid(self.encoder(self.trunk((x - self.mean) / self.std)))


class Tail(nn.Module):
    def __init__(self, r):
        super().__init__()
        self.decoder = nn.Sequential(nn.Conv2d(CHANNELS, 64, 3, 1, 1), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                                     nn.Conv2d(64, 512, 1), nn.BatchNorm2d(512), nn.ReLU(inplace=True))
        self.rest = nn.Sequential(r.layer3, r.layer4, r.avgpool, nn.Flatten(), r.fc)

    def forward(self, z):
        return self.rest(self.decoder(z))


class Full(nn.Module):
    def __init__(self, r):
        super().__init__()
        self.mean = nn.Parameter(torch.tensor(MEAN).view(1, 3, 1, 1), requires_grad=False)
        self.std = nn.Parameter(torch.tensor(STD).view(1, 3, 1, 1), requires_grad=False)
        self.r = r

    def forward(self, x):
        return self.r((x - self.mean) / self.std)


def rate_points():
    """Uniform rate points over the sigmoid's range [0, 1] (one range for the tensor), with the
    payload sizes the codec gives exactly: ceil(values * bits / 8) bytes (before any zstd)."""
    values = 1
    for d in BOTTLENECK_SHAPE:
        values *= d
    points = []
    for b in BITS:
        size = float((values * b + 7) // 8)
        points.append({"id": f"u{b}", "codec": "uniform", "bits": b, "min": [0.0], "max": [1.0],
                       "bytes": {"mean": size, "p99": size, "max": size,
                                 "over": f"exact: {values} values x {b} bits, before zstd"}})
    return points


def build_manifest(macs):
    """The manifest without `graphs` (write_manifest adds them from the exported files) and
    without provenance.commit / createdAt (also added there)."""
    points = rate_points()
    return {
        "schemaVersion": 2,
        "id": "resnet50-b12",
        "version": "0.2.0",
        "task": "classification",
        "labels": [f"class-{i}" for i in range(CLASSES)],
        "timingOnly": True,
        # The graphs normalise with ImageNet's mean/std themselves: the runtime feeds raw / 255.
        "input": {"shape": INPUT_SHAPE, "layout": "NCHW",
                  "normalization": {"scale": 1 / 255, "mean": [0.0], "std": [1.0]},
                  "raw": {"dtype": "uint8", "shape": INPUT_SHAPE, "layout": "CHW"}},
        "bottleneck": {"headOutput": "features", "tailInput": "features", "shape": BOTTLENECK_SHAPE,
                       "ratePoints": points, "defaultRatePoint": [p["bits"] for p in points].index(DEFAULT_BITS)},
        "exits": [],
        "outputs": [{"name": "logits", "kind": "class-logits"}],
        "macs": macs,
        "provenance": {"tool": "bottleneck/train/make_timing_bundle.py", "dataset": "none (random weights, timing only)",
                       "weights": "random", "seed": SEED,
                       "config": {"arch": "resnet50", "split": "layer2", "channels": CHANNELS, "bits": BITS}},
    }


def main():
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "models-timing", "resnet50-b12"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    torch.manual_seed(SEED)
    r = torchvision.models.resnet50(weights=None)
    head, tail, full = Head(r).eval(), Tail(r).eval(), Full(r).eval()
    x = torch.rand(1, *INPUT_SHAPE)
    with torch.no_grad():
        z = head(x)
    macs = {"head": count_macs(head, x), "tail": count_macs(tail, z), "full": count_macs(full, x)}
    with AtomicBundleDir(out) as tmp:
        export_onnx(head, x, os.path.join(tmp, "head.onnx"), ["input"], ["features"])
        export_onnx(tail, z, os.path.join(tmp, "tail.onnx"), ["features"], ["logits"])
        export_onnx(full, x, os.path.join(tmp, "full.onnx"), ["input"], ["logits"])
        manifest = build_manifest(macs)
        write_manifest(tmp, manifest)
    print(json.dumps({"out": out, "macs": macs, "ratePoints": [p["id"] for p in manifest["bottleneck"]["ratePoints"]],
                      "defaultRatePoint": manifest["bottleneck"]["defaultRatePoint"]}))


if __name__ == "__main__":
    main()
