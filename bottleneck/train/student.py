"""The entropic student (Matsubara et al., WACV 2022, written here from the paper): a cheap
encoder from the raw image to a 7x7 latent, a learned factorized prior for entropy coding, an
early exit on the encoder's features, and a tail that decodes the latent into the teacher's
stage-2 features and finishes with the teacher's stage 3 (fine-tuned). sc2-benchmark's naming:
encoder -> compressor (rounding + entropy coder) -> decompressor -> decoder.

    head (device):  x -> normalize -> encoder -> y (latent, float)       -> exit logits
    codec:          q = round(y / step), entropy-coded with the prior's tables
    tail (edge):    q * step -> decoder -> teacher.stage3 -> classifier -> logits
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


class EntropicStudent(nn.Module):
    def __init__(self, teacher, channels=24, encoder_widths=(24, 48, 48), exit_hidden=64, decoder_width=96, latent_gain=8.0):
        super().__init__()
        w0, w1, w2 = encoder_widths
        t2 = teacher.stage2[1][0].out_channels  # the teacher's stage-2 width (the decoder's target)
        self.norm = Normalize()
        self.encoder = nn.Sequential(conv_bn(1, w0, 2), conv_bn(w0, w1, 2), conv_bn(w1, w2))  # 28 -> 7
        self.latent = nn.Conv2d(w2, channels, 1)
        # The latent is rounded to integers: at the default init it would sit within +-0.5 and
        # carry nothing (measured: std 0.2, split accuracy at chance); a fixed gain starts it wide.
        self.latent_gain = latent_gain
        self.exit = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(4 * w2, exit_hidden),
                                  nn.ReLU(inplace=True), nn.Linear(exit_hidden, teacher.classifier[-1].out_features))
        self.prior = FactorizedPrior(channels)
        self.decoder = nn.Sequential(
            nn.Conv2d(channels, decoder_width, 3, 1, 1), nn.BatchNorm2d(decoder_width), nn.ReLU(inplace=True),
            nn.Conv2d(decoder_width, decoder_width, 3, 1, 1), nn.BatchNorm2d(decoder_width), nn.ReLU(inplace=True),
            nn.Conv2d(decoder_width, t2, 1), nn.BatchNorm2d(t2), nn.ReLU(inplace=True))
        self.stage3 = copy.deepcopy(teacher.stage3)
        self.classifier = copy.deepcopy(teacher.classifier)
        self.channels = channels

    def head(self, x):
        """(latent y, exit logits) for images x in [0, 1]."""
        h = self.encoder(self.norm(x))
        return self.latent(h) * self.latent_gain, self.exit(h)

    def decode(self, yhat):
        """The teacher's stage-2 features rebuilt from the rounded latent."""
        return self.decoder(yhat)

    def tail(self, yhat):
        return self.classifier(self.stage3(self.decoder(yhat)))


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
