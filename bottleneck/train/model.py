"""The teacher CNN (the full model the edge serves, and the source of the student's distillation
targets and tail stages; the student itself is in student.py)."""
import torch.nn as nn

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
