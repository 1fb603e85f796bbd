"""A timing-only bundle with ImageNet shapes, for realistic compute and byte figures (no accuracy
claims): torchvision ResNet-50 with random weights, 3x224x224 input, split after layer2 with a
12-channel bottleneck (BottleFit's setting: 12x28x28), marked timingOnly in its manifest.
Written to a git-ignored folder (the graphs are ~100 MB): models-timing/resnet50-b12/.

Usage: /usr/bin/python3 bottleneck/train/make_timing_bundle.py [OUT_DIR]
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bundle import count_macs, export_onnx, write_manifest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = 0
CHANNELS = 12
BITS = [2, 4, 8]
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


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "models-timing", "resnet50-b12")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(SEED)
    r = torchvision.models.resnet50()
    head, tail, full = Head(r).eval(), Tail(r).eval(), Full(r).eval()
    x = torch.rand(1, 3, 224, 224)
    with torch.no_grad():
        z = head(x)
    export_onnx(head, x, os.path.join(out, "head.onnx"), ["input"], ["features"])
    export_onnx(tail, z, os.path.join(out, "tail.onnx"), ["features"], ["logits"])
    export_onnx(full, x, os.path.join(out, "full.onnx"), ["input"], ["logits"])
    values = CHANNELS * 28 * 28
    manifest = {
        "schemaVersion": 1,
        "id": "resnet50-b12",
        "version": "0.1.0",
        "task": "classification",
        "labels": [f"class-{i}" for i in range(1000)],
        "timingOnly": True,
        # The graphs normalise with ImageNet's mean/std themselves: the runtime feeds raw / 255.
        "input": {"shape": [3, 224, 224], "layout": "NCHW",
                  "normalization": {"scale": 1 / 255, "mean": [0.0], "std": [1.0]},
                  "raw": {"dtype": "uint8", "shape": [3, 224, 224]}},
        "bottleneck": {"headOutput": "features", "tailInput": "features", "shape": [CHANNELS, 28, 28],
                       "range": {"min": 0.0, "max": 1.0}, "bits": BITS,
                       "payloadBytes": {str(b): (values * b + 7) // 8 for b in BITS}},
        "exits": [],
        "macs": {"head": count_macs(head, x), "tail": count_macs(tail, z), "full": count_macs(full, x)},
        "provenance": {"tool": "bottleneck/train/make_timing_bundle.py", "dataset": "none (random weights, timing only)",
                       "seed": SEED, "config": {"arch": "resnet50", "split": "layer2", "channels": CHANNELS}},
    }
    write_manifest(out, manifest)
    print(json.dumps({"out": out, "macs": manifest["macs"]}))


if __name__ == "__main__":
    main()
