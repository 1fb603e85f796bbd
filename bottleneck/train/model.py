"""The teacher CNN and the split student (head + bottleneck + exits | tail), sc2-benchmark style:
encoder -> compressor (quantizer) -> decompressor -> decoder."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from data import Normalize


def conv_bn(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Teacher(nn.Module):
    """Three stages: 28x28 (w1) -> 14x14 (w2) -> 7x7 (w3, three convs) -> GAP -> FC."""

    def __init__(self, w1=32, w2=64, w3=128, dropout=0.3, classes=10):
        super().__init__()
        self.norm = Normalize()
        self.stage1 = nn.Sequential(conv_bn(1, w1), conv_bn(w1, w1), nn.MaxPool2d(2))
        self.stage2 = nn.Sequential(conv_bn(w1, w2), conv_bn(w2, w2), nn.MaxPool2d(2))
        self.stage3 = nn.Sequential(conv_bn(w2, w3), conv_bn(w3, w3), conv_bn(w3, w3))
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(w3, classes))

    def features1(self, x):
        return self.stage1(self.norm(x))

    def forward_from1(self, h):
        return self.classifier(self.stage3(self.stage2(h)))

    def forward(self, x):
        return self.forward_from1(self.features1(x))


def fake_quant(x, lo, hi, bits):
    """Simulated uniform quantization exactly as the TS codec does it: float32 scale and zero
    point, q = clamp(round(x / scale + zp)), x' = (q - zp) * scale."""
    levels = (1 << bits) - 1
    scale = torch.tensor((hi - lo) / levels, dtype=torch.float32)
    zp = torch.tensor(-lo, dtype=torch.float32) / scale
    q = torch.clamp(torch.floor(x * (1.0 / scale) + zp + 0.5), 0, levels)
    return (q - zp) * scale


def ste_quant(x, lo, hi, bits):
    """Quantization in the forward pass, identity gradient (straight-through estimator)."""
    return x + (fake_quant(x, lo, hi, bits) - x).detach()


class Student(nn.Module):
    """BottleFit-style split student built around a trained teacher.

    head:  normalize -> teacher.stage1 (frozen copy) -> shared conv (14x14 -> 7x7)
           -> encoder conv (7x7 -> size x size, `channels` maps) -> sigmoid = bottleneck z in [0, 1]
           -> exit: conv -> GAP -> linear (early-exit logits)
    tail:  decoder (size x size -> 14x14, teacher.stage1's output width) -> teacher.stage2/3/classifier
    """

    def __init__(self, teacher, channels, size=4, shared_width=32, exit_width=64, decoder_width=64):
        super().__init__()
        w1 = teacher.stage1[0][0].out_channels
        self.norm = Normalize()
        self.stage1 = teacher.stage1
        self.shared = conv_bn(w1, shared_width, stride=2)                       # 14 -> 7
        enc_stride = 2 if size == 4 else 1
        self.encoder = nn.Conv2d(shared_width, channels, 3, enc_stride, 1)      # 7 -> 4 (or 7)
        self.exit = nn.Sequential(conv_bn(shared_width, exit_width), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(exit_width, 10))
        up1 = (nn.ConvTranspose2d(channels, decoder_width, 3, 2, 1) if size == 4
               else nn.Conv2d(channels, decoder_width, 3, 1, 1))                # 4 -> 7
        self.decoder = nn.Sequential(up1, nn.BatchNorm2d(decoder_width), nn.ReLU(inplace=True),
                                     nn.ConvTranspose2d(decoder_width, w1, 4, 2, 1), nn.BatchNorm2d(w1),
                                     nn.ReLU(inplace=True))                     # 7 -> 14
        self.stage2, self.stage3, self.classifier = teacher.stage2, teacher.stage3, teacher.classifier
        self.channels, self.size = channels, size

    def head_from1(self, h1):
        s = self.shared(h1)
        return torch.sigmoid(self.encoder(s)), self.exit(s)

    def head(self, x):
        return self.head_from1(self.stage1(self.norm(x)))

    def tail(self, z):
        return self.classifier(self.stage3(self.stage2(self.decoder(z))))


class HeadGraph(nn.Module):
    """head.onnx: input -> (bottleneck features, exit logits)."""

    def __init__(self, student):
        super().__init__()
        self.s = student

    def forward(self, x):
        return self.s.head(x)


class TailGraph(nn.Module):
    """tail.onnx: dequantized bottleneck -> logits."""

    def __init__(self, student):
        super().__init__()
        self.s = student

    def forward(self, z):
        return self.s.tail(z)
