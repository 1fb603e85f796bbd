"""The entropic student (Matsubara et al., WACV 2022, written here from the paper): a cheap
encoder from the raw image to a 7x7 latent, a learned factorized prior for entropy coding, an
early exit on the encoder's features, and a tail that decodes the latent into the teacher's
stage-2 features and finishes with the teacher's stage 3 (fine-tuned). sc2-benchmark's naming:
encoder -> compressor (rounding + entropy coder) -> decompressor -> decoder.

    head (device):  x -> normalize -> encoder -> y (latent, float)       -> exit logits
    codec:          q = round(y / step), entropy-coded with the prior's tables
    tail (edge):    q * step -> decoder -> the teacher's remaining stages (copied, fine-tuned) -> logits

`split_at` picks where the decoder lands: "stage1" (a 14x14 latent, the decoder rebuilds the
teacher's stage-1 output and the tail runs stages 2 and 3) or "stage2" (a 7x7 latent, the tail
runs stage 3 only).
"""
import copy

import torch
import torch.nn as nn

from data import Normalize
from entropy import FactorizedPrior
from model import conv_bn


def ste_round(y):
    """Rounding in the forward pass, identity gradient."""
    return y + (torch.round(y) - y).detach()


class BinPool(nn.Module):
    """Adaptive average pooling to `out` x `out` bins, written with slices so that it exports to
    ONNX for any input size (torch's adaptive pooling exports only when the size divides). Same
    bins as torch: [floor(j*n/out), ceil((j+1)*n/out)). The ceiling is written with non-negative
    operands only ((k + out - 1) // out): traced with a symbolic n, `//` exports as ONNX Div, which
    truncates, so -(-k // out) gave floor, not ceil, in the ONNX graph (overlapping bins lost)."""

    def __init__(self, out):
        super().__init__()
        self.out = out

    def forward(self, x):
        n = x.shape[-1]
        o = self.out
        rows = []
        for a in range(o):
            r0, r1 = (a * n) // o, ((a + 1) * n + o - 1) // o
            cols = [x[:, :, r0:r1, (b * n) // o:((b + 1) * n + o - 1) // o].mean(dim=(2, 3)) for b in range(o)]
            rows.append(torch.stack(cols, -1))
        return torch.stack(rows, -2)


def sep_conv(cin, cout, stride=1):
    """Depthwise 3x3 then pointwise 1x1, each with batch norm and ReLU (MobileNet's block)."""
    return nn.Sequential(nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU(inplace=True),
                         nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def encoder_for(kind, split_at, widths):
    """The head's encoder from the raw image (normalised) to the split's resolution.

    plain:     conv s2, conv s2, conv (stage2: 28 -> 7) | conv s2, conv, separable (stage1: 28 -> 14)
    separable: conv s2, then separable blocks (MobileNet): twice the depth for the MACs of a plain
               conv at 7x7 (stage2: conv s2 -> sep -> sep s2 -> sep; widths w0..w3)
    """
    if kind == "plain":
        w0, w1, w2 = widths
        if split_at == "stage2":
            return nn.Sequential(conv_bn(1, w0, 2), conv_bn(w0, w1, 2), conv_bn(w1, w2)), w2  # 28 -> 7
        return nn.Sequential(conv_bn(1, w0, 2), conv_bn(w0, w1), sep_conv(w1, w2)), w2       # 28 -> 14
    if kind == "separable":
        w0, w1, w2, w3 = widths
        if split_at == "stage2":
            return nn.Sequential(conv_bn(1, w0, 2), sep_conv(w0, w1), sep_conv(w1, w2, 2), sep_conv(w2, w3)), w3
        return nn.Sequential(conv_bn(1, w0, 2), sep_conv(w0, w1), sep_conv(w1, w2), sep_conv(w2, w3)), w3
    raise ValueError(f"encoder must be plain or separable, got {kind!r}")


class EntropicStudent(nn.Module):
    def __init__(self, teacher, channels=24, encoder_widths=(24, 48, 48), exit_hidden=64, decoder_width=96, latent_gain=8.0,
                 split_at="stage2", encoder="plain", decoder_upsample=False, tail_shortcut=0):
        super().__init__()
        self.norm = Normalize()
        if split_at == "stage2":
            target = teacher.stage2[1][0].out_channels  # the decoder rebuilds the teacher's stage-2 output (7x7)
            rest = [copy.deepcopy(teacher.stage3)]
        elif split_at == "stage1":
            target = teacher.stage1[1][0].out_channels  # ... or its stage-1 output (14x14)
            rest = [copy.deepcopy(teacher.stage2), copy.deepcopy(teacher.stage3)]
        else:
            raise ValueError(f"split_at must be stage1 or stage2, got {split_at!r}")
        # decoder_upsample: the latent stays at 7x7 (the encoder as for stage2) and the decoder
        # upsamples it to the split's 14x14 (the Entropic Student's layout: the tail keeps the
        # teacher's stage 2 at full resolution, the wire carries a quarter of the positions).
        if decoder_upsample and split_at != "stage1":
            raise ValueError("decoder_upsample needs split_at: stage1")
        self.encoder, w2 = encoder_for(encoder, "stage2" if decoder_upsample else split_at, encoder_widths)
        self.latent = nn.Conv2d(w2, channels, 1)
        # The latent is rounded to integers: at the default init it would sit within +-0.5 and
        # carry nothing (measured: std 0.2, split accuracy at chance); a fixed gain starts it wide.
        self.latent_gain = latent_gain
        self.exit = nn.Sequential(BinPool(2), nn.Flatten(), nn.Linear(4 * w2, exit_hidden),
                                  nn.ReLU(inplace=True), nn.Linear(exit_hidden, teacher.classifier[-1].out_features))
        self.prior = FactorizedPrior(channels)
        first = (nn.ConvTranspose2d(channels, decoder_width, 4, 2, 1) if decoder_upsample  # 7 -> 14
                 else nn.Conv2d(channels, decoder_width, 3, 1, 1))
        self.decoder = nn.Sequential(
            first, nn.BatchNorm2d(decoder_width), nn.ReLU(inplace=True),
            nn.Conv2d(decoder_width, decoder_width, 3, 1, 1), nn.BatchNorm2d(decoder_width), nn.ReLU(inplace=True),
            nn.Conv2d(decoder_width, target, 1), nn.BatchNorm2d(target), nn.ReLU(inplace=True))
        self.rest = nn.Sequential(*rest)
        self.classifier = copy.deepcopy(teacher.classifier)
        # tail_shortcut > 0: a small classifier on the rounded latent itself (the exit's shape: 2x2
        # bins, one hidden layer), its logits added to the teacher path's. The tail then starts
        # from what a cheap classifier reads off the latent, and the deep path adds what it can.
        self.shortcut = None
        if tail_shortcut:
            n = teacher.classifier[-1].out_features
            self.shortcut = nn.Sequential(BinPool(2), nn.Flatten(), nn.BatchNorm1d(4 * channels), nn.Linear(4 * channels, tail_shortcut),
                                          nn.ReLU(inplace=True), nn.Linear(tail_shortcut, n))
        self.channels = channels
        self.split_at = split_at

    def head(self, x):
        """(latent y, exit logits) for images x in [0, 1]."""
        h = self.encoder(self.norm(x))
        return self.latent(h) * self.latent_gain, self.exit(h)

    def decode(self, yhat):
        """The teacher's features at the split rebuilt from the rounded latent."""
        return self.decoder(yhat)

    def finish(self, decoded, yhat):
        """Logits from decoded features: the teacher's remaining stages and classifier (plus the
        shortcut's logits from the rounded latent `yhat`, when there is one)."""
        logits = self.classifier(self.rest(decoded))
        return logits if self.shortcut is None else logits + self.shortcut(yhat)

    def tail(self, yhat):
        return self.finish(self.decoder(yhat), yhat)


class HeadGraph(nn.Module):
    """head.onnx: input [N,1,28,28] in [0,1] -> (latent [N,C,7,7] float, exit0 logits)."""

    def __init__(self, s):
        super().__init__()
        self.s = s

    def forward(self, x):
        return self.s.head(x)


class TailGraph(nn.Module):
    """tail.onnx: the dequantized latent (q * step) -> logits."""

    def __init__(self, s):
        super().__init__()
        self.s = s

    def forward(self, yhat):
        return self.s.tail(yhat)
